/* Server faults (issue 11): a table of fault kinds injected through the emulator's fault API, each
 * answered with the documented status (or a correct recovery), within a bounded time, with the
 * persistent store byte-for-byte unchanged (except where a documented token refresh rewrites it), and
 * without a secret in passauth_last_error(). The table (kind -> status) is printed as the test runs.
 * Two kinds need no emulator fault: "connection refused" (a closed loopback port) and "connect
 * timeout" (a loopback listener whose accept queue is full, so the SYN is never answered). No traffic
 * leaves the loopback interface. */
#include "harness.h"
#include "passauth.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static emulator emu;

#define DEVICE "{\"id\":\"tv-faults-1\"}"
#define DEVICE_ID "tv-faults-1"
#define TIMEOUT_MS 2000
#define CLIENT_EXTRA "\"logLevel\":\"none\",\"configurationCacheMs\":0,\"pacing\":false,\"timeoutMs\":2000,\"connectTimeoutMs\":500"
/* reset/close: libcurl itself resends once on a reused keep-alive connection that died, so a failure
 * needs more than 3 queued faults (the leftovers are cleared by the next reset). */
/* Any single call must end well within this (3 attempts, backoff, a 1 s throttle wait). */
#define MAX_CALL_MS 12000

enum call { AUTHORIZE, PREAUTHORIZE, CONFIGURATION, PROFILES, PROFILE_MVPD, SESSION, LOGOUT, REGISTER_FRESH };
static const char *call_names[] = {"authorize", "preauthorize", "configuration", "profiles", "profile_for_mvpd",
                                   "session_create", "logout", "register (fresh store)"};

struct fault_case {
    const char *kind;      /* the table's name of the fault */
    const char *fault;     /* the emulator fault JSON */
    enum call call;
    int expected;
    /* documented store writes: a 401 refreshes the stored access token; a successful profiles answer
     * refreshes the device's persisted profile */
    bool store_may_change;
};

#define F(kind_json, endpoint) "{\"kind\":" kind_json ",\"endpoint\":\"" endpoint "\""

