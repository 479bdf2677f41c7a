/* Decisions (preauthorize, authorize), logout, enhanced errors and action-driven retries, against the
 * local emulator. Each test resets the emulator and uses a fresh store and client. */
#include "harness.h"
#include "passauth.h"

#include <stdlib.h>
#include <string.h>

static emulator emu;

#define DEVICE "{\"id\":\"tv-decisions-1\"}"
#define DEVICE_ID "tv-decisions-1"

static passauth_client *fresh_client(const char *extra) {
    json_decref(emulator_post(&emu, "/_emulator/reset", NULL));
    char *config = harness_config(&emu, harness_temp_dir(), extra ? extra : "\"logLevel\":\"none\"");
    passauth_client *client = NULL;
    CHECK_STATUS(passauth_client_new(config, &client), PASSAUTH_OK);
    free(config);
    return client;
}

static json_t *last_error(void) { return harness_parse(passauth_last_error()); }

static const char *str(json_t *object, const char *key) { return json_string_value(json_object_get(object, key)); }

static bool str_is(json_t *object, const char *key, const char *expected) {
    const char *value = str(object, key);
    return value && strcmp(value, expected) == 0;
}

static json_t *call(int (*fn)(passauth_client *, const char *, const char *, const char *, char **),
                    passauth_client *client, const char *device, const char *mvpd, const char *arg, int expected) {
    char *out = NULL;
    CHECK_STATUS(fn(client, device, mvpd, arg, &out), expected);
    json_t *doc = harness_parse(out);
    if (expected == PASSAUTH_OK) CHECK_MSG(doc != NULL, "result is not JSON: %s", out ? out : "(null)");
    else CHECK(out == NULL);
    passauth_free(out);
    return doc;
}

static json_t *stats(passauth_client *client) {
    char *out = NULL;
    CHECK_STATUS(passauth_stats(client, &out), PASSAUTH_OK);
    json_t *doc = harness_parse(out);
    passauth_free(out);
    return doc;
}

static long stat_of(passauth_client *client, const char *key) {
    json_t *doc = stats(client);
    long value = (long)json_integer_value(json_object_get(doc, key));
    json_decref(doc);
    return value;
}

/* --- decisions ------------------------------------------------------------------------------ */

static void test_authorize_permit_with_media_token(void) {
    passauth_client *client = fresh_client(NULL);
    CHECK(harness_login_device(&emu, DEVICE_ID, "Cablevision"));
    json_t *doc = call(passauth_authorize, client, DEVICE, "Cablevision", "[\"REF30\"]", PASSAUTH_OK);
    json_t *decisions = json_object_get(doc, "decisions");
    CHECK(json_array_size(decisions) == 1);
    json_t *d = json_array_get(decisions, 0);
    CHECK(str_is(d, "resource", "REF30"));
    CHECK(json_is_true(json_object_get(d, "authorized")));
    CHECK(str_is(d, "source", "mvpd"));
    json_t *token = json_object_get(d, "token");
    const char *serialized = str(token, "serializedToken");
    CHECK(serialized && strlen(serialized) > 20);
    CHECK(json_is_integer(json_object_get(token, "notBefore")) && json_is_integer(json_object_get(token, "notAfter")));
    CHECK(json_is_integer(json_object_get(d, "notAfter")));
    /* The media token is not cached: a second call asks the service again, and gets a new token. */
    json_t *again = call(passauth_authorize, client, DEVICE, "Cablevision", "[\"REF30\"]", PASSAUTH_OK);
    CHECK(emulator_stat(&emu, NULL, "decisions.authorize") == 2);
    /* ... and never appears in stats. */
    char *stats_text = NULL;
    CHECK_STATUS(passauth_stats(client, &stats_text), PASSAUTH_OK);
    CHECK(serialized && stats_text && !strstr(stats_text, serialized));
    passauth_free(stats_text);
    json_decref(again);
    json_decref(doc);
    passauth_client_free(client);
}

