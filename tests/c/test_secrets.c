/* Secrets (issue 11): the whole journey at logLevel "trace" with stderr captured; no client secret,
 * access token, media token or SSO token (subjectToken, serviceToken) appears in the logs, in any
 * passauth_last_error(), in passauth_stats() or in the non-secret results, even when a hostile server
 * echoes the request (credentials included) back. The secrets are taken from the emulator's request log
 * (what actually went over the wire) and from the authorize result. Also: the store file is 0600 in a
 * 0700 directory; TLS is verified by default (the emulator's self-signed certificate fails without
 * caFile and passes with it); plain http to a non-loopback host is refused (see also
 * test_registration.c and Tests/PassAuthCoreTests/ConfigurationTests.swift insecureHttpNeedsConsent).
 * The same for the passauth command's stdout and stderr: tests/cli/test_cli_secrets.py. */
#include "harness.h"
#include "passauth.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static emulator emu;

#define SUBJECT_TOKEN "subject-token-SECRET-eyJzdWIiOiJ1c2VyLTEifQ"
#define SERVICE_TOKEN "service-token-SECRET-0123456789abcdef"
#define DEVICE "{\"id\":\"tv-secrets-1\",\"subjectToken\":\"" SUBJECT_TOKEN "\",\"serviceToken\":\"" SERVICE_TOKEN "\"}"
#define PLAIN_DEVICE "{\"id\":\"tv-secrets-1\"}"

/* Everything the library said that is not a secret-bearing result: last errors, stats, results. */
static char *said;
static size_t said_len;

static void keep(const char *text) {
    if (!text) return;
    size_t n = strlen(text);
    said = realloc(said, said_len + n + 2);
    memcpy(said + said_len, text, n);
    said_len += n;
    said[said_len++] = '\n';
    said[said_len] = 0;
}

static char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return strdup("");
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc((size_t)n + 1);
    size_t got = fread(text, 1, (size_t)n, f);
    text[got] = 0;
    fclose(f);
    return text;
}

/* Calls that keep their result (non-secret) and the last error. */
#define KEEP_CALL(expr) do { char *_o = NULL; int _s = (expr); keep(_o); keep(passauth_last_error()); \
    passauth_free(_o); (void)_s; } while (0)

