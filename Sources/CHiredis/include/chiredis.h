#ifndef PASSAUTH_CHIREDIS_H
#define PASSAUTH_CHIREDIS_H
/* The Redis store's wire layer (Sources/PassAuthCore/Redis/).
 *
 * hiredis (libhiredis.so.0.14, Debian's libhiredis0.14) does the protocol only: commands are written
 * with redisFormatCommandArgv and replies parsed with redisReaderCreate / redisReaderFeed /
 * redisReaderGetReply. It is loaded with dlopen at the first Redis connection, so a program that never
 * uses a Redis store does not need it installed: libpassauth.so links nothing of it (its header is used
 * at build time for the types only).
 *
 * The socket I/O is ours, one code path for redis:// (plain TCP) and rediss:// (TLS through OpenSSL's
 * libssl, which libcurl already brings in: the server certificate is verified against the config's
 * caFile or the system store, and its name against the host), so that every wait (name resolution,
 * connect, TLS handshake, write, read) is bounded by the caller's timeout. hiredis 0.14 has no TLS. */
#include <stddef.h>
#include <hiredis/hiredis.h>  /* types only: redisReply, REDIS_REPLY_* (nothing of it is linked) */

typedef struct chiredis_conn chiredis_conn;

/* Loads libhiredis.so.0.14 once (thread-safe). 0 on success; otherwise -1 and a message in err naming
 * the package to install. */
int chiredis_load(char *err, size_t errlen);

/* Opens a connection within timeout_ms (resolution, connect and, when tls, the verified handshake;
 * ca_file NULL: the system's trust store). NULL on failure, with the cause in err. */
chiredis_conn *chiredis_connect(const char *host, int port, int tls, const char *ca_file, int timeout_ms,
                                            char *err, size_t errlen);

/* Appends one command to the connection's output buffer (nothing is sent). 0, or -1 with err. */
int chiredis_append(chiredis_conn *conn, int argc, const char **argv, const size_t *argvlen,
                          char *err, size_t errlen);

/* Sends the output buffer within timeout_ms. 0, or -1 (error or timeout) with err. */
int chiredis_flush(chiredis_conn *conn, int timeout_ms, char *err, size_t errlen);

/* Reads the next reply within timeout_ms. Returns 0 with *out set (free it with
 * chiredis_free_reply), 1 when timeout_ms passed first (a partial reply stays buffered), 2 when
 * wake_fd (if >= 0) became readable first, -1 on a connection or protocol error (err says which).
 * A Redis error reply is a reply (type REDIS_REPLY_ERROR), not a failure. */
int chiredis_read(chiredis_conn *conn, int timeout_ms, int wake_fd, redisReply **out,
                        char *err, size_t errlen);

/* 1 when an idle connection has something to read (the server closed it, or sent what nobody asked
 * for): it must not be reused. Never waits. */
int chiredis_is_stale(chiredis_conn *conn);

void chiredis_free_reply(redisReply *reply);
void chiredis_close(chiredis_conn *conn);

/* SHA-1 of `length` bytes as 40 lower-case hex digits plus NUL (script ids for EVALSHA). */
void chiredis_sha1_hex(const unsigned char *data, size_t length, char out[41]);

#endif