static void test_mixed_permit_and_deny_in_one_call(void) {
    passauth_client *client = fresh_client(NULL);
    CHECK(harness_login_device(&emu, DEVICE_ID, "Cablevision"));
    json_decref(emulator_post(&emu, "/_emulator/config",
                              "{\"denyRules\":[{\"resource\":\"REF40\",\"details\":\"No Live channel\"}]}"));
    json_t *doc = call(passauth_authorize, client, DEVICE, "Cablevision", "[\"REF30\",\"REF40\"]", PASSAUTH_OK);
    json_t *decisions = json_object_get(doc, "decisions");
    CHECK(json_array_size(decisions) == 2);
    json_t *permit = json_array_get(decisions, 0), *deny = json_array_get(decisions, 1);
    CHECK(str_is(permit, "resource", "REF30") && json_is_true(json_object_get(permit, "authorized")));
    CHECK(str_is(deny, "resource", "REF40") && json_is_false(json_object_get(deny, "authorized")));
    CHECK(json_object_get(deny, "token") == NULL);
    json_t *error = json_object_get(deny, "error");
    CHECK(str_is(error, "code", "authorization_denied_by_mvpd"));
    CHECK(json_integer_value(json_object_get(error, "status")) == 403);
    CHECK(str_is(error, "details", "No Live channel"));
    CHECK(str(error, "action") != NULL);
    /* One request per resource (authorizeBatchSize 1: Adobe answers too_many_resources above its limit,
       "usually up to 1"), and a deny is never retried. */
    CHECK(emulator_stat(&emu, NULL, "decisions.authorize") == 2);
    CHECK(stat_of(client, "retries") == 0);
    json_decref(doc);
    passauth_client_free(client);
}

static void test_preauthorize_twelve_resources_in_three_requests(void) {
    passauth_client *client = fresh_client(NULL);
    CHECK(harness_login_device(&emu, DEVICE_ID, "Cablevision"));
    json_decref(emulator_post(&emu, "/_emulator/config", "{\"denyRules\":[{\"resource\":\"res-07\"}]}"));
    const char *resources = "[\"res-00\",\"res-01\",\"res-02\",\"res-03\",\"res-04\",\"res-05\",\"res-06\","
                            "\"res-07\",\"res-08\",\"res-09\",\"res-10\",\"res-11\"]";
    json_t *doc = call(passauth_preauthorize, client, DEVICE, "Cablevision", resources, PASSAUTH_OK);
    json_t *decisions = json_object_get(doc, "decisions");
    CHECK(json_array_size(decisions) == 12);
    CHECK(emulator_stat(&emu, NULL, "decisions.preauthorize") == 3);
    for (size_t i = 0; i < 12; i++) {
        char name[16];
        snprintf(name, sizeof name, "res-%02zu", i);
        json_t *d = json_array_get(decisions, i);
        CHECK_MSG(str_is(d, "resource", name), "decision %zu is for %s", i, str(d, "resource"));
        CHECK(json_is_true(json_object_get(d, "authorized")) == (i != 7));
        CHECK(json_object_get(d, "token") == NULL);
    }
    CHECK(str_is(json_object_get(json_array_get(decisions, 7), "error"), "code", "preauthorization_denied_by_mvpd"));
    /* The three requests (sent side by side, so in any order) carried 5, 5 and 2 resources. */
    json_t *log = emulator_get(&emu, "/_emulator/requests");
    size_t index;
    json_t *entry;
    int sizes[3] = {0}, n = 0;
    json_array_foreach(json_object_get(log, "requests"), index, entry) {
        if (!str_is(entry, "endpoint", "decisions.preauthorize") || n >= 3) continue;
        json_t *body = harness_parse(str(entry, "body"));
        sizes[n++] = (int)json_array_size(json_object_get(body, "resources"));
        json_decref(body);
    }
    CHECK_MSG(n == 3 && sizes[0] + sizes[1] + sizes[2] == 12 && (sizes[0] == 2 || sizes[1] == 2 || sizes[2] == 2)
              && (sizes[0] == 5) + (sizes[1] == 5) + (sizes[2] == 5) == 2, "batch sizes %d %d %d", sizes[0], sizes[1], sizes[2]);
    json_decref(log);
    json_decref(doc);

    /* Permits come from the cache without a request; the denied one is asked again. */
    long hits = stat_of(client, "cacheHits");
    doc = call(passauth_preauthorize, client, DEVICE, "Cablevision", "[\"res-03\",\"res-11\"]", PASSAUTH_OK);
    CHECK(emulator_stat(&emu, NULL, "decisions.preauthorize") == 3);
    CHECK(stat_of(client, "cacheHits") == hits + 2);
    CHECK(str_is(json_array_get(json_object_get(doc, "decisions"), 1), "resource", "res-11"));
    json_decref(doc);
    doc = call(passauth_preauthorize, client, DEVICE, "Cablevision", "[\"res-07\",\"res-01\"]", PASSAUTH_OK);
    CHECK(emulator_stat(&emu, NULL, "decisions.preauthorize") == 4);
    json_t *asked = json_array_get(json_object_get(doc, "decisions"), 0);
    CHECK(str_is(asked, "resource", "res-07") && json_is_false(json_object_get(asked, "authorized")));
    json_decref(doc);
    /* Another device does not share the cache. */
    doc = call(passauth_preauthorize, client, "{\"id\":\"other-device\"}", "Cablevision", "[\"res-01\"]",
               PASSAUTH_E_SERVICE);
    json_t *err = last_error();
    CHECK(str_is(err, "code", "authenticated_profile_missing"));
    json_decref(err);
    passauth_client_free(client);
}