static const struct fault_case cases[] = {
    {"reset (RST, every attempt)", F("\"reset\",\"count\":10", "decisions.authorize") "}", AUTHORIZE, PASSAUTH_E_TRANSPORT, false},
    {"reset once -> retried", F("\"reset\",\"count\":1", "decisions.authorize") "}", AUTHORIZE, PASSAUTH_OK, false},
    {"close (FIN, no answer)", F("\"close\",\"count\":10", "decisions.authorize") "}", AUTHORIZE, PASSAUTH_E_TRANSPORT, false},
    {"delay > timeoutMs (total timeout)", F("\"delay\",\"delayMs\":3500", "decisions.authorize") "}", AUTHORIZE, PASSAUTH_E_TIMEOUT, false},
    {"delay < timeoutMs", F("\"delay\",\"delayMs\":300", "decisions.authorize") "}", AUTHORIZE, PASSAUTH_OK, false},
    {"slow-drip beyond timeoutMs", F("\"slow-drip\",\"chunkBytes\":8,\"delayMs\":250", "decisions.authorize") "}", AUTHORIZE, PASSAUTH_E_TIMEOUT, false},
    {"slow-drip within timeoutMs", F("\"slow-drip\",\"chunkBytes\":64,\"delayMs\":5", "decisions.authorize") "}", AUTHORIZE, PASSAUTH_OK, false},
    {"http500 enhanced (every attempt)", F("\"http500\",\"count\":3", "decisions.authorize") "}", AUTHORIZE, PASSAUTH_E_SERVICE, false},
    {"http500 once -> retried", F("\"http500\",\"count\":1", "decisions.authorize") "}", AUTHORIZE, PASSAUTH_OK, false},
    {"http502 HTML (every attempt)", F("\"http502\",\"count\":3", "decisions.authorize") "}", AUTHORIZE, PASSAUTH_E_HTTP, false},
    {"http503 Retry-After once -> retried", F("\"http503\",\"count\":1,\"retryAfter\":1", "decisions.authorize") "}", AUTHORIZE, PASSAUTH_OK, false},
    {"http503 Retry-After > timeoutMs", F("\"http503\",\"count\":3,\"retryAfter\":30", "decisions.authorize") "}", AUTHORIZE, PASSAUTH_E_HTTP, false},
    {"http429 text/html once -> waited, retried", F("\"http429\",\"count\":1", "decisions.authorize") "}", AUTHORIZE, PASSAUTH_OK, false},
    {"http429 Retry-After > timeoutMs", F("\"http429\",\"count\":3,\"retryAfter\":60", "decisions.authorize") "}", AUTHORIZE, PASSAUTH_E_THROTTLED, false},
    {"http401 once -> token refreshed", F("\"http401\",\"count\":1", "decisions.authorize") "}", AUTHORIZE, PASSAUTH_OK, true},
    {"http401 twice in a row", F("\"http401\",\"count\":2", "decisions.authorize") "}", AUTHORIZE, PASSAUTH_E_UNAUTHORIZED, true},
    {"enhanced 403 action none", F("\"enhanced\",\"status\":403,\"code\":\"authorization_denied_by_mvpd\",\"action\":\"none\"", "decisions.authorize") "}", AUTHORIZE, PASSAUTH_E_SERVICE, false},
    {"status 404 empty body", F("\"status\",\"status\":404", "decisions.authorize") "}", AUTHORIZE, PASSAUTH_E_HTTP, false},
    {"invalid-json (cut off)", F("\"invalid-json\"", "decisions.authorize") "}", AUTHORIZE, PASSAUTH_E_PROTOCOL, false},
    {"truncated (short body, every attempt)", F("\"truncated\",\"count\":3", "decisions.authorize") "}", AUTHORIZE, PASSAUTH_E_TRANSPORT, false},
    {"empty200", F("\"empty200\"", "decisions.authorize") "}", AUTHORIZE, PASSAUTH_E_PROTOCOL, false},
    {"wrong-content-type (JSON as text/plain)", F("\"wrong-content-type\"", "decisions.authorize") "}", AUTHORIZE, PASSAUTH_OK, false},
    {"huge-body (20 MB > maxResponseBytes)", F("\"huge-body\"", "decisions.authorize") "}", AUTHORIZE, PASSAUTH_E_PROTOCOL, false},
    {"deep-json (10,000 levels)", F("\"deep-json\"", "decisions.authorize") "}", AUTHORIZE, PASSAUTH_E_PROTOCOL, false},
    {"invalid-utf8", F("\"invalid-utf8\"", "decisions.authorize") "}", AUTHORIZE, PASSAUTH_E_PROTOCOL, false},
    {"redirect to a foreign host", F("\"redirect\"", "decisions.authorize") "}", AUTHORIZE, PASSAUTH_E_HTTP, false},
    {"echo-request (credentials reflected)", F("\"echo-request\",\"status\":400", "decisions.authorize") "}", AUTHORIZE, PASSAUTH_E_HTTP, false},
    {"missing-fields (decisions)", F("\"missing-fields\"", "decisions.authorize") "}", AUTHORIZE, PASSAUTH_E_PROTOCOL, false},
    {"wrong-types (decisions)", F("\"wrong-types\"", "decisions.authorize") "}", AUTHORIZE, PASSAUTH_E_PROTOCOL, false},
    {"string-timestamps (decisions)", F("\"string-timestamps\"", "decisions.authorize") "}", AUTHORIZE, PASSAUTH_OK, false},
    {"extra-fields (decisions)", F("\"extra-fields\"", "decisions.authorize") "}", AUTHORIZE, PASSAUTH_OK, false},
    {"missing-fields (preauthorize)", F("\"missing-fields\"", "decisions.preauthorize") "}", PREAUTHORIZE, PASSAUTH_E_PROTOCOL, false},
    {"wrong-types (configuration)", F("\"wrong-types\"", "configuration") "}", CONFIGURATION, PASSAUTH_E_PROTOCOL, false},
    {"invalid-json (configuration)", F("\"invalid-json\"", "configuration") "}", CONFIGURATION, PASSAUTH_E_PROTOCOL, false},
    {"extra-fields (configuration)", F("\"extra-fields\"", "configuration") "}", CONFIGURATION, PASSAUTH_OK, false},
    /* Adobe's OpenAPI files mark "profiles" and "logouts" optional: absent, there is no profile / nothing to do. */
    {"missing-fields (profiles: optional, none)", F("\"missing-fields\"", "profiles") "}", PROFILES, PASSAUTH_OK, false},
    {"wrong-types (profiles)", F("\"wrong-types\"", "profiles") "}", PROFILES, PASSAUTH_E_PROTOCOL, false},
    {"string-timestamps (profile_for_mvpd)", F("\"string-timestamps\"", "profiles.mvpd") "}", PROFILE_MVPD, PASSAUTH_OK, true},
    {"missing-fields (sessions)", F("\"missing-fields\"", "sessions.create") "}", SESSION, PASSAUTH_E_PROTOCOL, false},
    {"wrong-types (sessions)", F("\"wrong-types\"", "sessions.create") "}", SESSION, PASSAUTH_E_PROTOCOL, false},
    {"missing-fields (logout: optional, nothing to do)", F("\"missing-fields\"", "logout") "}", LOGOUT, PASSAUTH_OK, false},
    {"missing-fields (token)", F("\"missing-fields\"", "token") "}", REGISTER_FRESH, PASSAUTH_E_PROTOCOL, true},
    {"http503 on register (every attempt)", F("\"http503\",\"count\":3,\"retryAfter\":1", "register") "}", REGISTER_FRESH, PASSAUTH_E_HTTP, false},
    {"invalid-json on register", F("\"invalid-json\"", "register") "}", REGISTER_FRESH, PASSAUTH_E_PROTOCOL, false},
    {NULL, NULL, 0, 0, false},
};

