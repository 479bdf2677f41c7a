/* The 0.2 additions to the C ABI, as a C caller meets them: PASSAUTH_PENDING against a poll's own
 * timeout, passauth_error_last() (fields after a service and a validation error, thread-locality,
 * untouched by successes and by PENDING) and passauth_last_error() as its JSON, the JSON Pointer
 * getters on real results (escapes, not-found, wrong types, counts), passauth_poll_info, the log
 * callback (lines, levels, no secret, back to stderr), passauth_qr_code, and the version macros
 * against the loaded library. Results are read with the library's getters only; jansson is used for
 * the emulator's control API alone. */
#include "harness.h"
#include "passauth.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static emulator emu;

#define DEVICE_ID "device-1" /* harness_config's default device */
#define SESSION_PARAMS "{\"mvpd\":\"Cablevision\",\"domainName\":\"adobe.com\",\"redirectUrl\":\"https://adobe.com\"}"

static passauth_client *fresh_client(const char *extra) {
    json_decref(emulator_post(&emu, "/_emulator/reset", NULL));
    char *config = harness_config(&emu, harness_temp_dir(), extra ? extra : "\"logLevel\":\"none\"");
    passauth_client *client = NULL;
    CHECK_STATUS(passauth_client_new(config, &client), PASSAUTH_OK);
    free(config);
    return client;
}

static long long now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return t.tv_sec * 1000LL + t.tv_nsec / 1000000;
}

static long long mono_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000LL + t.tv_nsec / 1000000;
}

static bool same(const char *a, const char *b) { return a && b && strcmp(a, b) == 0; }

/* The string at `pointer` (caller frees with passauth_free), or NULL. */
static char *string_at(const char *json, const char *pointer) {
    char *out = NULL;
    return passauth_json_get_string(json, pointer, &out) == PASSAUTH_OK ? out : NULL;
}

static bool string_is(const char *json, const char *pointer, const char *expected) {
    char *value = string_at(json, pointer);
    bool ok = same(value, expected);
    passauth_free(value);
    return ok;
}

static long long int_at(const char *json, const char *pointer) {
    long long out = -12345;
    passauth_json_get_int64(json, pointer, &out);
    return out;
}

/* A session's code (caller frees). */
static char *new_code(passauth_client *client) {
    char *session = NULL;
    CHECK_STATUS(passauth_session_create(client, NULL, SESSION_PARAMS, &session), PASSAUTH_OK);
    char *code = string_at(session, "/code");
    CHECK(code != NULL);
    passauth_free(session);
    return code;
}

/* --- versions ---------------------------------------------------------------------------------- */

static void test_version_macros(void) {
    CHECK(PASSAUTH_VERSION_NUMBER == PASSAUTH_VERSION_MAJOR * 1000000 + PASSAUTH_VERSION_MINOR * 1000 + PASSAUTH_VERSION_PATCH);
    CHECK_MSG(passauth_version_number() == PASSAUTH_VERSION_NUMBER, "library %d, header %d", passauth_version_number(),
              PASSAUTH_VERSION_NUMBER);
    CHECK_MSG(same(passauth_version(), PASSAUTH_VERSION_STRING), "library %s, header %s", passauth_version(), PASSAUTH_VERSION_STRING);
    char expected[32];
    snprintf(expected, sizeof expected, "%d.%d.%d", PASSAUTH_VERSION_MAJOR, PASSAUTH_VERSION_MINOR, PASSAUTH_VERSION_PATCH);
    CHECK(same(PASSAUTH_VERSION_STRING, expected));
    CHECK(PASSAUTH_VERSION_CHECK(0, 0, 0));
    CHECK(PASSAUTH_VERSION_CHECK(PASSAUTH_VERSION_MAJOR, PASSAUTH_VERSION_MINOR, PASSAUTH_VERSION_PATCH));
    CHECK(!PASSAUTH_VERSION_CHECK(PASSAUTH_VERSION_MAJOR, PASSAUTH_VERSION_MINOR, PASSAUTH_VERSION_PATCH + 1));
    CHECK(!PASSAUTH_VERSION_CHECK(PASSAUTH_VERSION_MAJOR, PASSAUTH_VERSION_MINOR + 1, 0));
    CHECK(!PASSAUTH_VERSION_CHECK(PASSAUTH_VERSION_MAJOR + 1, 0, 0));
    CHECK(same(passauth_status_name(PASSAUTH_PENDING), "PASSAUTH_PENDING"));
    CHECK(same(passauth_status_name(PASSAUTH_E_NOT_FOUND), "PASSAUTH_E_NOT_FOUND"));
    CHECK(same(passauth_status_name(42), "PASSAUTH_E_UNKNOWN"));
}

/* --- passauth_error_last ------------------------------------------------------------------------ */

