/* Authentication phase: configuration, sessions, authentication URL, profiles and the poller. */
#include "harness.h"
#include "passauth.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static emulator emu;

static passauth_client *new_client(const char *extra) {
    char *config = harness_config(&emu, harness_temp_dir(), extra);
    passauth_client *client = NULL;
    CHECK_STATUS(passauth_client_new(config, &client), PASSAUTH_OK);
    free(config);
    return client;
}

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *str(json_t *object, const char *key) { return json_string_value(json_object_get(object, key)); }

/* Creates a session with all parameters and returns its code (static buffer). */
static const char *create_session(passauth_client *client, const char *device_json) {
    static char code[64];
    char *out = NULL;
    CHECK_STATUS(passauth_session_create(client, device_json,
        "{\"mvpd\":\"Cablevision\",\"domainName\":\"adobe.com\",\"redirectUrl\":\"https://adobe.com/done?x=1&y=2\"}", &out), PASSAUTH_OK);
    json_t *session = harness_parse(out);
    snprintf(code, sizeof code, "%s", str(session, "code") ? str(session, "code") : "");
    json_decref(session);
    passauth_free(out);
    return code;
}

static void login(const char *code) {
    char body[256];
    snprintf(body, sizeof body, "{\"code\":\"%s\"}", code);
    json_t *reply = emulator_post(&emu, "/_emulator/login", body);
    CHECK_MSG(reply != NULL, "login control call for %s failed", code);
    json_decref(reply);
}

/* The gaps (ms) between consecutive profiles.code requests for `code` must all be >= 3000. */
static int check_poll_gaps(const char *code) {
    json_t *log = emulator_get(&emu, "/_emulator/requests");
    json_t *requests = json_object_get(log, "requests");
    double previous = -1;
    int count = 0;
    size_t i;
    json_t *request;
    json_array_foreach(requests, i, request) {
        const char *endpoint = str(request, "endpoint");
        const char *path = str(request, "path");
        if (!endpoint || strcmp(endpoint, "profiles.code") != 0 || !path || !strstr(path, code)) continue;
        double t = json_number_value(json_object_get(request, "timeMs"));
        if (previous >= 0) CHECK_MSG(t - previous >= 2990, "two polls of %s only %.0f ms apart", code, t - previous);
        previous = t;
        count++;
    }
    json_decref(log);
    return count;
}

static void test_configuration_cache_filter_and_selection(void) {
    json_decref(emulator_post(&emu, "/_emulator/reset", NULL));
    passauth_client *client = new_client(NULL);
    char *out = NULL;
    CHECK_STATUS(passauth_configuration(client, NULL, &out), PASSAUTH_OK);
    passauth_free(out);
    CHECK_STATUS(passauth_configuration(client, NULL, &out), PASSAUTH_OK);
    passauth_free(out);
    CHECK(emulator_stat(&emu, NULL, "configuration") == 1);

    CHECK_STATUS(passauth_mvpds(client, NULL, "{\"tempPass\":false}", &out), PASSAUTH_OK);
    json_t *listed = harness_parse(out);
    json_t *list = json_object_get(listed, "mvpds");
    size_t i;
    json_t *mvpd;
    CHECK(json_array_size(list) > 0);
    json_array_foreach(list, i, mvpd) CHECK(!json_is_true(json_object_get(mvpd, "isTempPass")));
    json_decref(listed);
    passauth_free(out);
    CHECK_STATUS(passauth_mvpds(client, NULL, "{\"search\":\"CABLE\"}", &out), PASSAUTH_OK);
    json_t *found = harness_parse(out);
    CHECK(json_array_size(json_object_get(found, "mvpds")) == 1);
    json_t *cablevision = json_incref(json_array_get(json_object_get(found, "mvpds"), 0));
    json_decref(found);
    passauth_free(out);
    CHECK_STATUS(passauth_mvpds(client, NULL, "{\"colour\":1}", &out), PASSAUTH_E_INVALID_ARGUMENT);
    CHECK(emulator_stat(&emu, NULL, "configuration") == 1); /* all from the cache */

    CHECK_STATUS(passauth_mvpd_selected(client, NULL, &out), PASSAUTH_E_NOT_FOUND);
    char *selection = json_dumps(cablevision, 0);
    CHECK_STATUS(passauth_mvpd_select(client, NULL, selection), PASSAUTH_OK);
    free(selection);
    CHECK_STATUS(passauth_mvpd_select(client, NULL, "{\"displayName\":\"no id\"}"), PASSAUTH_E_INVALID_ARGUMENT);
    CHECK_STATUS(passauth_mvpd_selected(client, NULL, &out), PASSAUTH_OK);
    json_t *selected = harness_parse(out);
    CHECK(str(selected, "id") && strcmp(str(selected, "id"), "Cablevision") == 0);
    CHECK(str(selected, "displayName") && str(selected, "logoUrl"));
    json_decref(selected);
    passauth_free(out);
    /* Another device has no selection. */
    CHECK_STATUS(passauth_mvpd_selected(client, "{\"id\":\"other\"}", &out), PASSAUTH_E_NOT_FOUND);
    json_decref(cablevision);
    passauth_client_free(client);
}

