/* Safety rules (issue 16), each proved against the local emulator with a check that fails when the rule
 * is broken:
 *   1. plain http: only literal loopback hosts and "localhost" pass passauth_client_new, and over plain
 *      http the connected peer must be a loopback address (refused before any byte is sent);
 *   2. secrets (client secret, access token) never appear in errors, results, statistics or logs, raw,
 *      percent-encoded or base64, whatever the service echoes, and no body excerpt shows a prefix of one;
 *   3. numbers: every numeric config key and poll option fed extreme values fails cleanly naming the key
 *      or works, and the process never dies (each case runs in a forked child, so a trap is reported);
 *   4. a poll ends by its timeoutMs and by its code's notAfter whatever its interval;
 *   5. Retry-After as an HTTP-date is honoured, or fails at once when it is beyond timeoutMs;
 *   6. session notBefore/notAfter that are not numbers of ms (or strings of digits) are PASSAUTH_E_PROTOCOL;
 *   7. decisions are matched to the requested resources by id whatever the service's order;
 *   8. clock skew: validity is judged at the service's time (profile pick, code expiry).
 * Each test resets the emulator and frees what it allocates (the suite runs under memcheck and ASan). */
#include "harness.h"
#include "passauth.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static emulator emu;

#define DEVICE_ID "tv-safety-1"
#define DEVICE "{\"id\":\"" DEVICE_ID "\"}"
#define OTHER_DEVICE "{\"id\":\"tv-safety-2\"}"
#define SESSION_PARAMS "{\"mvpd\":\"Cablevision\",\"domainName\":\"adobe.com\",\"redirectUrl\":\"https://adobe.com\"}"

/* --- helpers ---------------------------------------------------------------------------------- */

/* A config for `base_url` with the given default device (NULL: none) and extra members (NULL: none). */
static char *config_for(const char *base_url, const char *device, const char *extra) {
    char *config = NULL;
    if (asprintf(&config, "{\"baseUrl\":\"%s\",\"serviceProvider\":\"REF30\",\"softwareStatement\":\"%s\",\"store\":\"%s\"%s%s%s%s}",
                 base_url, HARNESS_SOFTWARE_STATEMENT, harness_temp_dir(), device ? ",\"device\":" : "", device ? device : "",
                 extra ? "," : "", extra ? extra : "") < 0)
        return NULL;
    return config;
}

/* A client for the main emulator (after a reset), or NULL (the check failed). */
static passauth_client *fresh_client(const char *extra) {
    emulator_reset(&emu);
    char *config = config_for(emu.base_url, DEVICE, extra ? extra : "\"logLevel\":\"none\",\"pacing\":false");
    passauth_client *client = NULL;
    CHECK_STATUS(passauth_client_new(config, &client), PASSAUTH_OK);
    free(config);
    return client;
}

static json_t *request_log(void) { return emulator_get(&emu, "/_emulator/requests"); }

/* How many requests of `endpoint` the emulator has logged. */
static long requests_of(const char *endpoint) { return emulator_stat(&emu, NULL, endpoint); }

static char *new_code(passauth_client *client, const char *device) {
    char *session = NULL;
    CHECK_STATUS(passauth_session_create(client, device, SESSION_PARAMS, &session), PASSAUTH_OK);
    char *code = NULL;
    if (session) CHECK_STATUS(passauth_json_get_string(session, "/code", &code), PASSAUTH_OK);
    passauth_free(session);
    return code;
}

/* --- 1. plain http ---------------------------------------------------------------------------- */

/* A TCP listener that counts what it receives (a stand-in for a non-loopback peer), answering 502 to
 * whatever request arrives. */
struct sink {
    int fd;
    int port;
    pthread_t thread;
    int connections;
    long bytes;
    volatile int stop;
};

static void *sink_run(void *arg) {
    struct sink *s = arg;
    while (!s->stop) {
        struct pollfd p = {s->fd, POLLIN, 0};
        if (poll(&p, 1, 100) <= 0) continue;
        int c = accept(s->fd, NULL, NULL);
        if (c < 0) continue;
        __atomic_add_fetch(&s->connections, 1, __ATOMIC_SEQ_CST);
        char buf[4096];
        for (;;) {
            struct pollfd q = {c, POLLIN, 0};
            if (poll(&q, 1, 1000) <= 0) break;
            ssize_t n = read(c, buf, sizeof buf);
            if (n <= 0) break;
            __atomic_add_fetch(&s->bytes, (long)n, __ATOMIC_SEQ_CST);
            if (memmem(buf, (size_t)n, "\r\n\r\n", 4)) {
                static const char answer[] = "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
                if (write(c, answer, sizeof answer - 1) < 0) {}
                break;
            }
        }
        close(c);
    }
    return NULL;
}

static bool sink_start(struct sink *s, const char *ip) {
    memset(s, 0, sizeof *s);
    struct sockaddr_in a = {.sin_family = AF_INET};
    if (inet_pton(AF_INET, ip, &a.sin_addr) != 1) return false;
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    socklen_t len = sizeof a;
    if (s->fd < 0 || bind(s->fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(s->fd, 8) != 0 ||
        getsockname(s->fd, (struct sockaddr *)&a, &len) != 0) {
        if (s->fd >= 0) close(s->fd);
        return false;
    }
    s->port = ntohs(a.sin_port);
    return pthread_create(&s->thread, NULL, sink_run, s) == 0;
}

static void sink_stop(struct sink *s) {
    s->stop = 1;
    pthread_join(s->thread, NULL);
    close(s->fd);
}

/* A relay from [::1]:port to 127.0.0.1:target (the emulator listens on IPv4 only). */
struct relay {
    int fd;
    int port;
    int target;
    pthread_t thread;
    volatile int stop;
};

static void pump(int a, int b) {
    char buf[8192];
    for (;;) {
        struct pollfd p[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
        if (poll(p, 2, 2000) <= 0) return;
        for (int i = 0; i < 2; i++) {
            if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            ssize_t n = read(p[i].fd, buf, sizeof buf);
            if (n <= 0) return;
            if (write(p[1 - i].fd, buf, (size_t)n) != n) return;
        }
    }
}

static void *relay_run(void *arg) {
    struct relay *r = arg;
    while (!r->stop) {
        struct pollfd p = {r->fd, POLLIN, 0};
        if (poll(&p, 1, 100) <= 0) continue;
        int c = accept(r->fd, NULL, NULL);
        if (c < 0) continue;
        int up = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)r->target)};
        inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
        if (up >= 0 && connect(up, (struct sockaddr *)&to, sizeof to) == 0) pump(c, up);
        if (up >= 0) close(up);
        close(c);
    }
    return NULL;
}