static void *fresh_thread_record(void *unused) {
    (void)unused;
    const passauth_error *e = passauth_error_last();
    bool ok = e && e->status == PASSAUTH_OK && same(e->name, "PASSAUTH_OK") && same(e->message, "no error") &&
              !e->code && !e->key && e->http_status == 0 && e->retry_after_ms == -1 && e->json;
    return ok ? (void *)1 : NULL;
}

static void test_error_before_any_failure(void) {
    pthread_t thread;
    void *ok = NULL;
    pthread_create(&thread, NULL, fresh_thread_record, NULL);
    pthread_join(thread, &ok);
    CHECK_MSG(ok != NULL, "a new thread's record is not {0, PASSAUTH_OK, \"no error\"}");
}

static void test_error_after_validation_error(void) {
    passauth_client *client = NULL;
    CHECK_STATUS(passauth_client_new("{\"softwareStatement\":\"x\"}", &client), PASSAUTH_E_INVALID_ARGUMENT);
    CHECK(client == NULL);
    const passauth_error *e = passauth_error_last();
    CHECK(e->status == PASSAUTH_E_INVALID_ARGUMENT && same(e->name, "PASSAUTH_E_INVALID_ARGUMENT"));
    CHECK_MSG(same(e->key, "serviceProvider"), "key %s", e->key ? e->key : "(null)");
    CHECK(e->message && strstr(e->message, "serviceProvider"));
    CHECK(e->code == NULL && e->action == NULL && e->endpoint == NULL && e->trace == NULL && e->details == NULL);
    CHECK(e->http_status == 0 && e->retry_after_ms == -1);
    CHECK(same(passauth_last_error(), e->json));
    CHECK(int_at(e->json, "/status") == PASSAUTH_E_INVALID_ARGUMENT);
    CHECK(string_is(e->json, "/key", "serviceProvider"));

    /* a device without "id" on a call that needs one: the key names it */
    client = fresh_client(NULL);
    char *out = NULL;
    CHECK_STATUS(passauth_profiles(client, "{\"userAgent\":\"x\"}", &out), PASSAUTH_E_INVALID_ARGUMENT);
    CHECK_MSG(same(passauth_error_last()->key, "device.id"), "key %s", passauth_error_last()->key);
    passauth_client_free(client);
}

static void test_error_after_service_error(void) {
    passauth_client *client = fresh_client(NULL);
    char *out = (char *)"untouched";
    CHECK_STATUS(passauth_authorize(client, "{\"id\":\"never-logged-in\"}", "Spectrum", "[\"REF30\"]", &out), PASSAUTH_E_SERVICE);
    CHECK(same(out, "untouched"));
    const passauth_error *e = passauth_error_last();
    CHECK(e->status == PASSAUTH_E_SERVICE && same(e->name, "PASSAUTH_E_SERVICE"));
    CHECK_MSG(same(e->code, "authenticated_profile_missing"), "code %s", e->code ? e->code : "(null)");
    CHECK(same(e->action, "authentication"));
    CHECK_MSG(same(e->endpoint, "decisions.authorize"), "endpoint %s", e->endpoint ? e->endpoint : "(null)");
    CHECK(e->http_status == 403 && e->retry_after_ms == -1 && e->key == NULL);
    CHECK(e->trace && e->trace[0] && e->help_url && strncmp(e->help_url, "https://", 8) == 0);
    CHECK(e->message && e->message[0]);
    /* the JSON form is the same record */
    CHECK(same(passauth_last_error(), e->json));
    CHECK(int_at(e->json, "/status") == PASSAUTH_E_SERVICE && int_at(e->json, "/httpStatus") == 403);
    CHECK(string_is(e->json, "/code", "authenticated_profile_missing") && string_is(e->json, "/trace", e->trace));
    CHECK(string_is(e->json, "/statusName", "PASSAUTH_E_SERVICE") && string_is(e->json, "/message", e->message));

    /* a successful call leaves the record alone */
    const char *before = e->json;
    CHECK_STATUS(passauth_stats(client, &out), PASSAUTH_OK);
    passauth_free(out);
    CHECK(passauth_error_last() == e && passauth_error_last()->json == before);
    CHECK(passauth_error_last()->status == PASSAUTH_E_SERVICE);

    /* a throttled service: retryAfterMs */
    json_decref(emulator_post(&emu, "/_emulator/faults",
                              "{\"faults\":[{\"kind\":\"http429\",\"count\":5,\"retryAfter\":120,\"endpoint\":\"configuration\"}]}"));
    CHECK_STATUS(passauth_configuration(client, NULL, &out), PASSAUTH_E_THROTTLED);
    e = passauth_error_last();
    CHECK_MSG(e->retry_after_ms >= 100000, "retry_after_ms %lld", e->retry_after_ms);
    CHECK(e->http_status == 429 || e->http_status == 0);
    passauth_client_free(client);
}