struct outcome { atomic_int calls; atomic_int status; char json[4096]; passauth_poll *poll; int free_in_callback; };

static void on_outcome(void *user_data, int status, const char *result_json) {
    struct outcome *o = user_data;
    snprintf(o->json, sizeof o->json, "%s", result_json ? result_json : "");
    atomic_store(&o->status, status);
    atomic_fetch_add(&o->calls, 1);
    if (o->free_in_callback) {
        passauth_poll_cancel(o->poll);
        passauth_poll_free(o->poll);
    }
}

struct delayed_login { const char *code; int delay_ms; };

static void *login_later(void *p) {
    struct delayed_login *d = p;
    usleep(d->delay_ms * 1000);
    login(d->code);
    return NULL;
}

static void test_first_screen_journey(void) {
    json_decref(emulator_post(&emu, "/_emulator/reset", NULL));
    passauth_client *client = new_client(NULL);
    char *out = NULL;
    CHECK_STATUS(passauth_session_create(client, NULL,
        "{\"mvpd\":\"Cablevision\",\"domainName\":\"adobe.com\",\"redirectUrl\":\"https://adobe.com\"}", &out), PASSAUTH_OK);
    json_t *session = harness_parse(out);
    passauth_free(out);
    CHECK(str(session, "actionName") && strcmp(str(session, "actionName"), "authenticate") == 0);
    CHECK(json_is_integer(json_object_get(session, "notBefore")) && json_is_integer(json_object_get(session, "notAfter")));
    const char *code = str(session, "code");
    CHECK(code != NULL);
    CHECK_STATUS(passauth_authenticate_url(client, code, &out), PASSAUTH_OK);
    CHECK_MSG(str(session, "url") && strcmp(out, str(session, "url")) == 0, "%s vs %s", out, str(session, "url"));
    CHECK(strncmp(out, emu.base_url, strlen(emu.base_url)) == 0);
    passauth_free(out);

    struct outcome result = {0};
    passauth_poll *poll = NULL;
    CHECK_STATUS(passauth_poll_start(client, NULL, code, "{\"intervalMs\":1000}", on_outcome, &result, &poll), PASSAUTH_OK);
    struct delayed_login d = {code, 3500};
    pthread_t t;
    pthread_create(&t, NULL, login_later, &d);
    CHECK_STATUS(passauth_poll_wait(poll, 30000, &out), PASSAUTH_OK);
    pthread_join(t, NULL);
    json_t *profiles = harness_parse(out);
    CHECK(json_object_get(json_object_get(profiles, "profiles"), "Cablevision") != NULL);
    json_decref(profiles);
    passauth_free(out);
    usleep(100 * 1000);
    CHECK(atomic_load(&result.calls) == 1 && atomic_load(&result.status) == PASSAUTH_OK);
    int polls = check_poll_gaps(code);
    CHECK_MSG(polls >= 2 && polls <= 3, "%d profile requests (interval raised to 3000 ms)", polls);
    passauth_poll_free(poll);

    CHECK_STATUS(passauth_profile_for_mvpd(client, NULL, "Cablevision", &out), PASSAUTH_OK);
    profiles = harness_parse(out);
    json_t *profile = json_object_get(json_object_get(profiles, "profiles"), "Cablevision");
    CHECK(json_is_integer(json_object_get(profile, "notAfter")));
    passauth_free(out);
    char *text = json_dumps(profiles, 0);
    CHECK_STATUS(passauth_profile_pick(text, &out), PASSAUTH_OK);
    json_t *picked = harness_parse(out);
    CHECK(str(picked, "mvpd") && strcmp(str(picked, "mvpd"), "Cablevision") == 0);
    json_decref(picked);
    passauth_free(out);
    free(text);
    json_decref(profiles);
    CHECK_STATUS(passauth_profile_pick("{\"profiles\":{}}", &out), PASSAUTH_E_NOT_FOUND);

    CHECK_STATUS(passauth_profiles(client, NULL, &out), PASSAUTH_OK);
    passauth_free(out);
    CHECK_STATUS(passauth_profiles_stored(client, NULL, &out), PASSAUTH_OK);
    json_t *stored = harness_parse(out);
    CHECK(json_object_get(json_object_get(json_object_get(stored, "profiles"), "Cablevision"), "attributes") != NULL);
    json_decref(stored);
    passauth_free(out);
    json_decref(session);
    passauth_client_free(client);
}

