/* The Redis store's wire layer: hiredis loaded with dlopen for the protocol, our own bounded socket
 * I/O (plain TCP or TLS) underneath. See include/chiredis.h. */
#define _GNU_SOURCE
#include "chiredis.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ---- hiredis, resolved at first use ------------------------------------------------------------- */

#define CHIREDIS_LIBRARY_FILE "libhiredis.so.0.14"

static struct {
    int (*format_argv)(char **target, int argc, const char **argv, const size_t *argvlen);
    void (*free_command)(char *cmd);
    redisReader *(*reader_create)(void);
    void (*reader_free)(redisReader *reader);
    int (*reader_feed)(redisReader *reader, const char *buf, size_t len);
    int (*reader_get_reply)(redisReader *reader, void **reply);
    void (*free_reply)(void *reply);
} hiredis;

static pthread_once_t hiredis_once = PTHREAD_ONCE_INIT;
static char hiredis_error[512];
static int hiredis_loaded;

static void format_error(char *err, size_t errlen, const char *format, ...) {
    if (!err || errlen == 0) return;
    va_list args;
    va_start(args, format);
    vsnprintf(err, errlen, format, args);
    va_end(args);
}

static void load_hiredis(void) {
    /* PASSAUTH_HIREDIS_LIBRARY names another file (tests use it to play a machine without hiredis). */
    const char *name = getenv("PASSAUTH_HIREDIS_LIBRARY");
    if (!name || !*name) name = CHIREDIS_LIBRARY_FILE;
    void *handle = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        const char *why = dlerror();
        snprintf(hiredis_error, sizeof hiredis_error,
                 "the Redis store needs hiredis 0.14, which could not be loaded (%s): install the package "
                 "libhiredis0.14 (Debian/Ubuntu: apt-get install libhiredis0.14)", why ? why : name);
        return;
    }
#define RESOLVE(field, symbol)                                                                               \
    do {                                                                                                     \
        *(void **)(&hiredis.field) = dlsym(handle, symbol);                                                  \
        if (!hiredis.field) {                                                                                \
            snprintf(hiredis_error, sizeof hiredis_error,                                                    \
                     "%s has no %s: the Redis store needs hiredis 0.14 (the package libhiredis0.14)", name, symbol); \
            return;                                                                                          \
        }                                                                                                    \
    } while (0)
    RESOLVE(format_argv, "redisFormatCommandArgv");
    RESOLVE(free_command, "redisFreeCommand");
    RESOLVE(reader_create, "redisReaderCreate");
    RESOLVE(reader_free, "redisReaderFree");
    RESOLVE(reader_feed, "redisReaderFeed");
    RESOLVE(reader_get_reply, "redisReaderGetReply");
    RESOLVE(free_reply, "freeReplyObject");
#undef RESOLVE
    hiredis_loaded = 1;  /* the handle stays open for the life of the process */
}

int chiredis_load(char *err, size_t errlen) {
    pthread_once(&hiredis_once, load_hiredis);
    if (hiredis_loaded) return 0;
    format_error(err, errlen, "%s", hiredis_error);
    return -1;
}

/* ---- time and waiting --------------------------------------------------------------------------- */

static long long monotonic_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

enum { WAIT_READY = 0, WAIT_TIMEOUT = 1, WAIT_WOKEN = 2, WAIT_ERROR = -1 };

/* Waits for `events` on fd until the monotonic deadline, or for wake_fd (>= 0) to become readable. */
static int wait_fd(int fd, short events, long long deadline, int wake_fd) {
    for (;;) {
        long long left = deadline - monotonic_ms();
        if (left <= 0) return WAIT_TIMEOUT;
        struct pollfd fds[2] = {{.fd = fd, .events = events}, {.fd = wake_fd, .events = POLLIN}};
        int n = poll(fds, wake_fd >= 0 ? 2 : 1, left > 60000 ? 60000 : (int)left);
        if (n < 0) {
            if (errno == EINTR) continue;
            return WAIT_ERROR;
        }
        if (n == 0) continue;
        if (wake_fd >= 0 && (fds[1].revents & POLLIN)) return WAIT_WOKEN;
        if (fds[0].revents) return WAIT_READY;  /* readiness, or POLLERR/POLLHUP: the I/O call tells */
    }
}