struct thread_failure {
    const char *config;
    int status;
    char key[64];
    bool untouched_after_other_thread;
    pthread_barrier_t *barrier;
};

static void *fail_on_thread(void *arg) {
    struct thread_failure *t = arg;
    passauth_client *client = NULL;
    t->status = passauth_client_new(t->config, &client);
    const passauth_error *mine = passauth_error_last();
    pthread_barrier_wait(t->barrier); /* both threads have failed */
    pthread_barrier_wait(t->barrier); /* ...and the main thread failed too, differently */
    snprintf(t->key, sizeof t->key, "%s", mine->key ? mine->key : "");
    t->untouched_after_other_thread = passauth_error_last() == mine && mine->status == t->status;
    return NULL;
}

static void test_error_is_thread_local(void) {
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, 3);
    struct thread_failure a = {.config = "{\"softwareStatement\":\"x\"}", .barrier = &barrier};
    struct thread_failure b = {.config = "{\"serviceProvider\":\"REF30\"}", .barrier = &barrier};
    pthread_t ta, tb;
    pthread_create(&ta, NULL, fail_on_thread, &a);
    pthread_create(&tb, NULL, fail_on_thread, &b);
    pthread_barrier_wait(&barrier);
    passauth_client *client = NULL;
    CHECK_STATUS(passauth_client_new("[]", &client), PASSAUTH_E_INVALID_ARGUMENT); /* the main thread's own */
    pthread_barrier_wait(&barrier);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    pthread_barrier_destroy(&barrier);
    CHECK(a.status == PASSAUTH_E_INVALID_ARGUMENT && b.status == PASSAUTH_E_INVALID_ARGUMENT);
    CHECK_MSG(same(a.key, "serviceProvider"), "thread a: key %s", a.key);
    CHECK_MSG(same(b.key, "softwareStatement"), "thread b: key %s", b.key);
    CHECK(a.untouched_after_other_thread && b.untouched_after_other_thread);
    CHECK_MSG(same(passauth_error_last()->key, "config"), "main thread: key %s", passauth_error_last()->key);
}

/* --- PASSAUTH_PENDING and passauth_poll_info ----------------------------------------------------- */

static void test_pending_versus_poll_timeout(void) {
    passauth_client *client = fresh_client(NULL);
    char *code = new_code(client);
    passauth_poll *poll = NULL;
    CHECK_STATUS(passauth_poll_start(client, NULL, code, "{\"timeoutMs\":1500}", NULL, NULL, &poll), PASSAUTH_OK);

    /* a known failure first: PENDING must leave it alone */
    passauth_client *none = NULL;
    CHECK_STATUS(passauth_client_new("{}", &none), PASSAUTH_E_INVALID_ARGUMENT);
    const passauth_error *before = passauth_error_last();
    long long started = mono_ms();
    char *out = (char *)"untouched";
    CHECK_STATUS(passauth_poll_wait(poll, 100, &out), PASSAUTH_PENDING);
    long long waited = mono_ms() - started;
    CHECK_MSG(waited >= 90 && waited < 1000, "a 100 ms wait took %lld ms", waited);
    CHECK(same(out, "untouched"));
    CHECK(passauth_error_last() == before && passauth_error_last()->status == PASSAUTH_E_INVALID_ARGUMENT);
    CHECK_STATUS(passauth_poll_wait(poll, 0, NULL), PASSAUTH_PENDING);

    /* the poll's own timeoutMs ends it: PASSAUTH_E_TIMEOUT, with the last error set */
    int status = passauth_poll_wait(poll, 15000, &out);
    long long ended = mono_ms() - started;
    CHECK_MSG(status == PASSAUTH_E_TIMEOUT, "status %s", passauth_status_name(status));
    CHECK_MSG(ended >= 1300 && ended < 5000, "the poll ended after %lld ms (timeoutMs 1500)", ended);
    CHECK(passauth_error_last()->status == PASSAUTH_E_TIMEOUT && same(out, "untouched"));
    /* once ended: the same outcome, at once, whatever the wait */
    started = mono_ms();
    CHECK_STATUS(passauth_poll_wait(poll, 5000, NULL), PASSAUTH_E_TIMEOUT);
    CHECK(mono_ms() - started < 100);
    CHECK_STATUS(passauth_poll_wait(NULL, 10, NULL), PASSAUTH_E_INVALID_ARGUMENT);

    char *info = NULL;
    CHECK_STATUS(passauth_poll_info(poll, &info), PASSAUTH_OK);
    CHECK_MSG(string_is(info, "/state", "ended") && int_at(info, "/status") == PASSAUTH_E_TIMEOUT, "info %s", info);
    passauth_free(info);
    passauth_poll_free(poll);
    passauth_free(code);
    passauth_client_free(client);
}