static bool relay_start(struct relay *r, int target) {
    memset(r, 0, sizeof *r);
    r->target = target;
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    r->fd = socket(AF_INET6, SOCK_STREAM, 0);
    socklen_t len = sizeof a;
    if (r->fd < 0 || bind(r->fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(r->fd, 8) != 0 ||
        getsockname(r->fd, (struct sockaddr *)&a, &len) != 0) {
        if (r->fd >= 0) close(r->fd);
        return false;
    }
    r->port = ntohs(a.sin6_port);
    return pthread_create(&r->thread, NULL, relay_run, r) == 0;
}

static void relay_stop(struct relay *r) {
    r->stop = 1;
    pthread_join(r->thread, NULL);
    close(r->fd);
}

/* The machine's first non-loopback IPv4 address (hostname -I), or "" when it has none. */
static void non_loopback_ipv4(char *out, size_t n) {
    out[0] = 0;
    FILE *p = popen("hostname -I 2>/dev/null", "r");
    if (!p) return;
    char line[512] = {0};
    if (fgets(line, sizeof line, p)) {
        for (char *tok = strtok(line, " \n"); tok; tok = strtok(NULL, " \n")) {
            struct in_addr a;
            if (inet_pton(AF_INET, tok, &a) == 1 && (ntohl(a.s_addr) >> 24) != 127) {
                snprintf(out, n, "%s", tok);
                break;
            }
        }
    }
    pclose(p);
}

/* passauth_client_new refuses `url` with PASSAUTH_E_INVALID_ARGUMENT naming baseUrl (extra: more keys). */
static void check_refused(const char *url, const char *extra) {
    char *config = config_for(url, NULL, extra);
    passauth_client *client = NULL;
    int status = passauth_client_new(config, &client);
    free(config);
    CHECK_MSG(status == PASSAUTH_E_INVALID_ARGUMENT && client == NULL && same(passauth_error_last()->key, "baseUrl"),
              "%s: status %s, key %s: %s", url, passauth_status_name(status), passauth_error_last()->key ? passauth_error_last()->key : "(null)",
              passauth_error_last()->message);
    passauth_client_free(client);
}

/* A client for `url` registers through it (the peer check passes and the emulator answers). */
static void check_accepted_and_reaches(const char *url, const char *extra, const emulator *target) {
    char *config = config_for(url, NULL, extra ? extra : "\"logLevel\":\"none\"");
    passauth_client *client = NULL;
    int status = passauth_client_new(config, &client);
    free(config);
    CHECK_MSG(status == PASSAUTH_OK, "%s refused: %s", url, passauth_last_error());
    if (!client) return;
    long before = emulator_stat(target, NULL, "register");
    char *out = NULL;
    status = passauth_register(client, &out);
    CHECK_MSG(status == PASSAUTH_OK, "%s: register %s: %s", url, passauth_status_name(status), passauth_last_error());
    CHECK_MSG(emulator_stat(target, NULL, "register") == before + 1, "%s: the emulator saw no registration", url);
    passauth_free(out);
    passauth_client_free(client);
}

static void test_plain_http_guard(void) {
    /* an emulator on every address, so that 127.0.0.2 and a non-loopback address reach it too */
    emulator any;
    if (!CHECK(emulator_start(&any, "--no-throttle --host 0.0.0.0"))) return;
    const char *colon = strrchr(any.base_url, ':');
    int port = colon ? atoi(colon + 1) : 0;
    snprintf(any.base_url, sizeof any.base_url, "http://127.0.0.1:%d", port);
    char url[256];

    /* names that merely look like loopback, and non-loopback literals: refused at creation */
    const char *refused[] = {"http://127.evil.example.com:%d", "http://127.0.0.1.nip.io:%d", "http://[::2]:%d",
                             "http://localhost.evil.example.com:%d", "http://2130706433:%d", "http://0x7f000001:%d",
                             "http://[::ffff:10.0.0.1]:%d", "http://10.0.0.1:%d", "HTTP://127.evil.example.com:%d/path"};
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
        snprintf(url, sizeof url, refused[i], port);
        check_refused(url, NULL);
    }

    /* literal loopback addresses and localhost: accepted, and they reach the emulator */
    snprintf(url, sizeof url, "http://127.0.0.2:%d", port);
    check_accepted_and_reaches(url, NULL, &any);
    snprintf(url, sizeof url, "http://localhost:%d", port);
    check_accepted_and_reaches(url, NULL, &any);
    struct relay relay;
    if (CHECK(relay_start(&relay, port))) {
        snprintf(url, sizeof url, "http://[::1]:%d", relay.port);
        check_accepted_and_reaches(url, NULL, &any);
        relay_stop(&relay);
    }

    char ip[64];
    non_loopback_ipv4(ip, sizeof ip);
    if (!ip[0]) {
        printf("  no non-loopback IPv4 address on this machine: the peer checks are not exercised\n");
    } else {
        /* a non-loopback literal: refused without consent, reaches the service with allowInsecureHttp */
        snprintf(url, sizeof url, "http://%s:%d", ip, port);
        check_refused(url, NULL);
        check_accepted_and_reaches(url, "\"logLevel\":\"none\",\"allowInsecureHttp\":true", &any);

        /* The connected-peer check: a loopback base URL whose connection ends at a non-loopback peer (a
         * proxy on this machine's non-loopback address, from the config or from http_proxy) is refused
         * after connecting and before any byte of the request leaves. */
        struct sink sink;
        if (CHECK(sink_start(&sink, ip))) {
            char proxy[128], extra[256];
            snprintf(proxy, sizeof proxy, "http://%s:%d", ip, sink.port);
            snprintf(extra, sizeof extra, "\"logLevel\":\"none\",\"proxy\":\"%s\"", proxy);
            long registered = emulator_stat(&any, NULL, "register");
            char *config = config_for(any.base_url, NULL, extra);
            passauth_client *client = NULL;
            CHECK_STATUS(passauth_client_new(config, &client), PASSAUTH_OK);
            free(config);
            char *out = NULL;
            int status = passauth_register(client, &out);
            CHECK_MSG(status == PASSAUTH_E_TRANSPORT && strstr(passauth_error_last()->message, "loopback"),
                      "register through a non-loopback proxy: %s %s", passauth_status_name(status), passauth_last_error());
            passauth_free(out);
            passauth_client_free(client);
            sleep_ms(200);
            CHECK_MSG(__atomic_load_n(&sink.connections, __ATOMIC_SEQ_CST) >= 1, "the request never reached the proxy (test setup)");
            CHECK_MSG(__atomic_load_n(&sink.bytes, __ATOMIC_SEQ_CST) == 0, "%ld bytes reached a non-loopback peer over plain http",
                      __atomic_load_n(&sink.bytes, __ATOMIC_SEQ_CST));

            /* the same through libcurl's environment */
            config = config_for(any.base_url, NULL, "\"logLevel\":\"none\"");
            client = NULL;
            CHECK_STATUS(passauth_client_new(config, &client), PASSAUTH_OK);
            free(config);
            setenv("http_proxy", proxy, 1);
            status = passauth_register(client, &out);
            unsetenv("http_proxy");
            CHECK_MSG(status == PASSAUTH_E_TRANSPORT, "register through http_proxy: %s %s", passauth_status_name(status), passauth_last_error());
            passauth_free(out);
            passauth_client_free(client);
            sleep_ms(200);
            CHECK_MSG(__atomic_load_n(&sink.connections, __ATOMIC_SEQ_CST) >= 2, "the request never reached the http_proxy (test setup)");
            CHECK_MSG(__atomic_load_n(&sink.bytes, __ATOMIC_SEQ_CST) == 0, "%ld bytes reached a non-loopback peer over plain http",
                      __atomic_load_n(&sink.bytes, __ATOMIC_SEQ_CST));
            CHECK(emulator_stat(&any, NULL, "register") == registered);

            /* with allowInsecureHttp the same proxy receives the request (so the check above is what refused) */
            snprintf(extra, sizeof extra, "\"logLevel\":\"none\",\"proxy\":\"%s\",\"allowInsecureHttp\":true", proxy);
            config = config_for(any.base_url, NULL, extra);
            client = NULL;
            CHECK_STATUS(passauth_client_new(config, &client), PASSAUTH_OK);
            free(config);
            status = passauth_register(client, &out);
            CHECK_MSG(status != PASSAUTH_OK, "the sink answers 502");
            passauth_free(out);
            passauth_client_free(client);
            sleep_ms(200);
            CHECK_MSG(__atomic_load_n(&sink.bytes, __ATOMIC_SEQ_CST) > 0, "with allowInsecureHttp the proxy received nothing");
            sink_stop(&sink);
        }
    }
    emulator_stop(&any);
}

/* --- 2. secrets ------------------------------------------------------------------------------- */

struct captured_log {
    pthread_mutex_t lock;
    char *text;
    size_t len;
    int lines;
};

