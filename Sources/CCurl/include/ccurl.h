#ifndef PASSAUTH_CCURL_H
#define PASSAUTH_CCURL_H
/* Typed wrappers around libcurl's variadic option setters and its union-carrying multi messages,
   which Swift cannot call or read directly. */
#include <curl/curl.h>

typedef size_t (*ccurl_write_cb)(char *ptr, size_t size, size_t nmemb, void *userdata);

CURLcode ccurl_setopt_long(CURL *h, CURLoption opt, long value);
CURLcode ccurl_setopt_str(CURL *h, CURLoption opt, const char *value);
CURLcode ccurl_setopt_ptr(CURL *h, CURLoption opt, void *value);
CURLcode ccurl_setopt_off(CURL *h, CURLoption opt, curl_off_t value);
CURLcode ccurl_setopt_write(CURL *h, CURLoption opt, ccurl_write_cb cb);
CURLcode ccurl_getinfo_long(CURL *h, CURLINFO info, long *out);
CURLcode ccurl_getinfo_off(CURL *h, CURLINFO info, curl_off_t *out);
CURLcode ccurl_getinfo_str(CURL *h, CURLINFO info, char **out);
CURLMcode ccurl_multi_setopt_long(CURLM *m, CURLMoption opt, long value);

/* The next finished transfer of a multi handle: returns 1 with *easy and *result set, 0 when none is
   left. */
int ccurl_multi_next_done(CURLM *m, CURL **easy, CURLcode *result);

/* A share handle with the DNS cache and TLS sessions shared between easy handles, guarded by internal
   mutexes so easy handles may run on different threads at once. Not the connection cache: libcurl does
   not support sharing connections between concurrent threads (KNOWN_BUGS, curl issue #4915; helgrind
   showed the race), so each pooled handle keeps its own. */
typedef struct ccurl_share ccurl_share;
ccurl_share *ccurl_share_new(void);
CURLSH *ccurl_share_handle(ccurl_share *share);
void ccurl_share_free(ccurl_share *share);

/* Refuses (CURLE_ABORTED_BY_CALLBACK) a transfer whose connected peer is not a loopback address,
   before the request is sent (on = 0 turns the check off). */
CURLcode ccurl_require_loopback_peer(CURL *h, int on);
int ccurl_is_loopback(const char *ip);

/* Names the calling thread (at most 15 bytes: a longer name is refused), so the library's threads show as passauth-* in ps, top
   and debuggers. Not curl's: the one other GNU extension the core needs. */
void ccurl_name_this_thread(const char *name);
#endif