static void test_second_screen_resume_and_code_validation(void) {
    json_decref(emulator_post(&emu, "/_emulator/reset", NULL));
    passauth_client *client = new_client(NULL);
    char *out = NULL;
    CHECK_STATUS(passauth_session_create(client, NULL, NULL, &out), PASSAUTH_OK);
    json_t *session = harness_parse(out);
    passauth_free(out);
    CHECK(str(session, "actionName") && strcmp(str(session, "actionName"), "resume") == 0);
    CHECK(json_array_size(json_object_get(session, "missingParameters")) == 3);
    char code[64];
    snprintf(code, sizeof code, "%s", str(session, "code"));
    json_decref(session);

    /* The second screen validates the typed-in code, then resumes with what was missing. */
    CHECK_STATUS(passauth_session_get(client, NULL, code, &out), PASSAUTH_OK);
    passauth_free(out);
    CHECK_STATUS(passauth_session_resume(client, NULL, code,
        "{\"mvpd\":\"Cablevision\",\"domainName\":\"adobe.com\",\"redirectUrl\":\"https://adobe.com\"}", &out), PASSAUTH_OK);
    session = harness_parse(out);
    CHECK(str(session, "actionName") && strcmp(str(session, "actionName"), "authenticate") == 0);
    json_decref(session);
    passauth_free(out);

    CHECK_STATUS(passauth_session_get(client, NULL, "ZZZZZZ9", &out), PASSAUTH_E_SERVICE);
    json_t *err = harness_parse(passauth_last_error());
    CHECK(json_integer_value(json_object_get(err, "httpStatus")) == 400 && str(err, "code"));
    json_decref(err);
    long before = emulator_stat(&emu, NULL, "sessions.get");
    CHECK_STATUS(passauth_session_get(client, NULL, "../../o/client/register", &out), PASSAUTH_E_INVALID_ARGUMENT);
    CHECK_STATUS(passauth_authenticate_url(client, "AB?C#D", &out), PASSAUTH_E_INVALID_ARGUMENT);
    CHECK_STATUS(passauth_session_resume(client, NULL, code, "{\"mvpd\":1}", &out), PASSAUTH_E_INVALID_ARGUMENT);
    CHECK_STATUS(passauth_session_create(client, NULL, "{\"domain\":\"adobe.com\"}", &out), PASSAUTH_E_INVALID_ARGUMENT);
    CHECK(emulator_stat(&emu, NULL, "sessions.get") == before);

    /* The second screen completes the login; the first screen's poll sees the profile. */
    passauth_poll *poll = NULL;
    CHECK_STATUS(passauth_poll_start(client, NULL, code, NULL, NULL, NULL, &poll), PASSAUTH_OK);
    login(code);
    CHECK_STATUS(passauth_poll_wait(poll, 30000, &out), PASSAUTH_OK);
    passauth_free(out);
    passauth_poll_free(poll);
    passauth_client_free(client);
}