/* --- helpers -------------------------------------------------------------------------------- */

static long now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000L + t.tv_nsec / 1000000L;
}

/* The concatenated bytes of the store directory's *.json files ("" when there are none). */
static char *store_snapshot(const char *dir) {
    char *all = calloc(1, 1);
    size_t len = 0;
    DIR *d = opendir(dir);
    if (!d) return all;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n < 5 || strcmp(e->d_name + n - 5, ".json") != 0) continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "rb");
        if (!f) continue;
        char buf[4096];
        size_t got;
        while ((got = fread(buf, 1, sizeof buf, f)) > 0) {
            all = realloc(all, len + got + 1);
            memcpy(all + len, buf, got);
            len += got;
            all[len] = 0;
        }
        fclose(f);
    }
    closedir(d);
    return all;
}

/* Secrets the emulator saw (bearer token, client secret): none may appear in the last error. */
static void check_no_secret_in_last_error(void) {
    json_t *log = emulator_get(&emu, "/_emulator/requests");
    json_t *requests = json_object_get(log, "requests");
    const char *err = passauth_last_error();
    size_t i;
    json_t *r;
    json_array_foreach(requests, i, r) {
        const char *auth = json_string_value(json_object_get(json_object_get(r, "headers"), "authorization"));
        if (auth && strncmp(auth, "Bearer ", 7) == 0 && strlen(auth + 7) >= 6)
            CHECK_MSG(strstr(err, auth + 7) == NULL, "access token in last error: %s", err);
        const char *body = json_string_value(json_object_get(r, "body"));
        const char *secret = body ? strstr(body, "client_secret=") : NULL;
        if (secret) {
            char value[256];
            snprintf(value, sizeof value, "%s", secret + strlen("client_secret="));
            value[strcspn(value, "&")] = 0;
            if (strlen(value) >= 6) CHECK_MSG(strstr(err, value) == NULL, "client secret in last error: %s", err);
        }
    }
    json_decref(log);
}