static void test_batch_size_is_configurable(void) {
    passauth_client *client = fresh_client("\"logLevel\":\"none\",\"preauthorizeBatchSize\":2");
    CHECK(harness_login_device(&emu, DEVICE_ID, "Cablevision"));
    json_t *doc = call(passauth_preauthorize, client, DEVICE, "Cablevision", "[\"a\",\"b\",\"c\",\"d\",\"e\"]", PASSAUTH_OK);
    CHECK(json_array_size(json_object_get(doc, "decisions")) == 5);
    CHECK(emulator_stat(&emu, NULL, "decisions.preauthorize") == 3);
    json_decref(doc);
    passauth_client_free(client);
    char *config = harness_config(&emu, harness_temp_dir(), "\"preauthorizeBatchSize\":0");
    passauth_client *bad = NULL;
    CHECK_STATUS(passauth_client_new(config, &bad), PASSAUTH_E_INVALID_ARGUMENT);
    json_t *err = last_error();
    CHECK(str_is(err, "key", "preauthorizeBatchSize"));
    json_decref(err);
    free(config);
}

static void test_degraded_and_temppass_sources(void) {
    passauth_client *client = fresh_client(NULL);
    json_decref(emulator_post(&emu, "/_emulator/config", "{\"degraded\":{\"Dish\":\"AuthNAll\"}}"));
    json_t *doc = call(passauth_authorize, client, DEVICE, "Dish", "[\"REF30\"]", PASSAUTH_OK);
    json_t *d = json_array_get(json_object_get(doc, "decisions"), 0);
    CHECK(str_is(d, "source", "degradation") && json_is_true(json_object_get(d, "authorized")));
    json_decref(doc);

    doc = call(passauth_authorize, client, DEVICE, "TempPass_TEST40", "[\"REF30\"]", PASSAUTH_OK);
    d = json_array_get(json_object_get(doc, "decisions"), 0);
    CHECK(str_is(d, "source", "temppass") && json_is_true(json_object_get(d, "authorized")));
    CHECK(str(json_object_get(d, "token"), "serializedToken") != NULL);
    json_decref(doc);

    /* TempPass used up: an item-level error in a normal result. */
    json_decref(emulator_post(&emu, "/_emulator/advance", "{\"seconds\":3601}"));
    doc = call(passauth_authorize, client, DEVICE, "TempPass_TEST40", "[\"REF30\"]", PASSAUTH_OK);
    d = json_array_get(json_object_get(doc, "decisions"), 0);
    CHECK(json_is_false(json_object_get(d, "authorized")));
    CHECK(str_is(json_object_get(d, "error"), "code", "temporary_access_duration_limit_exceeded"));
    json_decref(doc);
    passauth_client_free(client);
}

static void test_string_timestamps_become_numbers(void) {
    passauth_client *client = fresh_client(NULL);
    CHECK(harness_login_device(&emu, DEVICE_ID, "Cablevision"));
    emulator_add_fault(&emu, "{\"kind\":\"string-timestamps\",\"endpoint\":\"decisions.authorize\"}");
    json_t *doc = call(passauth_authorize, client, DEVICE, "Cablevision", "[\"REF30\"]", PASSAUTH_OK);
    json_t *d = json_array_get(json_object_get(doc, "decisions"), 0);
    CHECK(json_is_integer(json_object_get(d, "notBefore")) && json_is_integer(json_object_get(d, "notAfter")));
    CHECK(json_is_integer(json_object_get(json_object_get(d, "token"), "notAfter")));
    json_decref(doc);
    passauth_client_free(client);
}