static void capture_line(void *user_data, int level, const char *message) {
    struct captured_log *log = user_data;
    (void)level;
    size_t n = strlen(message);
    pthread_mutex_lock(&log->lock);
    char *grown = realloc(log->text, log->len + n + 2);
    if (grown) {
        log->text = grown;
        memcpy(log->text + log->len, message, n);
        log->len += n;
        log->text[log->len++] = '\n';
        log->text[log->len] = 0;
        log->lines++;
    }
    pthread_mutex_unlock(&log->lock);
}

/* Everything the library said: last errors (struct fields and JSON), results, statistics. */
static char *said;
static size_t said_len;

static void keep(const char *text) {
    if (!text) return;
    size_t n = strlen(text);
    char *grown = realloc(said, said_len + n + 2);
    if (!grown) return;
    said = grown;
    memcpy(said + said_len, text, n);
    said_len += n;
    said[said_len++] = '\n';
    said[said_len] = 0;
}

static void keep_error(void) {
    const passauth_error *e = passauth_error_last();
    const char *fields[] = {e->name, e->message, e->code, e->action, e->endpoint, e->key, e->details, e->help_url, e->trace, e->body, e->json};
    for (size_t i = 0; i < sizeof fields / sizeof *fields; i++) keep(fields[i]);
    keep(passauth_last_error());
}

static char *percent_encoded(const char *s) {
    char *out = malloc(strlen(s) * 3 + 1), *o = out;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || strchr("-._~", *p)) *o++ = (char)*p;
        else o += sprintf(o, "%%%02X", *p);
    }
    *o = 0;
    return out;
}

static char *percent_decoded(const char *s, size_t n) {
    char *out = malloc(n + 1), *o = out;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n + 1) {
            unsigned v;
            if (sscanf(s + i + 1, "%2x", &v) == 1) { *o++ = (char)v; i += 2; continue; }
        }
        *o++ = s[i] == '+' ? ' ' : s[i];
    }
    *o = 0;
    return out;
}

static char *base64_of(const char *s) {
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = strlen(s);
    char *out = malloc((n + 2) / 3 * 4 + 1), *o = out;
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
        *o++ = alphabet[v >> 18 & 63];
        *o++ = alphabet[v >> 12 & 63];
        *o++ = i + 1 < n ? alphabet[v >> 6 & 63] : '=';
        *o++ = i + 2 < n ? alphabet[v & 63] : '=';
    }
    *o = 0;
    return out;
}

/* Which form of `secret` (raw, percent-encoded, base64) `text` contains, or NULL. */
static const char *secret_form_in(const char *text, const char *secret) {
    if (!text || !secret || !*secret) return NULL;
    char *pct = percent_encoded(secret), *b64 = base64_of(secret);
    const char *found = strstr(text, secret) ? "raw" : strstr(text, pct) ? "percent-encoded" : strstr(text, b64) ? "base64" : NULL;
    free(pct);
    free(b64);
    return found;
}

/* The secrets that went over the wire: client_secret values of token requests and bearer tokens. */
static int wire_secrets(char **out, int max) {
    json_t *log = request_log();
    int n = 0;
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(log, "requests"), i, r) {
        const char *auth = json_string_value(json_object_get(json_object_get(r, "headers"), "authorization"));
        const char *body = json_string_value(json_object_get(r, "body"));
        const char *cs = body ? strstr(body, "client_secret=") : NULL;
        char *candidates[2] = {auth && strncmp(auth, "Bearer ", 7) == 0 ? strdup(auth + 7) : NULL,
                               cs ? percent_decoded(cs + 14, strcspn(cs + 14, "&")) : NULL};
        for (int k = 0; k < 2; k++) {
            if (!candidates[k]) continue;
            bool known = false;
            for (int j = 0; j < n; j++) known = known || strcmp(out[j], candidates[k]) == 0;
            if (known || n == max) free(candidates[k]);
            else out[n++] = candidates[k];
        }
    }
    json_decref(log);
    return n;
}

/* The body excerpt of the last error after `pad` bytes of '.' shows no prefix of `secret`. */
static void check_excerpt(int pad, const char *secret, const char *what) {
    const char *body = passauth_error_last()->body;
    if (!ENSURE(body != NULL, "%s pad %d: no body excerpt: %s", what, pad, passauth_last_error())) return;
    size_t dots = strspn(body, ".");
    CHECK_MSG(dots == (size_t)(pad < 200 ? pad : 200), "%s pad %d: the excerpt starts with %zu dots: %.40s", what, pad, dots, body);
    /* right after the dots: the marker, or the cut; never the secret's first character(s) */
    const char *after = body + dots;
    CHECK_MSG(after[0] == 0 || after[0] == '[' || (unsigned char)after[0] == 0xE2,
              "%s pad %d: the excerpt continues with '%.12s' after the padding (the secret starts '%.1s')", what, pad, after, secret);
    CHECK_MSG(after[0] != secret[0], "%s pad %d: the excerpt shows a prefix of the secret: '%.12s'", what, pad, after);
}