static void test_expired_code_ends_the_poll(void) {
    json_decref(emulator_post(&emu, "/_emulator/reset", NULL));
    json_decref(emulator_post(&emu, "/_emulator/config", "{\"codeTtlSeconds\": 4}"));
    passauth_client *client = new_client(NULL);
    const char *code = create_session(client, NULL);
    struct outcome result = {0};
    passauth_poll *poll = NULL;
    long long started = now_ms();
    CHECK_STATUS(passauth_poll_start(client, NULL, code, NULL, on_outcome, &result, &poll), PASSAUTH_OK);
    CHECK_STATUS(passauth_poll_wait(poll, 20000, NULL), PASSAUTH_E_EXPIRED);
    long long took = now_ms() - started;
    CHECK_MSG(took >= 3000 && took < 8000, "expired after %lld ms", took);
    usleep(50 * 1000);
    CHECK(atomic_load(&result.calls) == 1 && atomic_load(&result.status) == PASSAUTH_E_EXPIRED);
    passauth_poll_free(poll);
    json_decref(emulator_post(&emu, "/_emulator/config", "{\"codeTtlSeconds\": 1800}"));
    passauth_client_free(client);
}

static void *cancel_later(void *p) {
    usleep(300 * 1000);
    passauth_poll_cancel(p);
    return NULL;
}

static void test_cancel_from_another_thread_and_from_the_callback(void) {
    json_decref(emulator_post(&emu, "/_emulator/reset", NULL));
    passauth_client *client = new_client(NULL);
    const char *code = create_session(client, NULL);
    struct outcome result = {0};
    passauth_poll *poll = NULL;
    CHECK_STATUS(passauth_poll_start(client, NULL, code, NULL, on_outcome, &result, &poll), PASSAUTH_OK);
    pthread_t t;
    pthread_create(&t, NULL, cancel_later, poll);
    long long started = now_ms();
    CHECK_STATUS(passauth_poll_wait(poll, 10000, NULL), PASSAUTH_E_CANCELLED);
    CHECK(now_ms() - started < 2000);
    pthread_join(t, NULL);
    passauth_poll_cancel(poll); /* again: no second callback */
    CHECK(atomic_load(&result.calls) == 1 && atomic_load(&result.status) == PASSAUTH_E_CANCELLED);
    passauth_poll_free(poll);

    /* The callback itself cancels and frees its poll. */
    code = create_session(client, NULL);
    login(code);
    struct outcome *inner = calloc(1, sizeof *inner);
    inner->free_in_callback = 1;
    CHECK_STATUS(passauth_poll_start(client, NULL, code, NULL, on_outcome, inner, &inner->poll), PASSAUTH_OK);
    for (int i = 0; i < 100 && atomic_load(&inner->calls) == 0; i++) usleep(100 * 1000);
    CHECK(atomic_load(&inner->calls) == 1 && atomic_load(&inner->status) == PASSAUTH_OK);
    free(inner);
    passauth_client_free(client);
}

static void test_newer_code_supersedes_the_old_poll(void) {
    json_decref(emulator_post(&emu, "/_emulator/reset", NULL));
    passauth_client *client = new_client(NULL);
    char first[64];
    snprintf(first, sizeof first, "%s", create_session(client, NULL));
    passauth_poll *poll = NULL;
    struct outcome result = {0};
    CHECK_STATUS(passauth_poll_start(client, NULL, first, NULL, on_outcome, &result, &poll), PASSAUTH_OK);
    const char *second = create_session(client, NULL);
    CHECK(strcmp(first, second) != 0);
    CHECK_STATUS(passauth_poll_wait(poll, 1000, NULL), PASSAUTH_E_CANCELLED);
    CHECK(strstr(result.json, "newer") != NULL);
    passauth_poll_free(poll);
    /* A poll of another device is not affected. */
    passauth_poll *other = NULL;
    const char *other_code = create_session(client, "{\"id\":\"device-2\"}");
    CHECK_STATUS(passauth_poll_start(client, "{\"id\":\"device-2\"}", other_code, NULL, NULL, NULL, &other), PASSAUTH_OK);
    create_session(client, NULL);
    CHECK_STATUS(passauth_poll_wait(other, 200, NULL), PASSAUTH_PENDING); /* still running */
    passauth_poll_free(other);
    passauth_client_free(client);
}