static int run_call(passauth_client *client, enum call call, char **out) {
    switch (call) {
    case AUTHORIZE: return passauth_authorize(client, DEVICE, "Cablevision", "[\"REF30\"]", out);
    case PREAUTHORIZE: return passauth_preauthorize(client, DEVICE, "Cablevision", "[\"REF30\"]", out);
    case CONFIGURATION: return passauth_configuration(client, DEVICE, out);
    case PROFILES: return passauth_profiles(client, DEVICE, out);
    case PROFILE_MVPD: return passauth_profile_for_mvpd(client, DEVICE, "Cablevision", out);
    case SESSION: return passauth_session_create(client, DEVICE, "{\"mvpd\":\"Cablevision\",\"domainName\":\"adobe.com\",\"redirectUrl\":\"https://adobe.com\"}", out);
    case LOGOUT: return passauth_logout(client, DEVICE, "Cablevision", "https://adobe.com", out);
    case REGISTER_FRESH: return passauth_register(client, out);
    }
    return -100;
}

static void print_row(const char *kind, const char *call, int expected, int got, long ms) {
    printf("  fault %-44s %-24s -> %-26s (expected %s) %5ld ms\n", kind, call, passauth_status_name(got),
           passauth_status_name(expected), ms);
    fflush(stdout);
}

static void run_case(const struct fault_case *c) {
    json_decref(emulator_post(&emu, "/_emulator/reset", NULL));
    const char *store = harness_temp_dir();
    char *config = harness_config(&emu, store, CLIENT_EXTRA);
    passauth_client *client = NULL;
    CHECK_STATUS(passauth_client_new(config, &client), PASSAUTH_OK);
    free(config);
    if (!client) return;
    if (c->call != REGISTER_FRESH) {
        char *reg = NULL;
        CHECK_STATUS(passauth_register(client, &reg), PASSAUTH_OK);
        passauth_free(reg);
        CHECK(harness_login_device(&emu, DEVICE_ID, "Cablevision"));
    }
    char *before = store_snapshot(store);
    CHECK(emulator_add_fault(&emu, c->fault));

    char *out = NULL;
    long start = now_ms();
    int status = run_call(client, c->call, &out);
    long elapsed = now_ms() - start;
    print_row(c->kind, call_names[c->call], c->expected, status, elapsed);
    CHECK_MSG(status == c->expected, "%s: %s returned %s, expected %s; last error: %s", c->kind, call_names[c->call],
              passauth_status_name(status), passauth_status_name(c->expected), passauth_last_error());
    CHECK_MSG(elapsed < MAX_CALL_MS, "%s took %ld ms", c->kind, elapsed);
    if (status == PASSAUTH_OK) {
        json_t *doc = harness_parse(out);
        CHECK_MSG(doc != NULL, "%s: result is not JSON", c->kind);
        json_decref(doc);
    } else {
        CHECK_MSG(out == NULL, "%s: output set on failure", c->kind);
        json_t *err = harness_parse(passauth_last_error());
        CHECK_MSG(err && json_integer_value(json_object_get(err, "status")) == status, "%s: last error %s", c->kind,
                  passauth_last_error());
        json_decref(err);
        check_no_secret_in_last_error();
    }
    passauth_free(out);

    char *after = store_snapshot(store);
    if (!c->store_may_change)
        CHECK_MSG(strcmp(before, after) == 0, "%s: the store changed:\n      before %s\n      after  %s", c->kind, before, after);
    free(before);
    free(after);

    /* The client still works once the fault is gone (no poisoned state). */
    json_decref(emulator_post(&emu, "/_emulator/reset", NULL));
    CHECK(harness_login_device(&emu, DEVICE_ID, "Cablevision"));
    passauth_client_free(client);
}