static void test_secrets_never_shown(void) {
    passauth_client *client = NULL;
    emulator_reset(&emu);
    /* short secrets with '+', '/' and '=' (they must be percent-encoded in the token form) */
    CHECK(emulator_configure(&emu, "{\"secretEncoding\":\"base64\",\"clientSecretBytes\":4,\"accessTokenBytes\":4}"));
    struct captured_log log = {.lock = PTHREAD_MUTEX_INITIALIZER};
    char *config = config_for(emu.base_url, DEVICE, "\"logLevel\":\"trace\",\"pacing\":false");
    CHECK_STATUS(passauth_client_new(config, &client), PASSAUTH_OK);
    free(config);
    if (!client) return;
    CHECK_STATUS(passauth_set_log_callback(client, capture_line, &log), PASSAUTH_OK);
    CHECK(harness_login_device(&emu, DEVICE_ID, "Cablevision"));

    char *out = NULL;
#define KEEP_RESULT(expr, expected) do { out = NULL; CHECK_STATUS((expr), (expected)); keep(out); \
        if ((expected) != PASSAUTH_OK) { keep_error(); } passauth_free(out); } while (0)

    KEEP_RESULT(passauth_register(client, &out), PASSAUTH_OK);
    /* the enhanced error that carries the bearer token in every field */
    CHECK(emulator_add_fault(&emu, "{\"kind\":\"echo-enhanced\",\"endpoint\":\"profiles\"}"));
    KEEP_RESULT(passauth_profiles(client, DEVICE, &out), PASSAUTH_E_SERVICE);
    CHECK_MSG(passauth_error_last()->code && passauth_error_last()->trace && passauth_error_last()->help_url,
              "echo-enhanced: the error lost its fields: %s", passauth_last_error());
    CHECK(emulator_add_fault(&emu, "{\"kind\":\"echo-enhanced\",\"endpoint\":\"configuration\",\"status\":503,\"action\":\"none\",\"count\":3}"));
    KEEP_RESULT(passauth_configuration(client, DEVICE, &out), PASSAUTH_E_SERVICE);
    /* successful answers with the token in an extra member and appended to named string members */
    CHECK(emulator_add_fault(&emu, "{\"kind\":\"echo-200\",\"endpoint\":\"configuration\",\"field\":\"displayName\"}"));
    KEEP_RESULT(passauth_configuration(client, DEVICE, &out), PASSAUTH_OK);
    /* (an "echo" member in the profiles map, or a resource that no longer matches, is a malformed answer) */
    CHECK(emulator_add_fault(&emu, "{\"kind\":\"echo-200\",\"endpoint\":\"profiles\",\"field\":\"value\"}"));
    KEEP_RESULT(passauth_profiles(client, DEVICE, &out), PASSAUTH_E_PROTOCOL);
    CHECK(emulator_add_fault(&emu, "{\"kind\":\"echo-200\",\"endpoint\":\"sessions.create\",\"field\":\"url\"}"));
    KEEP_RESULT(passauth_session_create(client, DEVICE, SESSION_PARAMS, &out), PASSAUTH_OK);
    CHECK(emulator_add_fault(&emu, "{\"kind\":\"echo-200\",\"endpoint\":\"decisions.preauthorize\",\"field\":\"resource\"}"));
    KEEP_RESULT(passauth_preauthorize(client, DEVICE, "Cablevision", "[\"REF30\"]", &out), PASSAUTH_E_PROTOCOL);
    CHECK(emulator_add_fault(&emu, "{\"kind\":\"echo-200\",\"endpoint\":\"decisions.preauthorize\",\"field\":\"mvpd\"}"));
    KEEP_RESULT(passauth_preauthorize(client, DEVICE, "Cablevision", "[\"REF30\"]", &out), PASSAUTH_OK);
    /* the request reflected, with the secret straddling the excerpt's 200-byte cut at every offset */
    const int pads[] = {192, 195, 197, 199, 200, 201};
    char *secrets[16];
    int n_secrets = wire_secrets(secrets, 16);
    const char *bearer = n_secrets > 0 ? secrets[n_secrets - 1] : "";
    for (size_t i = 0; i < sizeof pads / sizeof *pads; i++) {
        char fault[256];
        snprintf(fault, sizeof fault, "{\"kind\":\"echo-request\",\"endpoint\":\"profiles.mvpd\",\"status\":400,\"padBytes\":%d}", pads[i]);
        CHECK(emulator_add_fault(&emu, fault));
        KEEP_RESULT(passauth_profile_for_mvpd(client, DEVICE, "Cablevision", &out), PASSAUTH_E_HTTP);
        check_excerpt(pads[i], bearer, "access token");
    }
    /* the token request: its form (client_secret percent-encoded) reflected and echoed back */
    json_decref(emulator_post(&emu, "/_emulator/expire-tokens", NULL));
    CHECK(emulator_add_fault(&emu, "{\"kind\":\"echo-form\",\"endpoint\":\"token\"}"));
    KEEP_RESULT(passauth_profiles(client, DEVICE, &out), PASSAUTH_E_REGISTRATION);
    for (size_t i = 0; i < 16; i++) if (i < (size_t)n_secrets) free(secrets[i]);
    n_secrets = wire_secrets(secrets, 16);
    const char *client_secret = NULL;
    {
        json_t *rlog = request_log();
        size_t i;
        json_t *r;
        json_array_foreach(json_object_get(rlog, "requests"), i, r) {
            const char *body = json_string_value(json_object_get(r, "body"));
            const char *cs = body ? strstr(body, "client_secret=") : NULL;
            if (!cs) continue;
            char *decoded = percent_decoded(cs + 14, strcspn(cs + 14, "&"));
            for (int k = 0; k < n_secrets; k++) if (strcmp(secrets[k], decoded) == 0) client_secret = secrets[k];
            free(decoded);
        }
        json_decref(rlog);
    }
    if (ENSURE(client_secret != NULL, "no client secret on the wire")) {
        CHECK_MSG(strpbrk(client_secret, "+/=") != NULL, "the client secret '%s' has none of + / = (emulator config)", client_secret);
        CHECK_MSG(strlen(client_secret) == 8, "the client secret is %zu characters, not 8", strlen(client_secret));
        for (size_t i = 0; i < sizeof pads / sizeof *pads; i++) {
            char fault[256];
            snprintf(fault, sizeof fault, "{\"kind\":\"echo-request\",\"endpoint\":\"token\",\"status\":400,\"padBytes\":%d}", pads[i]);
            CHECK(emulator_add_fault(&emu, fault));
            KEEP_RESULT(passauth_profiles(client, DEVICE, &out), PASSAUTH_E_HTTP);
            check_excerpt(pads[i], client_secret, "client secret");
        }
    }
    /* an enhanced error on the token call too, and a 401 that renews the token through an echo */
    CHECK(emulator_add_fault(&emu, "{\"kind\":\"echo-enhanced\",\"endpoint\":\"token\"}"));
    KEEP_RESULT(passauth_profiles(client, DEVICE, &out), PASSAUTH_E_SERVICE);
    KEEP_RESULT(passauth_profiles(client, DEVICE, &out), PASSAUTH_OK);
    CHECK(emulator_add_fault(&emu, "{\"kind\":\"echo-enhanced\",\"endpoint\":\"decisions.authorize\",\"status\":401}"));
    out = NULL;
    passauth_authorize(client, DEVICE, "Cablevision", "[\"REF30\"]", &out); /* the media token is the caller's */
    passauth_free(out);
    keep_error();
    KEEP_RESULT(passauth_stats(client, &out), PASSAUTH_OK);
    KEEP_RESULT(passauth_profiles_stored(client, DEVICE, &out), PASSAUTH_OK);
#undef KEEP_RESULT
    passauth_client_free(client);

    for (int k = 0; k < n_secrets; k++) free(secrets[k]);
    n_secrets = wire_secrets(secrets, 16);
    CHECK_MSG(n_secrets >= 3, "only %d secrets went over the wire", n_secrets);
    CHECK_MSG(log.lines > 10 && strstr(log.text ? log.text : "", "profiles"), "the trace log says nothing: %.300s", log.text ? log.text : "");
    for (int k = 0; k < n_secrets; k++) {
        const char *where = secret_form_in(said, secrets[k]);
        CHECK_MSG(where == NULL, "secret #%d (%zu chars) in an error, result or statistics, %s", k, strlen(secrets[k]), where);
        where = secret_form_in(log.text, secrets[k]);
        CHECK_MSG(where == NULL, "secret #%d (%zu chars) in the log, %s", k, strlen(secrets[k]), where);
        free(secrets[k]);
    }
    printf("  %d secrets checked against %d log lines and %zu bytes of errors, results and statistics\n", n_secrets, log.lines, said_len);
    free(said);
    said = NULL;
    said_len = 0;
    free(log.text);
    pthread_mutex_destroy(&log.lock);
}

/* --- 3. numbers --------------------------------------------------------------------------------- */

/* Runs fn(arg) in a forked child; true when the child exited normally with every check passed. */
static bool isolated(void (*fn)(const void *), const void *arg, const char *what) {
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        harness_failed_checks = 0;
        fn(arg);
        fflush(stdout);
        fflush(stderr);
        _exit(harness_failed_checks ? 1 : 0);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid) return ENSURE(false, "%s: fork failed", what);
    if (WIFSIGNALED(status)) return ENSURE(false, "%s: the process died of signal %d (%s)", what, WTERMSIG(status), strsignal(WTERMSIG(status)));
    return ENSURE(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: exit status %d", what, WEXITSTATUS(status));
}

struct numeric_key { const char *name; bool integer; double lo, hi; bool lo_open; };
static const struct numeric_key numeric_keys[] = {
    {"timeoutMs", true, 1, 600000, false},
    {"connectTimeoutMs", true, 1, 600000, false},
    {"pacingRatePerSecond", false, 0, 1000, true},
    {"pacingBurst", true, 1, 1000, false},
    {"maxResponseBytes", true, 1024, 268435456, false},
    {"configurationCacheMs", true, 0, 3600000, false},
    {"pollIntervalMs", true, 3000, 60000, false},
    {"authorizeBatchSize", true, 1, 50, false},
    {"preauthorizeBatchSize", true, 1, 50, false},
    {"profileRefreshMs", true, 0, 86400000, false},
};