/* ---- name resolution, bounded ------------------------------------------------------------------- */

/* getaddrinfo has no timeout: a host name is resolved on a short-lived thread of ours while the caller
 * waits at most until its deadline; a caller that gives up leaves the thread to finish and free what it
 * found. (Not getaddrinfo_a: glibc starts its helper threads without pthread_create's interposition,
 * which ThreadSanitizer cannot follow.) A literal address needs no lookup and no thread. */
typedef struct lookup {
    pthread_mutex_t lock;
    pthread_cond_t done_cond;
    int references;      /* the caller's and the thread's */
    int done, code;
    struct addrinfo *result;
    char service[16];
    char name[];
} lookup;

static void release_lookup(lookup *l) {
    pthread_mutex_lock(&l->lock);
    int left = --l->references;
    pthread_mutex_unlock(&l->lock);
    if (left > 0) return;
    if (l->result) freeaddrinfo(l->result);
    pthread_mutex_destroy(&l->lock);
    pthread_cond_destroy(&l->done_cond);
    free(l);
}

static void *lookup_thread(void *arg) {
    lookup *l = arg;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_ADDRCONFIG | AI_NUMERICSERV};
    struct addrinfo *result = NULL;
    int code = getaddrinfo(l->name, l->service, &hints, &result);
    pthread_mutex_lock(&l->lock);
    l->code = code;
    l->result = code == 0 ? result : NULL;
    l->done = 1;
    pthread_cond_signal(&l->done_cond);
    pthread_mutex_unlock(&l->lock);
    release_lookup(l);
    return NULL;
}

static struct addrinfo *resolve(const char *host, int port, long long deadline, char *err, size_t errlen) {
    char service[16];
    snprintf(service, sizeof service, "%d", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV};
    struct addrinfo *result = NULL;
    if (getaddrinfo(host, service, &hints, &result) == 0) return result;  /* a literal address: no lookup */
    size_t length = strlen(host);
    lookup *l = calloc(1, sizeof *l + length + 1);
    if (!l) {
        format_error(err, errlen, "out of memory resolving %s", host);
        return NULL;
    }
    memcpy(l->name, host, length + 1);
    memcpy(l->service, service, sizeof service);
    pthread_mutex_init(&l->lock, NULL);
    pthread_condattr_t attributes;
    pthread_condattr_init(&attributes);
    pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC);
    pthread_cond_init(&l->done_cond, &attributes);
    pthread_condattr_destroy(&attributes);
    l->references = 2;
    pthread_t thread;
    if (pthread_create(&thread, NULL, lookup_thread, l) != 0) {
        format_error(err, errlen, "cannot start a thread to resolve %s", host);
        l->references = 1;
        release_lookup(l);
        return NULL;
    }
    pthread_detach(thread);
    struct timespec until = {.tv_sec = deadline / 1000, .tv_nsec = (deadline % 1000) * 1000000};
    pthread_mutex_lock(&l->lock);
    while (!l->done) {
        if (pthread_cond_timedwait(&l->done_cond, &l->lock, &until) == ETIMEDOUT) break;
    }
    int done = l->done, code = l->code;
    if (done && code == 0) {
        result = l->result;
        l->result = NULL;
    }
    pthread_mutex_unlock(&l->lock);
    release_lookup(l);
    if (!done) {
        format_error(err, errlen, "timed out resolving %s", host);
        return NULL;
    }
    if (code != 0) {
        format_error(err, errlen, "cannot resolve %s: %s", host, gai_strerror(code));
        return NULL;
    }
    return result;
}

/* ---- connections -------------------------------------------------------------------------------- */

struct chiredis_conn {
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
    redisReader *reader;
    char *out;
    size_t out_length, out_capacity;
    char where[300];   /* "host:port", for messages */
};