static void test_invalid_arguments(void) {
    passauth_client *client = fresh_client(NULL);
    const char *bad[] = {"[]", "[1]", "[\"\"]", "{\"resources\":[\"a\"]}", "\"REF30\"", "[\"a\",null]", "[", NULL};
    for (int i = 0; bad[i]; i++) {
        json_decref(call(passauth_authorize, client, DEVICE, "Cablevision", bad[i], PASSAUTH_E_INVALID_ARGUMENT));
        json_decref(call(passauth_preauthorize, client, DEVICE, "Cablevision", bad[i], PASSAUTH_E_INVALID_ARGUMENT));
    }
    json_decref(call(passauth_authorize, client, DEVICE, "", "[\"REF30\"]", PASSAUTH_E_INVALID_ARGUMENT));
    json_decref(call(passauth_authorize, client, DEVICE, NULL, "[\"REF30\"]", PASSAUTH_E_INVALID_ARGUMENT));
    json_decref(call(passauth_authorize, client, DEVICE, "Cablevision", NULL, PASSAUTH_E_INVALID_ARGUMENT));
    json_decref(call(passauth_logout, client, DEVICE, "Cablevision", NULL, PASSAUTH_E_INVALID_ARGUMENT));
    json_decref(call(passauth_logout, client, DEVICE, "Cablevision", "", PASSAUTH_E_INVALID_ARGUMENT));
    CHECK_STATUS(passauth_authorize(client, DEVICE, "Cablevision", "[\"REF30\"]", NULL), PASSAUTH_E_INVALID_ARGUMENT);
    CHECK_STATUS(passauth_authorize(NULL, DEVICE, "Cablevision", "[\"REF30\"]", NULL), PASSAUTH_E_INVALID_ARGUMENT);
    CHECK(emulator_stat(&emu, NULL, "decisions.authorize") == 0);
    /* MRSS passes through as a resource string; a hostile mvpd stays one path segment. */
    CHECK(harness_login_device(&emu, DEVICE_ID, "Cablevision"));
    const char *mrss = "[\"<rss version=\\\"2.0\\\" xmlns:media=\\\"http://search.yahoo.com/mrss/\\\"><channel>"
                       "<title>REF30</title></channel></rss>\"]";
    json_t *doc = call(passauth_authorize, client, DEVICE, "Cablevision", mrss, PASSAUTH_OK);
    CHECK(strncmp(str(json_array_get(json_object_get(doc, "decisions"), 0), "resource") ?: "", "<rss", 4) == 0);
    json_decref(doc);
    json_decref(call(passauth_authorize, client, DEVICE, "../x", "[\"REF30\"]", PASSAUTH_E_SERVICE));
    json_t *log = emulator_get(&emu, "/_emulator/requests");
    json_t *requests = json_object_get(log, "requests");
    const char *path = NULL;  /* the last authorization (a profile refresh may follow a permit) */
    for (size_t i = json_array_size(requests); i-- > 0 && path == NULL;)
        if (str_is(json_array_get(requests, i), "endpoint", "decisions.authorize")) path = str(json_array_get(requests, i), "path");
    CHECK_MSG(path && strstr(path, "/api/v2/REF30/decisions/authorize/") == path, "path %s", path ? path : "(none)");
    json_decref(log);
    passauth_client_free(client);
}

/* --- logout --------------------------------------------------------------------------------- */