static void test_journey_at_trace_leaks_nothing(void) {
    char log_path[700];
    const char *store = harness_temp_dir();
    snprintf(log_path, sizeof log_path, "%s.stderr", store);
    json_decref(emulator_post(&emu, "/_emulator/reset", NULL));

    /* stderr -> a file for the whole journey (the library writes its log lines to fd 2) */
    fflush(stderr);
    int saved = dup(2);
    int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 2);
    close(fd);

    char *config = harness_config(&emu, store, "\"logLevel\":\"trace\",\"pacing\":false");
    passauth_client *client = NULL;
    int status = passauth_client_new(config, &client);
    free(config);
    char *media_token = NULL;
    if (status == PASSAUTH_OK) {
        KEEP_CALL(passauth_register(client, &_o));
        KEEP_CALL(passauth_configuration(client, DEVICE, &_o));
        KEEP_CALL(passauth_mvpd_select(client, DEVICE, "{\"id\":\"Cablevision\",\"displayName\":\"Optimum\"}"));
        char *session = NULL;
        passauth_session_create(client, PLAIN_DEVICE,
                                "{\"mvpd\":\"Cablevision\",\"domainName\":\"adobe.com\",\"redirectUrl\":\"https://adobe.com\"}",
                                &session);
        keep(session);
        json_t *s = harness_parse(session);
        const char *code = json_string_value(json_object_get(s, "code"));
        if (code) {
            char body[256];
            snprintf(body, sizeof body, "{\"code\":\"%s\"}", code);
            json_decref(emulator_post(&emu, "/_emulator/login", body));
            KEEP_CALL(passauth_session_get(client, PLAIN_DEVICE, code, &_o));
            KEEP_CALL(passauth_profile_for_code(client, PLAIN_DEVICE, code, &_o));
        }
        json_decref(s);
        passauth_free(session);
        /* SSO tokens travel on these calls */
        KEEP_CALL(passauth_session_create(client, DEVICE, "{\"mvpd\":\"Spectrum\",\"domainName\":\"adobe.com\",\"redirectUrl\":\"https://adobe.com\"}", &_o));
        KEEP_CALL(passauth_profiles(client, DEVICE, &_o));
        KEEP_CALL(passauth_profile_for_mvpd(client, DEVICE, "Cablevision", &_o));
        KEEP_CALL(passauth_preauthorize(client, DEVICE, "Cablevision", "[\"REF30\",\"REF40\"]", &_o));
        /* authorize: its result holds the media token (a secret the caller gets); keep only the token */
        char *out = NULL;
        if (passauth_authorize(client, DEVICE, "Cablevision", "[\"REF30\"]", &out) == PASSAUTH_OK) {
            json_t *doc = harness_parse(out);
            const char *t = json_string_value(json_object_get(json_object_get(json_array_get(json_object_get(doc, "decisions"), 0), "token"), "serializedToken"));
            if (t) media_token = strdup(t);
            json_decref(doc);
        }
        passauth_free(out);
        keep(passauth_last_error());
        /* a hostile server reflects the request, Authorization header and SSO headers included */
        emulator_add_fault(&emu, "{\"kind\":\"echo-request\",\"status\":400,\"endpoint\":\"decisions.authorize\"}");
        KEEP_CALL(passauth_authorize(client, DEVICE, "Cablevision", "[\"REF30\"]", &_o));
        emulator_add_fault(&emu, "{\"kind\":\"echo-request\",\"status\":500,\"count\":3,\"endpoint\":\"profiles\"}");
        KEEP_CALL(passauth_profiles(client, DEVICE, &_o));
        /* ...and the token request (the client secret in its body) */
        json_decref(emulator_post(&emu, "/_emulator/expire-tokens", NULL));
        emulator_add_fault(&emu, "{\"kind\":\"http401\",\"endpoint\":\"profiles\"}");
        emulator_add_fault(&emu, "{\"kind\":\"echo-request\",\"status\":400,\"endpoint\":\"token\"}");
        KEEP_CALL(passauth_profiles(client, DEVICE, &_o));
        KEEP_CALL(passauth_logout(client, DEVICE, "Cablevision", "https://adobe.com", &_o));
        KEEP_CALL(passauth_stats(client, &_o));
        passauth_client_free(client);
    }

    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    CHECK_STATUS(status, PASSAUTH_OK);

    char *log = read_file(log_path);
    CHECK_MSG(strstr(log, "passauth[debug]") && strstr(log, "decisions.authorize") && strstr(log, "passauth[trace]"),
              "the trace log says nothing useful:\n%.400s", log);

    /* the secrets, as they went over the wire */
    json_t *request_log = emulator_get(&emu, "/_emulator/requests");
    json_t *requests = json_object_get(request_log, "requests");
    int secrets = 0;
    char *found[64];
    size_t i;
    json_t *r;
    json_array_foreach(requests, i, r) {
        json_t *h = json_object_get(r, "headers");
        const char *auth = json_string_value(json_object_get(h, "authorization"));
        if (auth && strncmp(auth, "Bearer ", 7) == 0 && secrets < 60) found[secrets++] = strdup(auth + 7);
        const char *body = json_string_value(json_object_get(r, "body"));
        const char *cs = body ? strstr(body, "client_secret=") : NULL;
        if (cs && secrets < 60) {
            char *v = strdup(cs + strlen("client_secret="));
            v[strcspn(v, "&")] = 0;
            found[secrets++] = v;
        }
    }
    json_decref(request_log);
    found[secrets++] = strdup(SUBJECT_TOKEN);
    found[secrets++] = strdup(SERVICE_TOKEN);
    CHECK_MSG(media_token != NULL, "no media token from authorize");
    if (media_token) found[secrets++] = media_token;
    CHECK_MSG(secrets >= 5, "only %d secrets collected", secrets);
    for (int k = 0; k < secrets; k++) {
        if (strlen(found[k]) < 6) continue;
        CHECK_MSG(strstr(log, found[k]) == NULL, "secret #%d (%.6s...) in the log", k, found[k]);
        CHECK_MSG(strstr(said, found[k]) == NULL, "secret #%d (%.6s...) in an error, result or stats", k, found[k]);
        free(found[k]);
    }
    printf("  %d secrets checked against %zu log bytes and %zu bytes of errors/results/stats\n", secrets, strlen(log), said_len);
    free(log);
    free(said);
    said = NULL;
    said_len = 0;
}