static void describe_ssl_error(char *err, size_t errlen, const char *what, const chiredis_conn *conn) {
    unsigned long code = ERR_get_error();
    char reason[256] = "";
    if (code) ERR_error_string_n(code, reason, sizeof reason);
    ERR_clear_error();
    format_error(err, errlen, "%s with %s failed%s%s", what, conn->where, code ? ": " : "", reason);
}

static int connect_address(const struct addrinfo *ai, long long deadline, char *err, size_t errlen, const char *where) {
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
        format_error(err, errlen, "cannot create a socket for %s: %s", where, strerror(errno));
        return -1;
    }
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        if (errno != EINPROGRESS) {
            format_error(err, errlen, "cannot connect to %s: %s", where, strerror(errno));
            close(fd);
            return -1;
        }
        int waited = wait_fd(fd, POLLOUT, deadline, -1);
        if (waited != WAIT_READY) {
            format_error(err, errlen, waited == WAIT_TIMEOUT ? "timed out connecting to %s" : "cannot connect to %s", where);
            close(fd);
            return -1;
        }
        int error = 0;
        socklen_t length = sizeof error;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0) error = errno;
        if (error != 0) {
            format_error(err, errlen, "cannot connect to %s: %s", where, strerror(error));
            close(fd);
            return -1;
        }
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    return fd;
}

static int is_ip_literal(const char *host) {
    unsigned char buffer[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, host, buffer) == 1 || inet_pton(AF_INET6, host, buffer) == 1;
}

