#define _GNU_SOURCE
#include "ccurl.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

CURLcode ccurl_setopt_long(CURL *h, CURLoption opt, long value) { return curl_easy_setopt(h, opt, value); }
CURLcode ccurl_setopt_str(CURL *h, CURLoption opt, const char *value) { return curl_easy_setopt(h, opt, value); }
CURLcode ccurl_setopt_ptr(CURL *h, CURLoption opt, void *value) { return curl_easy_setopt(h, opt, value); }
CURLcode ccurl_setopt_off(CURL *h, CURLoption opt, curl_off_t value) { return curl_easy_setopt(h, opt, value); }
CURLcode ccurl_setopt_write(CURL *h, CURLoption opt, ccurl_write_cb cb) { return curl_easy_setopt(h, opt, cb); }
CURLcode ccurl_getinfo_long(CURL *h, CURLINFO info, long *out) { return curl_easy_getinfo(h, info, out); }
CURLcode ccurl_getinfo_off(CURL *h, CURLINFO info, curl_off_t *out) { return curl_easy_getinfo(h, info, out); }
CURLcode ccurl_getinfo_str(CURL *h, CURLINFO info, char **out) { return curl_easy_getinfo(h, info, out); }
CURLMcode ccurl_multi_setopt_long(CURLM *m, CURLMoption opt, long value) { return curl_multi_setopt(m, opt, value); }

int ccurl_multi_next_done(CURLM *m, CURL **easy, CURLcode *result) {
    int left = 0;
    CURLMsg *msg;
    while ((msg = curl_multi_info_read(m, &left))) {
        if (msg->msg != CURLMSG_DONE) continue;
        *easy = msg->easy_handle;
        *result = msg->data.result;
        return 1;
    }
    return 0;
}

struct ccurl_share {
    CURLSH *handle;
    pthread_mutex_t locks[CURL_LOCK_DATA_LAST];
};

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *userptr) {
    (void)h; (void)access;
    pthread_mutex_lock(&((struct ccurl_share *)userptr)->locks[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *userptr) {
    (void)h;
    pthread_mutex_unlock(&((struct ccurl_share *)userptr)->locks[data]);
}

ccurl_share *ccurl_share_new(void) {
    struct ccurl_share *share = calloc(1, sizeof *share);
    if (!share) return NULL;
    share->handle = curl_share_init();
    if (!share->handle) { free(share); return NULL; }
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++) pthread_mutex_init(&share->locks[i], NULL);
    curl_share_setopt(share->handle, CURLSHOPT_LOCKFUNC, share_lock);
    curl_share_setopt(share->handle, CURLSHOPT_UNLOCKFUNC, share_unlock);
    curl_share_setopt(share->handle, CURLSHOPT_USERDATA, share);
    curl_share_setopt(share->handle, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(share->handle, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    return share;
}

CURLSH *ccurl_share_handle(ccurl_share *share) { return share->handle; }

void ccurl_share_free(ccurl_share *share) {
    if (!share) return;
    curl_share_cleanup(share->handle);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++) pthread_mutex_destroy(&share->locks[i]);
    free(share);
}

void ccurl_name_this_thread(const char *name) { pthread_setname_np(pthread_self(), name); }

/* CURLOPT_PREREQFUNCTION: runs once the connection is up and before the request leaves. Over plain
   http only a loopback peer may receive the request (it carries credentials): a name that resolved
   elsewhere is refused here, after DNS and before any byte of the request is sent. */
static int loopback_only(void *clientp, char *conn_primary_ip, char *conn_local_ip, int conn_primary_port, int conn_local_port) {
    (void)clientp; (void)conn_local_ip; (void)conn_primary_port; (void)conn_local_port;
    return ccurl_is_loopback(conn_primary_ip) ? CURL_PREREQFUNC_OK : CURL_PREREQFUNC_ABORT;
}

int ccurl_is_loopback(const char *ip) {
    unsigned char bytes[16];
    if (ip == NULL) return 0;
    if (inet_pton(AF_INET, ip, bytes) == 1) return bytes[0] == 127;
    if (inet_pton(AF_INET6, ip, bytes) != 1) return 0;
    static const unsigned char v6_loopback[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    static const unsigned char v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return memcmp(bytes, v6_loopback, 16) == 0 || (memcmp(bytes, v4_mapped, 12) == 0 && bytes[12] == 127);
}

CURLcode ccurl_require_loopback_peer(CURL *h, int on) {
    return curl_easy_setopt(h, CURLOPT_PREREQFUNCTION, on ? loopback_only : NULL);
}