static void test_poll_info(void) {
    passauth_client *client = fresh_client(NULL);
    char *session = NULL;
    CHECK_STATUS(passauth_session_create(client, NULL, SESSION_PARAMS, &session), PASSAUTH_OK);
    char *code = string_at(session, "/code");
    long long not_after = int_at(session, "/notAfter");
    passauth_poll *poll = NULL;
    long long started = now_ms();
    CHECK_STATUS(passauth_poll_start(client, NULL, code, "{\"intervalMs\":3000}", NULL, NULL, &poll), PASSAUTH_OK);

    char *info = NULL;
    CHECK_STATUS(passauth_poll_info(poll, &info), PASSAUTH_OK);
    CHECK(string_is(info, "/code", code) && string_is(info, "/state", "pending"));
    long long ignored = 0;
    CHECK_STATUS(passauth_json_get_int64(info, "/status", &ignored), PASSAUTH_E_NOT_FOUND);
    CHECK(int_at(info, "/requests") == 0);
    CHECK_MSG(int_at(info, "/intervalMs") == 3000, "info %s", info);
    CHECK(llabs(int_at(info, "/startedAt") - started) < 2000);
    CHECK(int_at(info, "/notAfter") == not_after);
    long long next = int_at(info, "/nextRequestAt");
    CHECK_MSG(next >= started + 500 && next <= started + 3500, "nextRequestAt %lld, started %lld", next, started);
    passauth_free(info);

    /* transient failures do not end the poll; they show as lastError */
    json_decref(emulator_post(&emu, "/_emulator/faults",
                              "{\"faults\":[{\"kind\":\"http500\",\"count\":50,\"endpoint\":\"profiles.code\"}]}"));
    bool seen = false;
    for (long long deadline = mono_ms() + 20000; !seen && mono_ms() < deadline;) {
        CHECK_STATUS(passauth_poll_wait(poll, 200, NULL), PASSAUTH_PENDING);
        CHECK_STATUS(passauth_poll_info(poll, &info), PASSAUTH_OK);
        seen = int_at(info, "/requests") >= 1 && int_at(info, "/lastError/httpStatus") == 500;
        if (seen) {
            CHECK(string_is(info, "/state", "pending"));
            CHECK(int_at(info, "/lastError/status") == PASSAUTH_E_HTTP || int_at(info, "/lastError/status") == PASSAUTH_E_SERVICE);
            CHECK_MSG(int_at(info, "/intervalMs") >= 3000, "info %s", info);
        }
        passauth_free(info);
    }
    CHECK_MSG(seen, "no lastError with httpStatus 500 in passauth_poll_info within 20 s");

    passauth_poll_cancel(poll);
    CHECK_STATUS(passauth_poll_info(poll, &info), PASSAUTH_OK);
    CHECK(string_is(info, "/state", "ended") && int_at(info, "/status") == PASSAUTH_E_CANCELLED);
    CHECK_STATUS(passauth_json_get_int64(info, "/nextRequestAt", &ignored), PASSAUTH_E_NOT_FOUND);
    passauth_free(info);
    CHECK_STATUS(passauth_poll_info(NULL, &info), PASSAUTH_E_INVALID_ARGUMENT);
    CHECK_STATUS(passauth_poll_info(poll, NULL), PASSAUTH_E_INVALID_ARGUMENT);
    passauth_poll_free(poll);
    passauth_free(code);
    passauth_free(session);
    passauth_client_free(client);
}

/* --- JSON getters ------------------------------------------------------------------------------- */