static int tls_handshake(chiredis_conn *conn, const char *host, const char *ca_file, long long deadline,
                         char *err, size_t errlen) {
    ERR_clear_error();
    conn->ctx = SSL_CTX_new(TLS_client_method());
    if (!conn->ctx) {
        describe_ssl_error(err, errlen, "setting up TLS", conn);
        return -1;
    }
    SSL_CTX_set_min_proto_version(conn->ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(conn->ctx, SSL_VERIFY_PEER, NULL);
    int loaded = ca_file ? SSL_CTX_load_verify_locations(conn->ctx, ca_file, NULL) : SSL_CTX_set_default_verify_paths(conn->ctx);
    if (loaded != 1) {
        if (ca_file) {
            format_error(err, errlen, "cannot load the CA file %s for %s", ca_file, conn->where);
            ERR_clear_error();
        } else {
            describe_ssl_error(err, errlen, "loading the system's trusted CAs for", conn);
        }
        return -1;
    }
    conn->ssl = SSL_new(conn->ctx);
    if (!conn->ssl || SSL_set_fd(conn->ssl, conn->fd) != 1) {
        describe_ssl_error(err, errlen, "setting up TLS", conn);
        return -1;
    }
    SSL_set_mode(conn->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (is_ip_literal(host)) {
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(conn->ssl), host);
    } else {
        SSL_set_tlsext_host_name(conn->ssl, host);
        SSL_set1_host(conn->ssl, host);
    }
    for (;;) {
        ERR_clear_error();
        int result = SSL_connect(conn->ssl);
        if (result == 1) return 0;
        int error = SSL_get_error(conn->ssl, result);
        short events = error == SSL_ERROR_WANT_READ ? POLLIN : error == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
        if (!events) {
            long verify = SSL_get_verify_result(conn->ssl);
            if (verify != X509_V_OK) {
                format_error(err, errlen, "TLS with %s failed: the server certificate was not accepted (%s)", conn->where,
                             X509_verify_cert_error_string(verify));
                ERR_clear_error();
            } else if (error == SSL_ERROR_SYSCALL || error == SSL_ERROR_ZERO_RETURN) {
                format_error(err, errlen, "TLS with %s failed: the connection was closed during the handshake "
                             "(is the server speaking TLS on this port?)", conn->where);
                ERR_clear_error();
            } else {
                describe_ssl_error(err, errlen, "the TLS handshake", conn);
            }
            return -1;
        }
        int waited = wait_fd(conn->fd, events, deadline, -1);
        if (waited != WAIT_READY) {
            format_error(err, errlen, "timed out in the TLS handshake with %s", conn->where);
            return -1;
        }
    }
}

chiredis_conn *chiredis_connect(const char *host, int port, int tls, const char *ca_file, int timeout_ms,
                                            char *err, size_t errlen) {
    if (chiredis_load(err, errlen) != 0) return NULL;
    long long deadline = monotonic_ms() + (timeout_ms > 0 ? timeout_ms : 1);
    chiredis_conn *conn = calloc(1, sizeof *conn);
    if (!conn) {
        format_error(err, errlen, "out of memory");
        return NULL;
    }
    conn->fd = -1;
    snprintf(conn->where, sizeof conn->where, strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, port);
    struct addrinfo *addresses = resolve(host, port, deadline, err, errlen);
    if (!addresses) {
        free(conn);
        return NULL;
    }
    for (struct addrinfo *ai = addresses; ai && conn->fd < 0; ai = ai->ai_next) {
        conn->fd = connect_address(ai, deadline, err, errlen, conn->where);
    }
    freeaddrinfo(addresses);
    if (conn->fd < 0) {
        free(conn);
        return NULL;
    }
    if (tls && tls_handshake(conn, host, ca_file, deadline, err, errlen) != 0) {
        chiredis_close(conn);
        return NULL;
    }
    conn->reader = hiredis.reader_create();
    if (!conn->reader) {
        format_error(err, errlen, "out of memory");
        chiredis_close(conn);
        return NULL;
    }
    return conn;
}

void chiredis_close(chiredis_conn *conn) {
    if (!conn) return;
    if (conn->ssl) SSL_free(conn->ssl);   /* no close_notify: the socket may be dead; the peer copes */
    if (conn->ctx) SSL_CTX_free(conn->ctx);
    if (conn->fd >= 0) close(conn->fd);
    if (conn->reader) hiredis.reader_free(conn->reader);
    free(conn->out);
    free(conn);
    ERR_clear_error();
}

int chiredis_append(chiredis_conn *conn, int argc, const char **argv, const size_t *argvlen,
                          char *err, size_t errlen) {
    char *command = NULL;
    int length = hiredis.format_argv(&command, argc, argv, argvlen);
    if (length < 0 || !command) {
        format_error(err, errlen, "out of memory formatting a command");
        return -1;
    }
    if (conn->out_length + (size_t)length > conn->out_capacity) {
        size_t capacity = conn->out_capacity ? conn->out_capacity : 4096;
        while (capacity < conn->out_length + (size_t)length) capacity *= 2;
        char *grown = realloc(conn->out, capacity);
        if (!grown) {
            hiredis.free_command(command);
            format_error(err, errlen, "out of memory formatting a command");
            return -1;
        }
        conn->out = grown;
        conn->out_capacity = capacity;
    }
    memcpy(conn->out + conn->out_length, command, (size_t)length);
    conn->out_length += (size_t)length;
    hiredis.free_command(command);
    return 0;
}

/* SSL_write may raise SIGPIPE on a socket the peer closed (OpenSSL writes with write(2)): it is held
 * blocked on this thread for the call and any SIGPIPE it raised is consumed. */
static int ssl_write_quietly(SSL *ssl, const char *data, int length) {
    sigset_t pipe_set, old, pending;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    sigpending(&pending);
    int was_pending = sigismember(&pending, SIGPIPE);
    int result = SSL_write(ssl, data, length);
    if (!was_pending) {
        sigpending(&pending);
        if (sigismember(&pending, SIGPIPE)) {
            struct timespec zero = {0, 0};
            while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR) {}
        }
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return result;
}

int chiredis_flush(chiredis_conn *conn, int timeout_ms, char *err, size_t errlen) {
    long long deadline = monotonic_ms() + (timeout_ms > 0 ? timeout_ms : 1);
    size_t sent = 0;
    while (sent < conn->out_length) {
        size_t left = conn->out_length - sent;
        short wait_for = POLLOUT;
        if (conn->ssl) {
            ERR_clear_error();
            int n = ssl_write_quietly(conn->ssl, conn->out + sent, left > 1 << 30 ? 1 << 30 : (int)left);
            if (n > 0) {
                sent += (size_t)n;
                continue;
            }
            int error = SSL_get_error(conn->ssl, n);
            if (error == SSL_ERROR_WANT_READ) wait_for = POLLIN;
            else if (error != SSL_ERROR_WANT_WRITE) {
                format_error(err, errlen, "writing to %s failed: the connection was lost", conn->where);
                ERR_clear_error();
                return -1;
            }
        } else {
            ssize_t n = send(conn->fd, conn->out + sent, left, MSG_NOSIGNAL);
            if (n > 0) {
                sent += (size_t)n;
                continue;
            }
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
                format_error(err, errlen, "writing to %s failed: %s", conn->where, strerror(errno));
                return -1;
            }
        }
        if (wait_fd(conn->fd, wait_for, deadline, -1) == WAIT_TIMEOUT) {
            format_error(err, errlen, "timed out writing to %s", conn->where);
            return -1;
        }
    }
    conn->out_length = 0;
    if (conn->out_capacity > 1 << 20) {  /* a big pipeline's buffer is not kept */
        free(conn->out);
        conn->out = NULL;
        conn->out_capacity = 0;
    }
    return 0;
}