static void test_store_file_modes(void) {
    json_decref(emulator_post(&emu, "/_emulator/reset", NULL));
    const char *store = harness_temp_dir();
    char *config = harness_config(&emu, store, "\"logLevel\":\"none\"");
    char *config_for_modes = strdup(config);
    passauth_client *client = NULL;
    CHECK_STATUS(passauth_client_new(config, &client), PASSAUTH_OK);
    free(config);
    char *out = NULL;
    mode_t old = umask(0); /* the most permissive umask: the library must not rely on the caller's */
    CHECK_STATUS(passauth_register(client, &out), PASSAUTH_OK);
    umask(old);
    passauth_free(out);
    passauth_client_free(client);
    old = umask(0);
    struct stat st = {0};
    char path[800];
    bool found;
    /* The database and its WAL files (they exist while a connection is open: check with a client open) */
    CHECK_STATUS(passauth_client_new(config_for_modes, &client), PASSAUTH_OK);
    CHECK_STATUS(passauth_mvpd_select(client, NULL, "{\"id\":\"Cablevision\"}"), PASSAUTH_OK);
    static const char *files[] = {"passauth.sqlite3", "passauth.sqlite3-wal", "passauth.sqlite3-shm", "passauth.sqlite3.lock"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", store, files[i]);
        /* stat first: CHECK_MSG formats its message before it evaluates the condition */
        found = stat(path, &st) == 0;
        CHECK_MSG(found && (st.st_mode & 0777) == 0600, "%.300s mode %o", path, st.st_mode & 0777);
    }
    passauth_client_free(client);
    free(config_for_modes);
    umask(old);
    found = stat(store, &st) == 0;
    CHECK_MSG(found && (st.st_mode & 0777) == 0700, "%s mode %o", store, st.st_mode & 0777);
}

static void test_tls_verified_by_default(void) {
    emulator tls;
    if (!CHECK(emulator_start(&tls, "--tls --no-throttle"))) return;
    CHECK(strncmp(tls.base_url, "https://", 8) == 0 && tls.ca_file[0]);
    char *config = harness_config(&tls, harness_temp_dir(), "\"logLevel\":\"none\"");
    passauth_client *client = NULL;
    CHECK_STATUS(passauth_client_new(config, &client), PASSAUTH_OK);
    free(config);
    char *out = NULL;
    CHECK_STATUS(passauth_register(client, &out), PASSAUTH_E_TRANSPORT);
    CHECK_MSG(strstr(passauth_last_error(), "TLS") != NULL, "%s", passauth_last_error());
    passauth_client_free(client);

    char extra[1200];
    snprintf(extra, sizeof extra, "\"logLevel\":\"none\",\"caFile\":\"%s\"", tls.ca_file);
    config = harness_config(&tls, harness_temp_dir(), extra);
    CHECK_STATUS(passauth_client_new(config, &client), PASSAUTH_OK);
    free(config);
    CHECK_STATUS(passauth_register(client, &out), PASSAUTH_OK);
    passauth_free(out);
    passauth_client_free(client);
    emulator_stop(&tls);
}

static void test_plain_http_refused_off_loopback(void) {
    passauth_client *client = NULL;
    char config[1024];
    snprintf(config, sizeof config,
             "{\"baseUrl\":\"http://pass.example.com\",\"serviceProvider\":\"REF30\",\"softwareStatement\":\"%s\",\"store\":\"%s\"}",
             HARNESS_SOFTWARE_STATEMENT, harness_temp_dir());
    CHECK_STATUS(passauth_client_new(config, &client), PASSAUTH_E_INVALID_ARGUMENT);
    CHECK(client == NULL && strstr(passauth_last_error(), "baseUrl") != NULL);
}

int main(void) {
    if (!emulator_start(&emu, "--no-throttle")) return 2;
    struct harness_case tests[] = {
        {"journey_at_trace_leaks_nothing", test_journey_at_trace_leaks_nothing},
        {"store_file_modes", test_store_file_modes},
        {"tls_verified_by_default", test_tls_verified_by_default},
        {"plain_http_refused_off_loopback", test_plain_http_refused_off_loopback},
        {NULL, NULL},
    };
    int rc = harness_run("secrets", tests);
    emulator_stop(&emu);
    return rc;
}