static void test_json_getters_on_real_results(void) {
    passauth_client *client = fresh_client(NULL);
    json_decref(emulator_post(&emu, "/_emulator/profiles",
                              "{\"deviceId\":\"" DEVICE_ID "\",\"mvpd\":\"Cablevision\",\"userId\":\"u-1\","
                              "\"attributes\":{\"zip/code\":\"10001\",\"tilde~name\":\"t\",\"~/\":\"both\"}}"));
    char *profiles = NULL;
    CHECK_STATUS(passauth_profiles(client, NULL, &profiles), PASSAUTH_OK);
    CHECK_MSG(string_is(profiles, "/profiles/Cablevision/attributes/zip~1code/value", "10001"), "%s", profiles);
    CHECK(string_is(profiles, "/profiles/Cablevision/attributes/tilde~0name/value", "t"));
    CHECK(string_is(profiles, "/profiles/Cablevision/attributes/~0~1/value", "both"));
    CHECK(string_is(profiles, "/profiles/Cablevision/attributes/userID/value", "u-1"));
    CHECK(int_at(profiles, "/profiles/Cablevision/notAfter") > now_ms());
    size_t n = 0;
    CHECK_STATUS(passauth_json_count(profiles, "/profiles", &n), PASSAUTH_OK);
    CHECK(n == 1);
    CHECK_STATUS(passauth_json_count(profiles, "/profiles/Cablevision/attributes", &n), PASSAUTH_OK);
    CHECK(n == 4);
    CHECK_STATUS(passauth_json_count(profiles, "", &n), PASSAUTH_OK);
    CHECK(n == 1);

    char *decisions = NULL;
    CHECK_STATUS(passauth_authorize(client, NULL, "Cablevision", "[\"REF30\",\"REF40\"]", &decisions), PASSAUTH_OK);
    CHECK_STATUS(passauth_json_count(decisions, "/decisions", &n), PASSAUTH_OK);
    CHECK(n == 2);
    int flag = -1;
    CHECK_STATUS(passauth_json_get_bool(decisions, "/decisions/1/authorized", &flag), PASSAUTH_OK);
    CHECK(flag == 1);
    CHECK(string_is(decisions, "/decisions/0/resource", "REF30") && string_is(decisions, "/decisions/1/resource", "REF40"));
    char *token = string_at(decisions, "/decisions/0/token/serializedToken");
    CHECK(token && strlen(token) > 10);
    passauth_free(token);
    CHECK(int_at(decisions, "/decisions/0/token/notAfter") > int_at(decisions, "/decisions/0/token/notBefore"));

    /* not found: members, indices, past the end; outputs untouched */
    char *text = (char *)"untouched";
    long long number = 7;
    CHECK_STATUS(passauth_json_get_string(profiles, "/profiles/Spectrum", &text), PASSAUTH_E_NOT_FOUND);
    CHECK(passauth_error_last()->message && strstr(passauth_error_last()->message, "/profiles/Spectrum"));
    CHECK_STATUS(passauth_json_get_string(decisions, "/decisions/2/resource", &text), PASSAUTH_E_NOT_FOUND);
    CHECK_STATUS(passauth_json_get_string(decisions, "/decisions/01/resource", &text), PASSAUTH_E_NOT_FOUND);
    CHECK_STATUS(passauth_json_get_string(decisions, "/decisions/-/resource", &text), PASSAUTH_E_NOT_FOUND);
    CHECK_STATUS(passauth_json_get_int64(decisions, "/decisions/0/resource/deeper", &number), PASSAUTH_E_NOT_FOUND);
    CHECK_STATUS(passauth_json_get_string(profiles, "/profiles/Cablevision/attributes/zip/code/value", &text), PASSAUTH_E_NOT_FOUND);
    CHECK(same(text, "untouched") && number == 7);

    /* wrong types: the message names the type found */
    CHECK_STATUS(passauth_json_get_string(decisions, "/decisions/0/authorized", &text), PASSAUTH_E_INVALID_ARGUMENT);
    CHECK_MSG(strstr(passauth_error_last()->message, "boolean") != NULL, "%s", passauth_error_last()->message);
    CHECK_STATUS(passauth_json_get_int64(decisions, "/decisions/0/resource", &number), PASSAUTH_E_INVALID_ARGUMENT);
    CHECK(strstr(passauth_error_last()->message, "string") != NULL);
    CHECK_STATUS(passauth_json_get_bool(decisions, "/decisions", &flag), PASSAUTH_E_INVALID_ARGUMENT);
    CHECK(strstr(passauth_error_last()->message, "array") != NULL);
    CHECK_STATUS(passauth_json_get_string(profiles, "/profiles", &text), PASSAUTH_E_INVALID_ARGUMENT);
    CHECK(strstr(passauth_error_last()->message, "object") != NULL);
    CHECK_STATUS(passauth_json_count(decisions, "/decisions/0/resource", &n), PASSAUTH_E_INVALID_ARGUMENT);
    CHECK_STATUS(passauth_json_get_int64("{\"x\":1.5}", "/x", &number), PASSAUTH_E_INVALID_ARGUMENT);
    CHECK(same(text, "untouched") && number == 7);

    /* numbers with a fraction, and the names of an object's members (a profiles result's MVPDs) */
    double real = 0;
    CHECK_STATUS(passauth_json_get_double("{\"x\":1.5,\"y\":-3}", "/x", &real), PASSAUTH_OK);
    CHECK(real == 1.5);
    CHECK_STATUS(passauth_json_get_double("{\"x\":1.5,\"y\":-3}", "/y", &real), PASSAUTH_OK);
    CHECK(real == -3.0);
    CHECK_STATUS(passauth_json_get_double(decisions, "/decisions/0/resource", &real), PASSAUTH_E_INVALID_ARGUMENT);
    CHECK(real == -3.0 && strstr(passauth_error_last()->message, "string") != NULL);
    size_t members = 0;
    CHECK_STATUS(passauth_json_count(profiles, "/profiles", &members), PASSAUTH_OK);
    CHECK(members >= 1);
    int saw_cablevision = 0;
    for (size_t i = 0; i < members; i++) {
        char *name = NULL;
        CHECK_STATUS(passauth_json_get_key(profiles, "/profiles", i, &name), PASSAUTH_OK);
        if (name && same(name, "Cablevision")) saw_cablevision = 1;
        passauth_free(name);
    }
    CHECK(saw_cablevision);
    char *name = (char *)"untouched";
    CHECK_STATUS(passauth_json_get_key(profiles, "/profiles", members, &name), PASSAUTH_E_NOT_FOUND);
    CHECK_STATUS(passauth_json_get_key(decisions, "/decisions", 0, &name), PASSAUTH_E_INVALID_ARGUMENT);
    CHECK_STATUS(passauth_json_get_key("{\"a\":1,\"b\":2}", "", 1, &name), PASSAUTH_OK);
    CHECK(same(name, "b"));
    passauth_free(name);

    /* malformed pointers and documents, NULLs */
    CHECK_STATUS(passauth_json_get_string(profiles, "profiles", &text), PASSAUTH_E_INVALID_ARGUMENT);
    CHECK(same(passauth_error_last()->key, "pointer"));
    CHECK_STATUS(passauth_json_get_string(profiles, "/profiles/~2", &text), PASSAUTH_E_INVALID_ARGUMENT);
    CHECK_STATUS(passauth_json_get_string(profiles, "/profiles/~", &text), PASSAUTH_E_INVALID_ARGUMENT);
    CHECK_STATUS(passauth_json_get_string("{\"a\":", "/a", &text), PASSAUTH_E_INVALID_ARGUMENT);
    CHECK(same(passauth_error_last()->key, "json"));
    CHECK_STATUS(passauth_json_get_string("{\"a\":1,\"a\":2}", "/a", &text), PASSAUTH_E_INVALID_ARGUMENT);
    CHECK_STATUS(passauth_json_get_string(NULL, "/a", &text), PASSAUTH_E_INVALID_ARGUMENT);
    CHECK_STATUS(passauth_json_get_string(profiles, NULL, &text), PASSAUTH_E_INVALID_ARGUMENT);
    CHECK_STATUS(passauth_json_get_string(profiles, "/profiles", NULL), PASSAUTH_E_INVALID_ARGUMENT);
    CHECK_STATUS(passauth_json_count(profiles, "/profiles", NULL), PASSAUTH_E_INVALID_ARGUMENT);
    CHECK(same(text, "untouched"));

    /* "" is the whole document; scalars and the error document too */
    CHECK_STATUS(passauth_json_get_string("\"just a string\"", "", &text), PASSAUTH_OK);
    CHECK(same(text, "just a string"));
    passauth_free(text);
    CHECK_STATUS(passauth_json_count("[]", "", &n), PASSAUTH_OK);
    CHECK(n == 0);
    CHECK_STATUS(passauth_json_get_string("{\"\":{\"a b\":\"empty key\"}}", "//a b", &text), PASSAUTH_OK);
    CHECK(same(text, "empty key"));
    passauth_free(text);
    CHECK_STATUS(passauth_json_get_string("{\"caf\\u00e9\":\"\\ud83d\\ude00\"}", "/caf\xc3\xa9", &text), PASSAUTH_OK);
    CHECK(same(text, "\xf0\x9f\x98\x80"));
    passauth_free(text);

    passauth_free(decisions);
    passauth_free(profiles);
    passauth_client_free(client);
}