static void test_fault_table(void) {
    int n = 0;
    for (const struct fault_case *c = cases; c->kind; c++, n++) run_case(c);
    printf("  %d emulator fault cases\n", n);
}

/* A closed loopback port: connect() is refused at once; transport failures are retried, then surface. */
static void test_connection_refused(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    CHECK(bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && getsockname(fd, (struct sockaddr *)&a, &len) == 0);
    int port = ntohs(a.sin_port);
    close(fd); /* bound, never listened, now closed: nothing answers on this port */
    char config[1024];
    snprintf(config, sizeof config,
             "{\"baseUrl\":\"http://127.0.0.1:%d\",\"serviceProvider\":\"REF30\",\"softwareStatement\":\"%s\",\"store\":\"%s\","
             "\"device\":{\"id\":\"" DEVICE_ID "\"}," CLIENT_EXTRA "}",
             port, HARNESS_SOFTWARE_STATEMENT, harness_temp_dir());
    passauth_client *client = NULL;
    CHECK_STATUS(passauth_client_new(config, &client), PASSAUTH_OK);
    char *out = NULL;
    long start = now_ms();
    int status = passauth_authorize(client, DEVICE, "Cablevision", "[\"REF30\"]", &out);
    long elapsed = now_ms() - start;
    print_row("connection refused (closed port)", "authorize", PASSAUTH_E_TRANSPORT, status, elapsed);
    CHECK_STATUS(status, PASSAUTH_E_TRANSPORT);
    CHECK(out == NULL && elapsed < MAX_CALL_MS);
    passauth_client_free(client);
}

/* A loopback listener that never accepts, with its accept queue filled first: the kernel drops the
 * library's SYN, so the connect phase never completes and connectTimeoutMs (500) ends it. */
static void test_connect_timeout(void) {
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    CHECK(bind(lfd, (struct sockaddr *)&a, sizeof a) == 0 && listen(lfd, 0) == 0 &&
          getsockname(lfd, (struct sockaddr *)&a, &len) == 0);
    int fillers[4];
    for (int i = 0; i < 4; i++) {
        fillers[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        (void)connect(fillers[i], (struct sockaddr *)&a, sizeof a);
    }
    usleep(100 * 1000);
    char config[1024];
    snprintf(config, sizeof config,
             "{\"baseUrl\":\"http://127.0.0.1:%d\",\"serviceProvider\":\"REF30\",\"softwareStatement\":\"%s\",\"store\":\"%s\","
             "\"device\":{\"id\":\"" DEVICE_ID "\"}," CLIENT_EXTRA "}",
             ntohs(a.sin_port), HARNESS_SOFTWARE_STATEMENT, harness_temp_dir());
    passauth_client *client = NULL;
    CHECK_STATUS(passauth_client_new(config, &client), PASSAUTH_OK);
    char *out = NULL;
    long start = now_ms();
    int status = passauth_register(client, &out);
    long elapsed = now_ms() - start;
    print_row("connect timeout (accept queue full)", "register", PASSAUTH_E_TIMEOUT, status, elapsed);
    CHECK_STATUS(status, PASSAUTH_E_TIMEOUT);
    CHECK_MSG(elapsed < 3 * TIMEOUT_MS, "connect timeout took %ld ms", elapsed);
    passauth_client_free(client);
    for (int i = 0; i < 4; i++) close(fillers[i]);
    close(lfd);
}

int main(void) {
    if (!emulator_start(&emu, "--no-throttle")) return 2;
    printf("fault table (kind, call -> status):\n");
    struct harness_case tests[] = {
        {"fault_table", test_fault_table},
        {"connection_refused", test_connection_refused},
        {"connect_timeout", test_connect_timeout},
        {NULL, NULL},
    };
    int rc = harness_run("faults", tests);
    emulator_stop(&emu);
    return rc;
}