int chiredis_read(chiredis_conn *conn, int timeout_ms, int wake_fd, redisReply **out,
                        char *err, size_t errlen) {
    long long deadline = monotonic_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    char buffer[16384];
    for (;;) {
        void *reply = NULL;
        if (hiredis.reader_get_reply(conn->reader, &reply) != REDIS_OK) {
            format_error(err, errlen, "protocol error from %s: %s", conn->where, conn->reader->errstr);
            return -1;
        }
        if (reply) {
            *out = reply;
            return 0;
        }
        short wait_for = POLLIN;
        if (conn->ssl) {
            ERR_clear_error();
            int n = SSL_read(conn->ssl, buffer, sizeof buffer);
            if (n > 0) {
                if (hiredis.reader_feed(conn->reader, buffer, (size_t)n) != REDIS_OK) {
                    format_error(err, errlen, "protocol error from %s: %s", conn->where, conn->reader->errstr);
                    return -1;
                }
                continue;
            }
            int error = SSL_get_error(conn->ssl, n);
            if (error == SSL_ERROR_WANT_WRITE) wait_for = POLLOUT;
            else if (error != SSL_ERROR_WANT_READ) {
                format_error(err, errlen, "%s closed the connection", conn->where);
                ERR_clear_error();
                return -1;
            }
        } else {
            ssize_t n = recv(conn->fd, buffer, sizeof buffer, 0);
            if (n > 0) {
                if (hiredis.reader_feed(conn->reader, buffer, (size_t)n) != REDIS_OK) {
                    format_error(err, errlen, "protocol error from %s: %s", conn->where, conn->reader->errstr);
                    return -1;
                }
                continue;
            }
            if (n == 0) {
                format_error(err, errlen, "%s closed the connection", conn->where);
                return -1;
            }
            if (errno == EINTR) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                format_error(err, errlen, "reading from %s failed: %s", conn->where, strerror(errno));
                return -1;
            }
        }
        int waited = wait_fd(conn->fd, wait_for, deadline, wake_fd);
        if (waited == WAIT_TIMEOUT) {
            format_error(err, errlen, "timed out waiting for %s", conn->where);
            return 1;
        }
        if (waited == WAIT_WOKEN) return 2;
        if (waited == WAIT_ERROR) {
            format_error(err, errlen, "waiting for %s failed: %s", conn->where, strerror(errno));
            return -1;
        }
    }
}

int chiredis_is_stale(chiredis_conn *conn) {
    if (conn->ssl && SSL_pending(conn->ssl) > 0) return 1;
    struct pollfd fd = {.fd = conn->fd, .events = POLLIN};
    return poll(&fd, 1, 0) != 0;
}

void chiredis_free_reply(redisReply *reply) {
    if (reply) hiredis.free_reply(reply);
}

void chiredis_sha1_hex(const unsigned char *data, size_t length, char out[41]) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    EVP_Digest(data, length, digest, &size, EVP_sha1(), NULL);
    for (unsigned int i = 0; i < 20 && i < size; i++) snprintf(out + 2 * i, 3, "%02x", digest[i]);
    out[40] = '\0';
}
