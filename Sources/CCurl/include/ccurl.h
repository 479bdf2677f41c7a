#ifndef PASSAUTH_CCURL_H
#define PASSAUTH_CCURL_H
/* Typed wrappers around libcurl's variadic option setters, which Swift cannot call directly. */
#include <curl/curl.h>

typedef size_t (*ccurl_write_cb)(char *ptr, size_t size, size_t nmemb, void *userdata);
typedef int (*ccurl_sockopt_cb)(void *clientp, curl_socket_t fd, curlsocktype purpose);

CURLcode ccurl_setopt_long(CURL *h, CURLoption opt, long value);
CURLcode ccurl_setopt_str(CURL *h, CURLoption opt, const char *value);
CURLcode ccurl_setopt_ptr(CURL *h, CURLoption opt, void *value);
CURLcode ccurl_setopt_off(CURL *h, CURLoption opt, curl_off_t value);
CURLcode ccurl_setopt_write(CURL *h, CURLoption opt, ccurl_write_cb cb);
CURLcode ccurl_setopt_sockopt(CURL *h, ccurl_sockopt_cb cb);
CURLcode ccurl_getinfo_long(CURL *h, CURLINFO info, long *out);
CURLcode ccurl_getinfo_double(CURL *h, CURLINFO info, double *out);
CURLcode ccurl_getinfo_off(CURL *h, CURLINFO info, curl_off_t *out);
CURLcode ccurl_getinfo_str(CURL *h, CURLINFO info, char **out);
CURLMcode ccurl_multi_setopt_long(CURLM *m, CURLMoption opt, long value);
#endif

/* A share handle with DNS cache, TLS sessions and the connection pool shared between easy handles,
   guarded by internal mutexes so easy handles may run on different threads at once. */
typedef struct ccurl_share ccurl_share;
ccurl_share *ccurl_share_new(void);
CURLSH *ccurl_share_handle(ccurl_share *share);
void ccurl_share_free(ccurl_share *share);

/* The progress callback aborts a transfer when *cancel_flag becomes non-zero (see Transport). */
CURLcode ccurl_set_cancel_flag(CURL *h, const volatile int *cancel_flag);