static void test_logout_clears_profile_and_cache(void) {
    passauth_client *client = fresh_client(NULL);
    CHECK(harness_login_device(&emu, DEVICE_ID, "Cablevision"));
    json_decref(call(passauth_preauthorize, client, DEVICE, "Cablevision", "[\"REF30\"]", PASSAUTH_OK));
    json_t *doc = call(passauth_logout, client, DEVICE, "Cablevision", "https://example.com/back?x=1&y=2", PASSAUTH_OK);
    json_t *action = json_object_get(json_object_get(doc, "logouts"), "Cablevision");
    CHECK(str_is(action, "actionName", "logout"));
    CHECK(str_is(action, "actionType", "interactive"));
    CHECK(str(action, "url") != NULL);
    json_decref(doc);
    json_t *log = emulator_get(&emu, "/_emulator/requests");
    json_t *requests = json_object_get(log, "requests");
    json_t *last = json_array_get(requests, json_array_size(requests) - 1);
    CHECK(str_is(last, "endpoint", "logout") && str_is(last, "path", "/api/v2/REF30/logout/Cablevision"));
    CHECK(str(last, "query") && strstr(str(last, "query"), "redirectUrl=https%3A%2F%2Fexample.com%2Fback%3Fx%3D1%26y%3D2"));
    json_decref(log);
    /* The cached permit is gone: the next preauthorization asks and learns the user is logged out. */
    json_decref(call(passauth_preauthorize, client, DEVICE, "Cablevision", "[\"REF30\"]", PASSAUTH_E_SERVICE));
    json_t *err = last_error();
    CHECK(str_is(err, "code", "authenticated_profile_missing") && str_is(err, "action", "authentication"));
    json_decref(err);
    CHECK(emulator_stat(&emu, NULL, "decisions.preauthorize") == 2);
    /* Logging out again, or from an MVPD without logout endpoint, needs no user agent. */
    doc = call(passauth_logout, client, DEVICE, "Cablevision", "https://example.com", PASSAUTH_OK);
    CHECK(str_is(json_object_get(json_object_get(doc, "logouts"), "Cablevision"), "actionType", "none"));
    json_decref(doc);
    CHECK(harness_login_device(&emu, DEVICE_ID, "Dish"));
    doc = call(passauth_logout, client, DEVICE, "Dish", "https://example.com", PASSAUTH_OK);
    json_t *dish = json_object_get(json_object_get(doc, "logouts"), "Dish");
    CHECK(str_is(dish, "actionName", "complete") && str_is(dish, "actionType", "none"));
    json_decref(doc);
    passauth_client_free(client);
}

/* --- enhanced errors and retries -------------------------------------------------------------- */

static void expect_surfaced(passauth_client *client, const char *fault, const char *code, const char *action,
                            int http, int expected_status) {
    emulator_add_fault(&emu, fault);
    long before = emulator_stat(&emu, NULL, "decisions.authorize");
    json_decref(call(passauth_authorize, client, DEVICE, "Cablevision", "[\"REF30\"]", expected_status));
    json_t *err = last_error();
    CHECK_MSG(str_is(err, "code", code), "expected code %s: %s", code, passauth_last_error());
    CHECK_MSG(str_is(err, "action", action), "expected action %s: %s", action, passauth_last_error());
    CHECK(json_integer_value(json_object_get(err, "httpStatus")) == http);
    CHECK(str(err, "message") && str(err, "helpUrl") && str(err, "trace"));
    CHECK(str_is(err, "endpoint", "decisions.authorize"));
    CHECK_MSG(emulator_stat(&emu, NULL, "decisions.authorize") == before + 1, "%s was retried", code);
    json_decref(err);
}

static void test_top_level_error_classes(void) {
    passauth_client *client = fresh_client(NULL);
    /* authentication: no profile. */
    json_decref(call(passauth_authorize, client, DEVICE, "Cablevision", "[\"REF30\"]", PASSAUTH_E_SERVICE));
    json_t *err = last_error();
    CHECK(str_is(err, "code", "authenticated_profile_missing") && str_is(err, "action", "authentication"));
    CHECK(json_integer_value(json_object_get(err, "httpStatus")) == 403);
    CHECK(str(err, "helpUrl") && str(err, "trace"));
    json_decref(err);
    CHECK(harness_login_device(&emu, DEVICE_ID, "Cablevision"));
    expect_surfaced(client, "{\"kind\":\"enhanced\",\"status\":403,\"code\":\"authorization_denied_by_parental_controls\","
                            "\"action\":\"authorization\",\"endpoint\":\"decisions.authorize\"}",
                    "authorization_denied_by_parental_controls", "authorization", 403, PASSAUTH_E_SERVICE);
    expect_surfaced(client, "{\"kind\":\"enhanced\",\"status\":400,\"code\":\"invalid_integration\","
                            "\"action\":\"configuration\",\"endpoint\":\"decisions.authorize\"}",
                    "invalid_integration", "configuration", 400, PASSAUTH_E_SERVICE);
    expect_surfaced(client, "{\"kind\":\"enhanced\",\"status\":400,\"code\":\"invalid_parameter_resources\","
                            "\"action\":\"none\",\"endpoint\":\"decisions.authorize\"}",
                    "invalid_parameter_resources", "none", 400, PASSAUTH_E_SERVICE);
    /* An HTTP error without an enhanced body is still typed. */
    emulator_add_fault(&emu, "{\"kind\":\"status\",\"status\":404,\"endpoint\":\"decisions.authorize\"}");
    json_decref(call(passauth_authorize, client, DEVICE, "Cablevision", "[\"REF30\"]", PASSAUTH_E_HTTP));
    err = last_error();
    CHECK(json_integer_value(json_object_get(err, "httpStatus")) == 404 && json_object_get(err, "code") == NULL);
    json_decref(err);
    emulator_add_fault(&emu, "{\"kind\":\"http502\",\"count\":3,\"endpoint\":\"decisions.authorize\"}");
    long before = emulator_stat(&emu, NULL, "decisions.authorize");
    json_decref(call(passauth_authorize, client, DEVICE, "Cablevision", "[\"REF30\"]", PASSAUTH_E_HTTP));
    err = last_error();
    CHECK(json_integer_value(json_object_get(err, "httpStatus")) == 502 && str(err, "body") != NULL);
    CHECK(emulator_stat(&emu, NULL, "decisions.authorize") == before + 3);
    json_decref(err);
    passauth_client_free(client);
}