/* `fits`: a JSON integer within 64 bits (integer keys accept only these). */
struct extreme { const char *text; double value; bool integer; };
static const struct extreme extremes[] = {
    {"0", 0, true}, {"-1", -1, true}, {"1", 1, true}, {"9223372036854775807", 9223372036854775807.0, true},
    {"-9223372036854775808", -9223372036854775808.0, true}, {"1e308", 1e308, false}, {"-1e308", -1e308, false},
    {"1e-300", 1e-300, false}, {"5e-324", 5e-324, false}, {"1.5", 1.5, false}, {"-0.0", 0, false},
    {"18446744073709551616", 18446744073709551616.0, false}, {"123456789012345678901234567890", 1.2345678901234568e29, false},
    {"-99999999999999999999999", -1e23, false}, {"1000", 1000, true}, {"3000", 3000, true}, {"60000", 60000, true},
    {"600000", 600000, true}, {"1e3", 1000, false}, {"1e400", INFINITY, false}, {"-1e400", -INFINITY, false},
};

struct config_case { const struct numeric_key *key; const struct extreme *value; };

static void config_case_run(const void *arg) {
    const struct config_case *c = arg;
    char extra[256];
    snprintf(extra, sizeof extra, "\"logLevel\":\"none\",\"%s\":%s", c->key->name, c->value->text);
    char *config = config_for(emu.base_url, DEVICE, extra);
    passauth_client *client = NULL;
    int status = passauth_client_new(config, &client);
    free(config);
    const struct numeric_key *k = c->key;
    double v = c->value->value;
    bool in_range = (k->lo_open ? v > k->lo : v >= k->lo) && v <= k->hi;
    bool expect_ok = in_range && (!k->integer || c->value->integer);
    const passauth_error *e = passauth_error_last();
    if (status == PASSAUTH_OK) {
        CHECK_MSG(expect_ok, "%s %s: accepted, expected PASSAUTH_E_INVALID_ARGUMENT", k->name, c->value->text);
    } else {
        CHECK_MSG(status == PASSAUTH_E_INVALID_ARGUMENT, "%s %s: %s %s", k->name, c->value->text, passauth_status_name(status), passauth_last_error());
        CHECK_MSG(!expect_ok, "%s %s: refused, expected to work: %s", k->name, c->value->text, passauth_last_error());
        CHECK_MSG(same(e->key, k->name),
                  "%s %s: the error does not name the key: key %s, %s", k->name, c->value->text, e->key ? e->key : "(null)",
                  e->message);
    }
    passauth_client_free(client);
}

/* A client with an accepted extreme makes calls that answer a typed status (never a trap). */
static void accepted_extreme_calls(const void *arg) {
    const char *extra = arg;
    char *config = config_for(emu.base_url, DEVICE, extra);
    passauth_client *client = NULL;
    CHECK_STATUS(passauth_client_new(config, &client), PASSAUTH_OK);
    free(config);
    if (!client) return;
    for (int i = 0; i < 4; i++) {
        char *out = NULL;
        int status = i == 0 ? passauth_register(client, &out)
                   : i == 1 ? passauth_configuration(client, DEVICE, &out)
                   : passauth_preauthorize(client, DEVICE, "Cablevision", "[\"REF30\",\"REF40\"]", &out);
        CHECK_MSG(status <= 0 && status >= PASSAUTH_E_NOT_FOUND && status != PASSAUTH_E_INTERNAL, "%s: call %d: %s %s", extra, i,
                  passauth_status_name(status), passauth_last_error());
        passauth_free(out);
    }
    passauth_client_free(client);
}

/* pacingRatePerSecond tiny: the bucket never refills in practice; past the burst the call fails typed. */
static void tiny_pacing_rate(const void *arg) {
    char extra[256];
    snprintf(extra, sizeof extra, "\"logLevel\":\"none\",\"pacingRatePerSecond\":%s,\"pacingBurst\":2,\"timeoutMs\":2000", (const char *)arg);
    char *config = config_for(emu.base_url, DEVICE, extra);
    passauth_client *client = NULL;
    CHECK_STATUS(passauth_client_new(config, &client), PASSAUTH_OK);
    free(config);
    if (!client) return;
    char *out = NULL;
    /* the burst (2) goes through, then the device's budget is spent for good */
    CHECK_STATUS(passauth_configuration(client, DEVICE, &out), PASSAUTH_OK);
    passauth_free(out);
    out = NULL;
    CHECK_STATUS(passauth_profiles(client, DEVICE, &out), PASSAUTH_OK);
    passauth_free(out);
    out = NULL;
    long long started = mono_ms();
    CHECK_STATUS(passauth_profiles(client, DEVICE, &out), PASSAUTH_E_THROTTLED);
    CHECK_MSG(mono_ms() - started < 1000, "the throttled call took %lld ms", mono_ms() - started);
    CHECK_MSG(passauth_error_last()->retry_after_ms > 2000, "retry_after_ms %lld", passauth_error_last()->retry_after_ms);
    passauth_free(out);
    /* a poll of the same device reschedules instead of sleeping: it must not trap either */
    char *code = NULL;
    {
        /* a second device (its own bucket) creates the code */
        char *session = NULL;
        CHECK_STATUS(passauth_session_create(client, "{\"id\":\"tv-safety-other\"}", SESSION_PARAMS, &session), PASSAUTH_OK);
        if (session) passauth_json_get_string(session, "/code", &code);
        passauth_free(session);
    }
    passauth_poll *poll = NULL;
    if (code) {
        CHECK_STATUS(passauth_poll_start(client, DEVICE, code, "{\"timeoutMs\":1500,\"intervalMs\":3000}", NULL, NULL, &poll), PASSAUTH_OK);
        int status = passauth_poll_wait(poll, 5000, NULL);
        CHECK_MSG(status == PASSAUTH_E_TIMEOUT, "poll with an empty bucket: %s %s", passauth_status_name(status), passauth_last_error());
        passauth_poll_free(poll);
    }
    passauth_free(code);
    passauth_client_free(client);
}

struct poll_case { const char *key; const struct extreme *value; const char *code; };

static void poll_case_run(const void *arg) {
    const struct poll_case *c = arg;
    char *config = config_for(emu.base_url, DEVICE, "\"logLevel\":\"none\",\"pacing\":false");
    passauth_client *client = NULL;
    CHECK_STATUS(passauth_client_new(config, &client), PASSAUTH_OK);
    free(config);
    if (!client) return;
    char options[256];
    snprintf(options, sizeof options, "{\"%s\":%s}", c->key, c->value->text);
    passauth_poll *poll = NULL;
    int status = passauth_poll_start(client, DEVICE, c->code, options, NULL, NULL, &poll);
    /* the options take whole numbers >= 0 within 64 bits (1e3 and -0.0 are whole); jansson refuses
       integer literals beyond 64 bits */
    double v = c->value->value;
    bool real = strspn(c->value->text, "-0123456789") != strlen(c->value->text);
    bool expect_ok = v >= 0 && (c->value->integer || (real && v == floor(v) && v < 9.2e18));
    char key[64];
    snprintf(key, sizeof key, "options_json.%s", c->key);
    if (status == PASSAUTH_OK) {
        CHECK_MSG(expect_ok, "poll option %s: accepted", options);
        /* it runs, or ends at once (timeoutMs 0, notAfter in the past): either way a status */
        int ended = passauth_poll_wait(poll, 300, NULL);
        CHECK_MSG(ended == PASSAUTH_PENDING || ended == PASSAUTH_E_TIMEOUT || ended == PASSAUTH_E_EXPIRED,
                  "poll option %s: %s %s", options, passauth_status_name(ended), passauth_last_error());
        if (strcmp(c->key, "timeoutMs") == 0 && c->value->value == 0) CHECK_MSG(ended == PASSAUTH_E_TIMEOUT, "timeoutMs 0: %s", passauth_status_name(ended));
        if (strcmp(c->key, "notAfter") == 0 && c->value->value < 1e12) CHECK_MSG(ended == PASSAUTH_E_EXPIRED, "notAfter %s: %s", c->value->text, passauth_status_name(ended));
        passauth_poll_free(poll);
    } else {
        const passauth_error *e = passauth_error_last();
        CHECK_MSG(status == PASSAUTH_E_INVALID_ARGUMENT && !expect_ok, "poll option %s: %s %s", options, passauth_status_name(status), passauth_last_error());
        CHECK_MSG(same(e->key, key), "poll option %s: the error does not name the key: key %s, %s",
                  options, e->key ? e->key : "(null)", e->message);
    }
    passauth_client_free(client);
}