/* --- the log callback --------------------------------------------------------------------------- */

struct log_lines {
    pthread_mutex_t lock;
    int count;
    int by_level[8];
    char *text;
    size_t length;
};

static void collect_line(void *user_data, int level, const char *message) {
    struct log_lines *lines = user_data;
    pthread_mutex_lock(&lines->lock);
    lines->count++;
    lines->by_level[level >= 0 && level < 8 ? level : 0]++;
    size_t n = strlen(message);
    lines->text = realloc(lines->text, lines->length + n + 2);
    memcpy(lines->text + lines->length, message, n);
    lines->length += n;
    lines->text[lines->length++] = '\n';
    lines->text[lines->length] = 0;
    pthread_mutex_unlock(&lines->lock);
}

static char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return strdup("");
    char *text = calloc(1, 1 << 20);
    size_t got = fread(text, 1, (1 << 20) - 1, f);
    text[got] = 0;
    fclose(f);
    return text;
}

static void test_log_callback(void) {
    passauth_client *client = fresh_client("\"logLevel\":\"trace\",\"pacing\":false");
    struct log_lines lines = {.lock = PTHREAD_MUTEX_INITIALIZER};
    CHECK_STATUS(passauth_set_log_callback(client, collect_line, &lines), PASSAUTH_OK);
    CHECK_STATUS(passauth_set_log_callback(NULL, collect_line, &lines), PASSAUTH_E_INVALID_ARGUMENT);
    CHECK(harness_login_device(&emu, DEVICE_ID, "Cablevision"));
    char *out = NULL;
    CHECK_STATUS(passauth_register(client, &out), PASSAUTH_OK);
    passauth_free(out);
    CHECK_STATUS(passauth_authorize(client, NULL, "Cablevision", "[\"REF30\"]", &out), PASSAUTH_OK);
    char *media_token = string_at(out, "/decisions/0/token/serializedToken");
    passauth_free(out);
    /* a 500 the library retries: an operator line at info/warn */
    json_decref(emulator_post(&emu, "/_emulator/faults", "{\"faults\":[{\"kind\":\"http500\",\"endpoint\":\"profiles\"}]}"));
    CHECK_STATUS(passauth_profiles(client, NULL, &out), PASSAUTH_OK);
    passauth_free(out);

    pthread_mutex_lock(&lines.lock);
    int count = lines.count;
    CHECK_MSG(count >= 6, "%d lines", count);
    CHECK_MSG(lines.by_level[PASSAUTH_LOG_DEBUG] > 0 && lines.by_level[PASSAUTH_LOG_TRACE] > 0,
              "debug %d, trace %d", lines.by_level[PASSAUTH_LOG_DEBUG], lines.by_level[PASSAUTH_LOG_TRACE]);
    CHECK(lines.by_level[0] == 0 && lines.by_level[6] == 0 && lines.by_level[7] == 0);
    CHECK_MSG(lines.by_level[PASSAUTH_LOG_WARN] + lines.by_level[PASSAUTH_LOG_INFO] > 0, "no line about the retried 500:\n%s", lines.text);
    CHECK(strstr(lines.text, "decisions.authorize") != NULL);
    CHECK(strstr(lines.text, "passauth[") == NULL); /* the stderr prefix is not part of a line */
    /* no secret: the client secret and access token as they went over the wire, the media token */
    json_t *log = emulator_get(&emu, "/_emulator/requests");
    size_t i;
    json_t *request;
    int secrets = 0;
    json_array_foreach(json_object_get(log, "requests"), i, request) {
        const char *auth = json_string_value(json_object_get(json_object_get(request, "headers"), "authorization"));
        if (auth && strncmp(auth, "Bearer ", 7) == 0) {
            secrets++;
            CHECK_MSG(strstr(lines.text, auth + 7) == NULL, "the access token (%.6s...) in a log line", auth + 7);
        }
        const char *body = json_string_value(json_object_get(request, "body"));
        const char *secret = body ? strstr(body, "client_secret=") : NULL;
        if (secret) {
            char value[256];
            snprintf(value, sizeof value, "%s", secret + strlen("client_secret="));
            value[strcspn(value, "&")] = 0;
            secrets++;
            CHECK_MSG(strlen(value) < 6 || strstr(lines.text, value) == NULL, "the client secret in a log line");
        }
    }
    json_decref(log);
    CHECK(media_token && strstr(lines.text, media_token) == NULL);
    CHECK_MSG(secrets >= 2, "%d secrets found in the request log", secrets);
    pthread_mutex_unlock(&lines.lock);

    /* NULL: back to stderr (fd 2), nothing more for the callback */
    CHECK_STATUS(passauth_set_log_callback(client, NULL, NULL), PASSAUTH_OK);
    char path[700];
    snprintf(path, sizeof path, "%s.stderr", harness_temp_dir());
    fflush(stderr);
    int saved = dup(2), fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 2);
    close(fd);
    int status = passauth_authorize(client, NULL, "Cablevision", "[\"REF30\"]", &out);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    CHECK_STATUS(status, PASSAUTH_OK);
    char *stderr_text = read_file(path);
    CHECK_MSG(strstr(stderr_text, "passauth[debug]: ") != NULL && strstr(stderr_text, "decisions.authorize") != NULL,
              "stderr: %.300s", stderr_text);
    char *token = string_at(out, "/decisions/0/token/serializedToken");
    CHECK(token && strstr(stderr_text, token) == NULL);
    passauth_free(token);
    passauth_free(out);
    free(stderr_text);
    pthread_mutex_lock(&lines.lock);
    CHECK_MSG(lines.count == count, "%d lines after the callback was removed", lines.count - count);
    pthread_mutex_unlock(&lines.lock);

    /* a client at "warn" sends no debug or trace line */
    passauth_client *quiet = fresh_client("\"logLevel\":\"warn\"");
    struct log_lines few = {.lock = PTHREAD_MUTEX_INITIALIZER};
    CHECK_STATUS(passauth_set_log_callback(quiet, collect_line, &few), PASSAUTH_OK);
    CHECK_STATUS(passauth_register(quiet, &out), PASSAUTH_OK);
    passauth_free(out);
    CHECK(few.by_level[PASSAUTH_LOG_DEBUG] == 0 && few.by_level[PASSAUTH_LOG_TRACE] == 0 && few.by_level[PASSAUTH_LOG_INFO] == 0);
    passauth_client_free(quiet);
    free(few.text);

    passauth_free(media_token);
    passauth_client_free(client);
    free(lines.text);
}