static void test_application_registration_registers_again_once(void) {
    passauth_client *client = fresh_client(NULL);
    CHECK(harness_login_device(&emu, DEVICE_ID, "Cablevision"));
    json_decref(call(passauth_authorize, client, DEVICE, "Cablevision", "[\"REF30\"]", PASSAUTH_OK));
    CHECK(emulator_stat(&emu, "registrations", NULL) == 1);
    emulator_add_fault(&emu, "{\"kind\":\"enhanced\",\"status\":403,\"code\":\"invalid_client_application\","
                       "\"action\":\"application-registration\",\"endpoint\":\"decisions.authorize\"}");
    json_decref(call(passauth_authorize, client, DEVICE, "Cablevision", "[\"REF30\"]", PASSAUTH_OK));
    CHECK(emulator_stat(&emu, "registrations", NULL) == 2);
    /* Twice in a row: registered again once, then surfaced. */
    emulator_add_fault(&emu, "{\"kind\":\"enhanced\",\"status\":403,\"code\":\"invalid_client_application\","
                       "\"action\":\"application-registration\",\"count\":2,\"endpoint\":\"decisions.authorize\"}");
    json_decref(call(passauth_authorize, client, DEVICE, "Cablevision", "[\"REF30\"]", PASSAUTH_E_SERVICE));
    json_t *err = last_error();
    CHECK(str_is(err, "action", "application-registration"));
    json_decref(err);
    CHECK(emulator_stat(&emu, "registrations", NULL) == 3);
    passauth_client_free(client);
}

static void test_retry_action_retried_then_given_up_after_three_attempts(void) {
    passauth_client *client = fresh_client(NULL);
    CHECK(harness_login_device(&emu, DEVICE_ID, "Cablevision"));
    /* Two failures, then success on the third attempt. */
    emulator_add_fault(&emu, "{\"kind\":\"enhanced\",\"status\":503,\"code\":\"network_connection_timeout\",\"action\":\"retry\","
                       "\"count\":2,\"endpoint\":\"decisions.authorize\"}");
    json_t *doc = call(passauth_authorize, client, DEVICE, "Cablevision", "[\"REF30\"]", PASSAUTH_OK);
    CHECK(json_is_true(json_object_get(json_array_get(json_object_get(doc, "decisions"), 0), "authorized")));
    json_decref(doc);
    CHECK(emulator_stat(&emu, NULL, "decisions.authorize") == 3);
    CHECK(stat_of(client, "retries") == 2);
    /* Three failures: three attempts, then the error surfaces. */
    emulator_add_fault(&emu, "{\"kind\":\"enhanced\",\"status\":503,\"code\":\"network_connection_timeout\",\"action\":\"retry\","
                       "\"count\":3,\"endpoint\":\"decisions.authorize\"}");
    json_decref(call(passauth_authorize, client, DEVICE, "Cablevision", "[\"REF30\"]", PASSAUTH_E_SERVICE));
    json_t *err = last_error();
    CHECK(str_is(err, "code", "network_connection_timeout") && str_is(err, "action", "retry"));
    json_decref(err);
    CHECK(emulator_stat(&emu, NULL, "decisions.authorize") == 6);
    CHECK(stat_of(client, "retries") == 4);
    /* Retries were spaced by a backoff. */
    json_t *log = emulator_get(&emu, "/_emulator/requests");
    size_t index;
    json_t *entry;
    long long times[6];
    int n = 0;
    json_array_foreach(json_object_get(log, "requests"), index, entry) {
        if (str_is(entry, "endpoint", "decisions.authorize") && n < 6) times[n++] = (long long)json_number_value(json_object_get(entry, "timeMs"));
    }
    CHECK(n == 6 && times[4] - times[3] >= 90 && times[5] - times[4] >= 190);
    json_decref(log);
    passauth_client_free(client);
}