static void test_extreme_numbers(void) {
    emulator_reset(&emu);
    char what[256];
    int cases = 0;
    for (size_t k = 0; k < sizeof numeric_keys / sizeof *numeric_keys; k++) {
        for (size_t v = 0; v < sizeof extremes / sizeof *extremes; v++) {
            struct config_case c = {&numeric_keys[k], &extremes[v]};
            snprintf(what, sizeof what, "config %s: %s", numeric_keys[k].name, extremes[v].text);
            isolated(config_case_run, &c, what);
            cases++;
        }
    }

    /* accepted extremes, then calls */
    const char *accepted[] = {
        "\"logLevel\":\"none\",\"timeoutMs\":1",
        "\"logLevel\":\"none\",\"connectTimeoutMs\":1",
        "\"logLevel\":\"none\",\"timeoutMs\":600000,\"connectTimeoutMs\":600000",
        "\"logLevel\":\"none\",\"pacingRatePerSecond\":1000,\"pacingBurst\":1000",
        "\"logLevel\":\"none\",\"pacingRatePerSecond\":1e-300,\"pacingBurst\":1",
        "\"logLevel\":\"none\",\"pacingRatePerSecond\":5e-324,\"pacingBurst\":1",
        "\"logLevel\":\"none\",\"maxResponseBytes\":1024",
        "\"logLevel\":\"none\",\"maxResponseBytes\":268435456",
        "\"logLevel\":\"none\",\"configurationCacheMs\":0",
        "\"logLevel\":\"none\",\"configurationCacheMs\":3600000",
        "\"logLevel\":\"none\",\"authorizeBatchSize\":50,\"preauthorizeBatchSize\":50",
        "\"logLevel\":\"none\",\"profileRefreshMs\":86400000",
    };
    for (size_t i = 0; i < sizeof accepted / sizeof *accepted; i++) {
        emulator_reset(&emu);
        snprintf(what, sizeof what, "calls with {%s}", accepted[i]);
        isolated(accepted_extreme_calls, accepted[i], what);
        cases++;
    }
    const char *tiny[] = {"1e-300", "5e-324", "1e-9"};
    for (size_t i = 0; i < sizeof tiny / sizeof *tiny; i++) {
        emulator_reset(&emu);
        snprintf(what, sizeof what, "pacingRatePerSecond %s past the burst", tiny[i]);
        isolated(tiny_pacing_rate, tiny[i], what);
        cases++;
    }

    /* poll options */
    emulator_reset(&emu);
    char *config = config_for(emu.base_url, DEVICE, "\"logLevel\":\"none\",\"pacing\":false");
    passauth_client *client = NULL;
    CHECK_STATUS(passauth_client_new(config, &client), PASSAUTH_OK);
    free(config);
    char *code = client ? new_code(client, DEVICE) : NULL;
    passauth_client_free(client);
    if (code) {
        const char *options[] = {"intervalMs", "timeoutMs", "notAfter"};
        for (size_t o = 0; o < 3; o++) {
            for (size_t v = 0; v < sizeof extremes / sizeof *extremes; v++) {
                struct poll_case c = {options[o], &extremes[v], code};
                snprintf(what, sizeof what, "poll option %s: %s", options[o], extremes[v].text);
                isolated(poll_case_run, &c, what);
                cases++;
            }
        }
    }
    passauth_free(code);
    printf("  %d cases, each in its own process\n", cases);
}

/* --- 4. polls end on time --------------------------------------------------------------------- */

static void test_poll_ends_on_time(void) {
    passauth_client *client = fresh_client(NULL);
    if (!client) return;
    /* by its own timeoutMs, whatever the interval */
    char *code = new_code(client, DEVICE);
    passauth_poll *poll = NULL;
    long long started = mono_ms();
    if (code) CHECK_STATUS(passauth_poll_start(client, DEVICE, code, "{\"intervalMs\":12000,\"timeoutMs\":500}", NULL, NULL, &poll), PASSAUTH_OK);
    if (poll) {
        int status = passauth_poll_wait(poll, 5000, NULL);
        long long took = mono_ms() - started;
        CHECK_MSG(status == PASSAUTH_E_TIMEOUT, "intervalMs 12000, timeoutMs 500: %s %s", passauth_status_name(status), passauth_last_error());
        CHECK_MSG(took >= 450 && took <= 1000, "the poll ended after %lld ms (timeoutMs 500)", took);
        passauth_poll_free(poll);
        poll = NULL;
    }
    passauth_free(code);

    /* by its code's notAfter (1.5 s away), whatever the interval */
    CHECK(emulator_configure(&emu, "{\"codeTtlSeconds\":1.5}"));
    char *session = NULL;
    CHECK_STATUS(passauth_session_create(client, DEVICE, SESSION_PARAMS, &session), PASSAUTH_OK);
    code = NULL;
    long long not_after = 0;
    if (session) {
        CHECK_STATUS(passauth_json_get_string(session, "/code", &code), PASSAUTH_OK);
        CHECK_STATUS(passauth_json_get_int64(session, "/notAfter", &not_after), PASSAUTH_OK);
    }
    passauth_free(session);
    started = mono_ms();
    if (code) CHECK_STATUS(passauth_poll_start(client, DEVICE, code, "{\"intervalMs\":60000}", NULL, NULL, &poll), PASSAUTH_OK);
    if (poll) {
        int status = passauth_poll_wait(poll, 10000, NULL);
        long long took = mono_ms() - started;
        CHECK_MSG(status == PASSAUTH_E_EXPIRED, "intervalMs 60000, code expiring in 1.5 s: %s %s", passauth_status_name(status), passauth_last_error());
        CHECK_MSG(took >= 1000 && took <= 2500, "the poll ended after %lld ms (code valid 1.5 s)", took);
        passauth_poll_free(poll);
        poll = NULL;
    }
    passauth_free(code);

    /* the same with the code's notAfter given in the options (a code the client never saw created) */
    code = NULL;
    CHECK(emulator_configure(&emu, "{\"codeTtlSeconds\":1800}"));
    char *other = NULL;
    {
        char *s = NULL;
        CHECK_STATUS(passauth_session_create(client, "{\"id\":\"tv-safety-elsewhere\"}", SESSION_PARAMS, &s), PASSAUTH_OK);
        if (s) passauth_json_get_string(s, "/code", &other);
        passauth_free(s);
    }
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    long long soon = (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000 + 1500;
    char options[128];
    snprintf(options, sizeof options, "{\"intervalMs\":60000,\"notAfter\":%lld}", soon);
    started = mono_ms();
    if (other) CHECK_STATUS(passauth_poll_start(client, DEVICE, other, options, NULL, NULL, &poll), PASSAUTH_OK);
    if (poll) {
        int status = passauth_poll_wait(poll, 10000, NULL);
        long long took = mono_ms() - started;
        CHECK_MSG(status == PASSAUTH_E_EXPIRED, "options notAfter in 1.5 s: %s %s", passauth_status_name(status), passauth_last_error());
        CHECK_MSG(took >= 1000 && took <= 2500, "the poll ended after %lld ms (notAfter 1.5 s away)", took);
        passauth_poll_free(poll);
    }
    passauth_free(other);
    passauth_client_free(client);
}

/* --- 5. Retry-After as an HTTP-date --------------------------------------------------------------- */

/* timeMs of the emulator's logged requests of `endpoint`, in order; returns how many. */
static int request_times(const char *endpoint, double *times, int max) {
    json_t *log = request_log();
    int n = 0;
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(log, "requests"), i, r) {
        if (n < max && same(json_string_value(json_object_get(r, "endpoint")), endpoint)) times[n++] = json_number_value(json_object_get(r, "timeMs"));
    }
    json_decref(log);
    return n;
}