static void test_slow_and_failing_server_slow_the_poll_down(void) {
    json_decref(emulator_post(&emu, "/_emulator/reset", NULL));
    passauth_client *client = new_client("\"timeoutMs\":5000");
    const char *code = create_session(client, NULL);
    json_decref(emulator_post(&emu, "/_emulator/faults",
        "{\"faults\":[{\"kind\":\"delay\",\"delayMs\":2500,\"count\":1,\"endpoint\":\"profiles.code\"},"
        "{\"kind\":\"http503\",\"count\":1,\"endpoint\":\"profiles.code\"}]}"));
    passauth_poll *poll = NULL;
    CHECK_STATUS(passauth_poll_start(client, NULL, code, NULL, NULL, NULL, &poll), PASSAUTH_OK);
    usleep(8000 * 1000);
    login(code);
    char *out = NULL;
    CHECK_STATUS(passauth_poll_wait(poll, 30000, &out), PASSAUTH_OK);
    passauth_free(out);
    int polls = check_poll_gaps(code);
    CHECK(polls >= 3);
    passauth_poll_free(poll);
    passauth_client_free(client);
}

static void test_login_after_20_seconds_costs_few_requests(void) {
    json_decref(emulator_post(&emu, "/_emulator/reset", NULL));
    passauth_client *client = new_client(NULL);
    const char *code = create_session(client, NULL);
    passauth_poll *poll = NULL;
    CHECK_STATUS(passauth_poll_start(client, NULL, code, NULL, NULL, NULL, &poll), PASSAUTH_OK);
    struct delayed_login d = {code, 20000};
    pthread_t t;
    pthread_create(&t, NULL, login_later, &d);
    char *out = NULL;
    CHECK_STATUS(passauth_poll_wait(poll, 40000, &out), PASSAUTH_OK);
    pthread_join(t, NULL);
    passauth_free(out);
    int polls = check_poll_gaps(code);
    json_t *stats = emulator_get(&emu, "/_emulator/stats");
    char *counts = json_dumps(json_object_get(stats, "requests"), JSON_SORT_KEYS);
    printf("    login after 20 s: %d profile-by-code requests; all requests: %s\n", polls, counts);
    CHECK(polls >= 5 && polls <= 7);
    free(counts);
    json_decref(stats);
    passauth_poll_free(poll);
    passauth_client_free(client);
}

int main(void) {
    if (!emulator_start(&emu, "--no-throttle")) return 2;
    static const struct harness_case cases[] = {
        {"configuration_cache_filter_and_selection", test_configuration_cache_filter_and_selection},
        {"first_screen_journey", test_first_screen_journey},
        {"second_screen_resume_and_code_validation", test_second_screen_resume_and_code_validation},
        {"expired_code_ends_the_poll", test_expired_code_ends_the_poll},
        {"cancel_from_another_thread_and_from_the_callback", test_cancel_from_another_thread_and_from_the_callback},
        {"newer_code_supersedes_the_old_poll", test_newer_code_supersedes_the_old_poll},
        {"slow_and_failing_server_slow_the_poll_down", test_slow_and_failing_server_slow_the_poll_down},
        {"login_after_20_seconds_costs_few_requests", test_login_after_20_seconds_costs_few_requests},
        {NULL, NULL},
    };
    int rc = harness_run("authentication", cases);
    emulator_stop(&emu);
    return rc;
}