static void test_429_waits_at_least_one_second(void) {
    passauth_client *client = fresh_client(NULL);
    CHECK(harness_login_device(&emu, DEVICE_ID, "Cablevision"));
    emulator_add_fault(&emu, "{\"kind\":\"http429\",\"endpoint\":\"decisions.authorize\"}");
    json_decref(call(passauth_authorize, client, DEVICE, "Cablevision", "[\"REF30\"]", PASSAUTH_OK));
    json_t *log = emulator_get(&emu, "/_emulator/requests");
    size_t index;
    json_t *entry;
    long long times[2] = {0};
    long statuses[2] = {0};
    int n = 0;
    json_array_foreach(json_object_get(log, "requests"), index, entry) {
        if (!str_is(entry, "endpoint", "decisions.authorize") || n >= 2) continue;
        statuses[n] = (long)json_integer_value(json_object_get(entry, "status"));
        times[n++] = (long long)json_number_value(json_object_get(entry, "timeMs"));
    }
    json_decref(log);
    CHECK(n == 2 && statuses[0] == 429 && statuses[1] == 200);
    CHECK_MSG(times[1] - times[0] >= 1000, "gap after 429 was %lld ms", times[1] - times[0]);
    CHECK(stat_of(client, "throttled") == 1 && stat_of(client, "retries") == 1);
    passauth_client_free(client);

    /* A Retry-After beyond timeoutMs fails fast with retryAfterMs. */
    client = fresh_client("\"logLevel\":\"none\",\"timeoutMs\":2000");
    CHECK(harness_login_device(&emu, DEVICE_ID, "Cablevision"));
    emulator_add_fault(&emu, "{\"kind\":\"http429\",\"retryAfter\":5,\"endpoint\":\"decisions.authorize\"}");
    json_decref(call(passauth_authorize, client, DEVICE, "Cablevision", "[\"REF30\"]", PASSAUTH_E_THROTTLED));
    json_t *err = last_error();
    long long retry_after = json_integer_value(json_object_get(err, "retryAfterMs"));
    CHECK_MSG(retry_after > 2000 && retry_after <= 5000, "retryAfterMs %lld", retry_after);
    json_decref(err);
    CHECK(emulator_stat(&emu, NULL, "decisions.authorize") == 1);
    passauth_client_free(client);
}

int main(void) {
    if (!emulator_start(&emu, "--no-throttle")) return 2;
    static const struct harness_case cases[] = {
        {"authorize_permit_with_media_token", test_authorize_permit_with_media_token},
        {"mixed_permit_and_deny_in_one_call", test_mixed_permit_and_deny_in_one_call},
        {"preauthorize_twelve_resources_in_three_requests", test_preauthorize_twelve_resources_in_three_requests},
        {"batch_size_is_configurable", test_batch_size_is_configurable},
        {"degraded_and_temppass_sources", test_degraded_and_temppass_sources},
        {"string_timestamps_become_numbers", test_string_timestamps_become_numbers},
        {"invalid_arguments", test_invalid_arguments},
        {"logout_clears_profile_and_cache", test_logout_clears_profile_and_cache},
        {"top_level_error_classes", test_top_level_error_classes},
        {"application_registration_registers_again_once", test_application_registration_registers_again_once},
        {"retry_action_retried_then_given_up_after_three_attempts", test_retry_action_retried_then_given_up_after_three_attempts},
        {"429_waits_at_least_one_second", test_429_waits_at_least_one_second},
        {NULL, NULL},
    };
    int rc = harness_run("decisions", cases);
    emulator_stop(&emu);
    return rc;
}