static void test_retry_after_http_date(void) {
    passauth_client *client = fresh_client(NULL);
    if (!client) return;
    CHECK(harness_login_device(&emu, DEVICE_ID, "Cablevision"));
    char *out = NULL;
    CHECK_STATUS(passauth_register(client, &out), PASSAUTH_OK);
    passauth_free(out);
    out = NULL;

    /* a date 2 s ahead: honoured, then the call succeeds */
    CHECK(emulator_add_fault(&emu, "{\"kind\":\"http429\",\"endpoint\":\"profiles\",\"retryAfterDate\":2}"));
    long long started = mono_ms();
    CHECK_STATUS(passauth_profiles(client, DEVICE, &out), PASSAUTH_OK);
    long long took = mono_ms() - started;
    passauth_free(out);
    out = NULL;
    double times[8];
    int n = request_times("profiles", times, 8);
    CHECK_MSG(n == 2, "%d profiles requests, expected the 429 and its retry", n);
    if (n == 2) CHECK_MSG(times[1] - times[0] >= 1900, "the retry left %.0f ms after the 429 (Retry-After: a date 2 s ahead)", times[1] - times[0]);
    CHECK_MSG(took >= 1900 && took < 4000, "the call took %lld ms", took);

    /* a date beyond timeoutMs: fails at once, saying how long to wait */
    passauth_client_free(client);
    client = fresh_client("\"logLevel\":\"none\",\"pacing\":false,\"timeoutMs\":5000");
    if (!client) return;
    CHECK(harness_login_device(&emu, DEVICE_ID, "Cablevision"));
    CHECK_STATUS(passauth_register(client, &out), PASSAUTH_OK);
    passauth_free(out);
    out = NULL;
    CHECK(emulator_add_fault(&emu, "{\"kind\":\"http429\",\"endpoint\":\"profiles\",\"retryAfterDate\":60}"));
    started = mono_ms();
    CHECK_STATUS(passauth_profiles(client, DEVICE, &out), PASSAUTH_E_THROTTLED);
    took = mono_ms() - started;
    long long wait = passauth_error_last()->retry_after_ms;
    CHECK_MSG(took < 1000, "the call took %lld ms (timeoutMs 5000; the wait is 60 s)", took);
    CHECK_MSG(wait >= 58000 && wait <= 61000, "retry_after_ms %lld, expected about 60000", wait);
    CHECK(requests_of("profiles") == 1);
    /* and the device's next call does not wait a minute either: it fails at once too */
    started = mono_ms();
    CHECK_STATUS(passauth_profiles(client, DEVICE, &out), PASSAUTH_E_THROTTLED);
    CHECK_MSG(mono_ms() - started < 1000, "the next call took %lld ms", mono_ms() - started);
    CHECK(requests_of("profiles") == 1);
    passauth_free(out);
    passauth_client_free(client);
}

/* --- 6. session timestamps ------------------------------------------------------------------------ */

static void test_session_timestamps(void) {
    passauth_client *client = fresh_client(NULL);
    if (!client) return;
    char *out = NULL;
    CHECK_STATUS(passauth_register(client, &out), PASSAUTH_OK);
    passauth_free(out);
    const char *bad[] = {
        "\"notAfter\":\"soon\"", "\"notAfter\":1.5", "\"notAfter\":-5", "\"notAfterRaw\":\"1e999\"",
        "\"notAfter\":\"1234567890123456789012345\"", "\"notAfter\":{\"ms\":1}", "\"notAfter\":[1]", "\"notAfter\":true",
        "\"notAfterRaw\":\"1234567890123456789012345\"", "\"notAfter\":\"-5\"", "\"notAfter\":\"12abc\"", "\"notAfter\":\"\"",
        "\"notAfter\":\"99999999999999999999\"", "\"notBefore\":\"soon\"", "\"notBefore\":1.5", "\"notBefore\":-5",
        "\"notBeforeRaw\":\"1e999\"", "\"notBefore\":{}", "\"notAfter\":1e300",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char fault[256];
        snprintf(fault, sizeof fault, "{\"kind\":\"raw-timestamps\",\"endpoint\":\"sessions.create\",%s}", bad[i]);
        CHECK(emulator_add_fault(&emu, fault));
        out = NULL;
        int status = passauth_session_create(client, DEVICE, SESSION_PARAMS, &out);
        CHECK_MSG(status == PASSAUTH_E_PROTOCOL && out == NULL, "%s: %s %s", bad[i], passauth_status_name(status), passauth_last_error());
        passauth_free(out);
    }
    /* numeric strings become numbers; whole reals too */
    const struct { const char *fault; const char *pointer; long long expected; } good[] = {
        {"\"notAfter\":\"1700000000000\"", "/notAfter", 1700000000000LL},
        {"\"notBefore\":\" 1700000000000 \"", "/notBefore", 1700000000000LL},
        {"\"notAfter\":\"9223372036854775807\"", "/notAfter", 9223372036854775807LL},
        {"\"notAfter\":1700000000000", "/notAfter", 1700000000000LL},
        {"\"notAfter\":1700000000000.0", "/notAfter", 1700000000000LL},
    };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        char fault[256];
        snprintf(fault, sizeof fault, "{\"kind\":\"raw-timestamps\",\"endpoint\":\"sessions.create\",%s}", good[i].fault);
        CHECK(emulator_add_fault(&emu, fault));
        out = NULL;
        CHECK_STATUS(passauth_session_create(client, DEVICE, SESSION_PARAMS, &out), PASSAUTH_OK);
        long long value = -1;
        if (out) CHECK_MSG(passauth_json_get_int64(out, good[i].pointer, &value) == PASSAUTH_OK && value == good[i].expected,
                           "%s: %s is %lld in %.300s", good[i].fault, good[i].pointer, value, out);
        passauth_free(out);
    }
    /* and the same rule on a profiles answer */
    CHECK(harness_login_device(&emu, DEVICE_ID, "Cablevision"));
    CHECK(emulator_add_fault(&emu, "{\"kind\":\"raw-timestamps\",\"endpoint\":\"profiles.mvpd\",\"notAfter\":\"soon\"}"));
    out = NULL;
    CHECK_STATUS(passauth_profile_for_mvpd(client, DEVICE, "Cablevision", &out), PASSAUTH_E_PROTOCOL);
    passauth_free(out);
    passauth_client_free(client);
}

/* --- 7. decisions matched by resource id ------------------------------------------------------------ */

static void check_decisions_follow(const char *result, const char *const *resources, size_t n, const char *denied, const char *what) {
    size_t count = 0;
    CHECK_MSG(passauth_json_count(result, "/decisions", &count) == PASSAUTH_OK && count == n, "%s: %zu decisions for %zu resources", what, count, n);
    for (size_t i = 0; i < n && i < count; i++) {
        char pointer[64];
        char *resource = NULL;
        int authorized = -1;
        snprintf(pointer, sizeof pointer, "/decisions/%zu/resource", i);
        passauth_json_get_string(result, pointer, &resource);
        snprintf(pointer, sizeof pointer, "/decisions/%zu/authorized", i);
        passauth_json_get_bool(result, pointer, &authorized);
        CHECK_MSG(same(resource, resources[i]), "%s: decision %zu is for '%s', expected '%s'", what, i, resource ? resource : "(none)", resources[i]);
        CHECK_MSG(authorized == (same(resources[i], denied) ? 0 : 1), "%s: decision %zu (%s) authorized %d", what, i, resources[i], authorized);
        passauth_free(resource);
    }
}