/* --- QR codes ----------------------------------------------------------------------------------- */

static void check_matrix(const char *json, long long size) {
    size_t rows = 0;
    CHECK_STATUS(passauth_json_count(json, "/rows", &rows), PASSAUTH_OK);
    CHECK((long long)rows == size);
    bool square = true, binary = true;
    for (size_t y = 0; y < rows; y++) {
        char at[32];
        snprintf(at, sizeof at, "/rows/%zu", y);
        char *row = string_at(json, at);
        square &= row && (long long)strlen(row) == size;
        for (const char *c = row; c && *c; c++) binary &= *c == '0' || *c == '1';
        passauth_free(row);
    }
    CHECK(square && binary);
    /* the top-left finder pattern: a dark 7x7 ring around a light ring around a dark 3x3 */
    char *top = string_at(json, "/rows/0"), *second = string_at(json, "/rows/1"), *third = string_at(json, "/rows/2");
    CHECK(top && strncmp(top, "1111111", 7) == 0 && second && strncmp(second, "1000001", 7) == 0 &&
          third && strncmp(third, "1011101", 7) == 0);
    passauth_free(top);
    passauth_free(second);
    passauth_free(third);
}

static void test_qr_code(void) {
    char *qr = NULL;
    CHECK_STATUS(passauth_qr_code("A", &qr), PASSAUTH_OK);
    CHECK(int_at(qr, "/version") == 1 && int_at(qr, "/size") == 21 && string_is(qr, "/errorCorrection", "M"));
    check_matrix(qr, 21);
    passauth_free(qr);

    char url[256];
    snprintf(url, sizeof url, "%s/api/v2/authenticate/REF30/ABC1234", emu.base_url);
    CHECK_STATUS(passauth_qr_code(url, &qr), PASSAUTH_OK);
    long long version = int_at(qr, "/version"), size = int_at(qr, "/size");
    CHECK_MSG(version >= 3 && version <= 5 && size == 17 + 4 * version, "version %lld, size %lld", version, size);
    check_matrix(qr, size);
    passauth_free(qr);

    char *big = malloc(2001);
    memset(big, 'x', 2000);
    big[2000] = 0;
    CHECK_STATUS(passauth_qr_code(big, &qr), PASSAUTH_OK);
    CHECK(int_at(qr, "/version") >= 30 && int_at(qr, "/size") == 17 + 4 * int_at(qr, "/version"));
    passauth_free(qr);
    free(big);

    char *too_long = malloc(3001);
    memset(too_long, 'x', 3000);
    too_long[3000] = 0;
    qr = (char *)"untouched";
    CHECK_STATUS(passauth_qr_code(too_long, &qr), PASSAUTH_E_INVALID_ARGUMENT);
    CHECK(strstr(passauth_error_last()->message, "too long") != NULL && same(passauth_error_last()->key, "text"));
    free(too_long);
    CHECK_STATUS(passauth_qr_code("", &qr), PASSAUTH_E_INVALID_ARGUMENT);
    CHECK_STATUS(passauth_qr_code(NULL, &qr), PASSAUTH_E_INVALID_ARGUMENT);
    CHECK_STATUS(passauth_qr_code("A", NULL), PASSAUTH_E_INVALID_ARGUMENT);
    CHECK(same(qr, "untouched"));
}

int main(void) {
    if (!emulator_start(&emu, "--no-throttle")) return 2;
    static const struct harness_case cases[] = {
        {"version_macros", test_version_macros},
        {"error_before_any_failure", test_error_before_any_failure},
        {"error_after_validation_error", test_error_after_validation_error},
        {"error_after_service_error", test_error_after_service_error},
        {"error_is_thread_local", test_error_is_thread_local},
        {"pending_versus_poll_timeout", test_pending_versus_poll_timeout},
        {"poll_info", test_poll_info},
        {"json_getters_on_real_results", test_json_getters_on_real_results},
        {"log_callback", test_log_callback},
        {"qr_code", test_qr_code},
        {NULL, NULL},
    };
    int rc = harness_run("abi", cases);
    emulator_stop(&emu);
    return rc;
}