static void test_decisions_matched_by_id(void) {
    passauth_client *client = fresh_client("\"logLevel\":\"none\",\"pacing\":false,\"preauthorizeBatchSize\":10,\"authorizeBatchSize\":4");
    if (!client) return;
    CHECK(emulator_configure(&emu, "{\"maxResourcesPreauthorize\":10,\"maxResourcesAuthorize\":4,\"denyRules\":[{\"resource\":\"res-b\"}]}"));
    CHECK(harness_login_device(&emu, DEVICE_ID, "Cablevision"));
    const char *resources[] = {"REF30", "res-a", "res-b", "REF40", "res-c"};
    const char *list = "[\"REF30\",\"res-a\",\"res-b\",\"REF40\",\"res-c\"]";
    char *out = NULL;

    CHECK(emulator_add_fault(&emu, "{\"kind\":\"reverse-decisions\",\"endpoint\":\"decisions.preauthorize\"}"));
    CHECK_STATUS(passauth_preauthorize(client, DEVICE, "Cablevision", list, &out), PASSAUTH_OK);
    CHECK_MSG(requests_of("decisions.preauthorize") == 1, "preauthorize made %ld requests", requests_of("decisions.preauthorize"));
    if (out) check_decisions_follow(out, resources, 5, "res-b", "preauthorize, reversed");
    passauth_free(out);
    out = NULL;

    /* authorize: 4 per request, so a reversed batch of 4 and one of 1, merged */
    CHECK(emulator_add_fault(&emu, "{\"kind\":\"reverse-decisions\",\"endpoint\":\"decisions.authorize\",\"count\":2}"));
    CHECK_STATUS(passauth_authorize(client, DEVICE, "Cablevision", list, &out), PASSAUTH_OK);
    CHECK_MSG(requests_of("decisions.authorize") == 2, "authorize made %ld requests", requests_of("decisions.authorize"));
    if (out) check_decisions_follow(out, resources, 5, "res-b", "authorize, reversed");
    passauth_free(out);
    out = NULL;

    /* preauthorize again: the permits come from the cache, the deny is asked again, order kept */
    CHECK(emulator_add_fault(&emu, "{\"kind\":\"reverse-decisions\",\"endpoint\":\"decisions.preauthorize\"}"));
    const char *reordered[] = {"res-c", "res-b", "REF30", "res-a", "REF40", "res-d"};
    CHECK_STATUS(passauth_preauthorize(client, DEVICE, "Cablevision", "[\"res-c\",\"res-b\",\"REF30\",\"res-a\",\"REF40\",\"res-d\"]", &out),
                 PASSAUTH_OK);
    if (out) check_decisions_follow(out, reordered, 6, "res-b", "preauthorize, cache and reversed answer merged");
    passauth_free(out);
    passauth_client_free(client);
}

/* --- 8. clock skew ------------------------------------------------------------------------------ */

static void test_clock_skew(void) {
    passauth_client *client = fresh_client(NULL);
    if (!client) return;
    CHECK(emulator_configure(&emu, "{\"clockOffsetMs\":90000}"));
    CHECK(harness_login_device(&emu, DEVICE_ID, "Cablevision"));
    sleep_ms(1000);
    char *profiles = NULL;
    CHECK_STATUS(passauth_profiles(client, DEVICE, &profiles), PASSAUTH_OK);
    char *out = NULL;
    if (profiles) {
        CHECK_STATUS(passauth_profile_pick_for(client, profiles, &out), PASSAUTH_OK);
        passauth_free(out);
        out = NULL;
        /* the local clock is 90 s behind the profile's notBefore */
        CHECK_STATUS(passauth_profile_pick(profiles, &out), PASSAUTH_E_NOT_FOUND);
        passauth_free(out);
        out = NULL;
    }
    passauth_free(profiles);
    char *stats = NULL;
    CHECK_STATUS(passauth_stats(client, &stats), PASSAUTH_OK);
    long long offset = 0;
    if (stats) CHECK_STATUS(passauth_json_get_int64(stats, "/clockOffsetMs", &offset), PASSAUTH_OK);
    CHECK_MSG(offset >= 88500 && offset <= 91500, "clockOffsetMs %lld, expected about 90000", offset);
    passauth_free(stats);

    /* a code valid 3 s in service time: the poll ends EXPIRED after ~3 s, not 93 s */
    CHECK(emulator_configure(&emu, "{\"codeTtlSeconds\":3}"));
    char *code = new_code(client, OTHER_DEVICE);
    passauth_poll *poll = NULL;
    long long started = mono_ms();
    if (code) CHECK_STATUS(passauth_poll_start(client, OTHER_DEVICE, code, "{\"intervalMs\":60000}", NULL, NULL, &poll), PASSAUTH_OK);
    if (poll) {
        int status = passauth_poll_wait(poll, 10000, NULL);
        long long took = mono_ms() - started;
        CHECK_MSG(status == PASSAUTH_E_EXPIRED, "a code expiring in 3 s of service time: %s %s", passauth_status_name(status), passauth_last_error());
        CHECK_MSG(took >= 1500 && took <= 4500, "the poll ended after %lld ms", took);
        passauth_poll_free(poll);
    }
    passauth_free(code);

    /* the service 90 s behind: a code valid 3 s is not judged expired by the local clock */
    CHECK(emulator_configure(&emu, "{\"clockOffsetMs\":-90000,\"codeTtlSeconds\":3}"));
    char *session = NULL;
    CHECK_STATUS(passauth_session_create(client, OTHER_DEVICE, SESSION_PARAMS, &session), PASSAUTH_OK);
    code = NULL;
    if (session) CHECK_STATUS(passauth_json_get_string(session, "/code", &code), PASSAUTH_OK);
    passauth_free(session);
    poll = NULL;
    started = mono_ms();
    if (code) CHECK_STATUS(passauth_poll_start(client, OTHER_DEVICE, code, "{\"intervalMs\":3000}", NULL, NULL, &poll), PASSAUTH_OK);
    if (poll) {
        int status = passauth_poll_wait(poll, 10000, NULL);
        long long took = mono_ms() - started;
        CHECK_MSG(status == PASSAUTH_E_EXPIRED && took >= 1500, "service clock behind: %s after %lld ms %s", passauth_status_name(status), took,
                  passauth_last_error());
        passauth_poll_free(poll);
    }
    passauth_free(code);
    passauth_client_free(client);
}

int main(void) {
    signal(SIGPIPE, SIG_IGN);
    if (!emulator_start(&emu, "--no-throttle")) return 2;
    struct harness_case tests[] = {
        {"extreme_numbers", test_extreme_numbers},
        {"plain_http_guard", test_plain_http_guard},
        {"secrets_never_shown", test_secrets_never_shown},
        {"poll_ends_on_time", test_poll_ends_on_time},
        {"retry_after_http_date", test_retry_after_http_date},
        {"session_timestamps", test_session_timestamps},
        {"decisions_matched_by_id", test_decisions_matched_by_id},
        {"clock_skew", test_clock_skew},
        {NULL, NULL},
    };
    const char *only = getenv("PASSAUTH_TEST_ONLY");
    if (only) {
        for (struct harness_case *c = tests; c->name; c++) {
            if (strcmp(c->name, only) == 0) { tests[0] = *c; tests[1] = (struct harness_case){NULL, NULL}; break; }
        }
    }
    int rc = harness_run("safety", tests);
    emulator_stop(&emu);
    return rc;
}
