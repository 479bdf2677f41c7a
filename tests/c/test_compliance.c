/* Compliance with Adobe's rules (issue 17), each proved against the local emulator (which enforces them)
 * with a check that fails when the rule is broken:
 *   9.  authorization asks for one resource per request by default (authorizeBatchSize 1), in the
 *       caller's order; preauthorization keeps batches of 5;
 *   10. item-level "retry": only the items marked retry are asked again, at most 3 attempts in all;
 *   11. profile-gone codes (top-level and item-level) drop the stored profile and the cached permits;
 *   12. a successful authorization refreshes the stored profile in the background, at most once per
 *       profileRefreshMs;
 *   13. X-Device-Info: a host-built value on every call whose page lists the header, none where it does
 *       not, none with defaultDeviceInfo false; an "info" breaking the appendix is a warning (log line and
 *       statistic) or, with strictDeviceInfo, PASSAUTH_E_INVALID_ARGUMENT naming the field;
 *   14. server-to-server: ip and port fill X-Device-Info connectionIp / connectionPort and X-Forwarded-For;
 *   15. the configuration is cached per platform, not per device.
 * Each test resets the emulator and frees what it allocates (the suite runs under memcheck and ASan). */
#include "harness.h"
#include "passauth.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static emulator emu;

#define DEVICE_ID "tv-compliance-1"
#define DEVICE "{\"id\":\"" DEVICE_ID "\"}"
#define SESSION_PARAMS "{\"mvpd\":\"Cablevision\",\"domainName\":\"adobe.com\",\"redirectUrl\":\"https://adobe.com\"}"

/* --- helpers ---------------------------------------------------------------------------------- */

/* A config for the emulator with the given default device and extra members. */
static char *config_for(const char *device, const char *extra) {
    char *config = NULL;
    if (asprintf(&config, "{\"baseUrl\":\"%s\",\"serviceProvider\":\"REF30\",\"softwareStatement\":\"%s\",\"store\":\"%s\"%s%s%s%s}",
                 emu.base_url, HARNESS_SOFTWARE_STATEMENT, harness_temp_dir(), device ? ",\"device\":" : "", device ? device : "",
                 extra ? "," : "", extra ? extra : "") < 0)
        return NULL;
    return config;
}

/* A client after an emulator reset; pacing off (these tests make many requests per device). */
static passauth_client *fresh_client(const char *device, const char *extra) {
    emulator_reset(&emu);
    char extras[1024];
    bool level = extra && strstr(extra, "\"logLevel\"");
    snprintf(extras, sizeof extras, "%s\"pacing\":false%s%s", level ? "" : "\"logLevel\":\"none\",", extra ? "," : "", extra ? extra : "");
    char *config = config_for(device ? device : DEVICE, extras);
    passauth_client *client = NULL;
    CHECK_STATUS(passauth_client_new(config, &client), PASSAUTH_OK);
    free(config);
    return client;
}

static long requests_of(const char *endpoint) { return emulator_stat(&emu, NULL, endpoint); }

/* The emulator's logged requests of `endpoint` (NULL: all), as a new array reference. */
static json_t *logged(const char *endpoint) {
    json_t *log = emulator_get(&emu, "/_emulator/requests");
    json_t *out = json_array();
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(log, "requests"), i, r) {
        if (!endpoint || same(json_string_value(json_object_get(r, "endpoint")), endpoint)) json_array_append(out, r);
    }
    json_decref(log);
    return out;
}

/* The resources a logged decisions request asked for. */
static json_t *asked_resources(json_t *request) {
    json_t *body = harness_parse(json_string_value(json_object_get(request, "body")));
    json_t *resources = json_incref(json_object_get(body, "resources"));
    json_decref(body);
    return resources ? resources : json_array();
}

static const char *header(json_t *request, const char *name) {
    return json_string_value(json_object_get(json_object_get(request, "headers"), name));
}

static long long stat_of(passauth_client *client, const char *key) {
    char *out = NULL;
    long long value = -1;
    CHECK_STATUS(passauth_stats(client, &out), PASSAUTH_OK);
    if (out) passauth_json_get_int64(out, key, &value);
    passauth_free(out);
    return value;
}

/* "/decisions/i/<member>" of a result. */
static char *decision_string(const char *result, size_t i, const char *member) {
    char pointer[128];
    snprintf(pointer, sizeof pointer, "/decisions/%zu/%s", i, member);
    char *value = NULL;
    passauth_json_get_string(result, pointer, &value);
    return value;
}

static int decision_authorized(const char *result, size_t i) {
    char pointer[64];
    snprintf(pointer, sizeof pointer, "/decisions/%zu/authorized", i);
    int value = -1;
    passauth_json_get_bool(result, pointer, &value);
    return value;
}

static void check_decisions(const char *result, const char *const *resources, const int *authorized, size_t n, const char *what) {
    size_t count = 0;
    CHECK_MSG(passauth_json_count(result, "/decisions", &count) == PASSAUTH_OK && count == n, "%s: %zu decisions for %zu resources", what, count, n);
    for (size_t i = 0; i < n && i < count; i++) {
        char *resource = decision_string(result, i, "resource");
        CHECK_MSG(same(resource, resources[i]), "%s: decision %zu is for %s, expected %s", what, i, resource ? resource : "(none)", resources[i]);
        int got = decision_authorized(result, i);
        CHECK_MSG(got == authorized[i], "%s: decision %zu (%s) authorized %d, expected %d", what, i, resources[i], got, authorized[i]);
        passauth_free(resource);
    }
}

/* Whether the device's stored profiles list `mvpd`. */
static bool stored_has(passauth_client *client, const char *device, const char *mvpd, char **out_json) {
    char *out = NULL;
    CHECK_STATUS(passauth_profiles_stored(client, device, &out), PASSAUTH_OK);
    char pointer[128];
    snprintf(pointer, sizeof pointer, "/profiles/%s", mvpd);
    size_t members = 0;
    bool has = out && passauth_json_count(out, pointer, &members) == PASSAUTH_OK;
    if (out_json) *out_json = out;
    else passauth_free(out);
    return has;
}

static bool login_with(const char *device_id, const char *mvpd, const char *attributes_json) {
    char body[512];
    snprintf(body, sizeof body, "{\"deviceId\":\"%s\",\"mvpd\":\"%s\"%s%s}", device_id, mvpd, attributes_json ? ",\"attributes\":" : "",
             attributes_json ? attributes_json : "");
    json_t *answer = emulator_post(&emu, "/_emulator/profiles", body);
    bool ok = answer && json_object_get(answer, "profile");
    json_decref(answer);
    return ok;
}

/* --- 9. one resource per authorization request ----------------------------------------------------- */

static void test_authorize_one_resource_per_request(void) {
    passauth_client *client = fresh_client(NULL, NULL);
    if (!client) return;
    CHECK(emulator_configure(&emu, "{\"denyRules\":[{\"resource\":\"res-b\"}]}"));
    CHECK(harness_login_device(&emu, DEVICE_ID, "Cablevision"));
    const char *resources[] = {"res-c", "res-b", "REF30"};
    const int authorized[] = {1, 0, 1};
    char *out = NULL;
    CHECK_STATUS(passauth_authorize(client, DEVICE, "Cablevision", "[\"res-c\",\"res-b\",\"REF30\"]", &out), PASSAUTH_OK);
    if (out) check_decisions(out, resources, authorized, 3, "authorize, 3 resources");
    passauth_free(out);
    out = NULL;
    json_t *requests = logged("decisions.authorize");
    CHECK_MSG(json_array_size(requests) == 3, "3 resources made %zu authorize requests", json_array_size(requests));
    int seen[3] = {0};
    size_t i;
    json_t *r;
    json_array_foreach(requests, i, r) {
        json_t *asked = asked_resources(r);
        CHECK_MSG(json_array_size(asked) == 1, "an authorize request named %zu resources", json_array_size(asked));
        for (int k = 0; k < 3; k++) seen[k] += same(json_string_value(json_array_get(asked, 0)), resources[k]);
        CHECK_MSG(json_integer_value(json_object_get(r, "status")) == 200, "an authorize request was answered %lld",
                  (long long)json_integer_value(json_object_get(r, "status")));
        json_decref(asked);
    }
    CHECK_MSG(seen[0] == 1 && seen[1] == 1 && seen[2] == 1, "resources asked %d/%d/%d times", seen[0], seen[1], seen[2]);
    json_decref(requests);

    /* preauthorize keeps batches of 5: 7 resources, 2 requests */
    CHECK_STATUS(passauth_preauthorize(client, DEVICE, "Cablevision", "[\"r1\",\"r2\",\"r3\",\"r4\",\"r5\",\"r6\",\"r7\"]", &out), PASSAUTH_OK);
    size_t count = 0;
    if (out) CHECK(passauth_json_count(out, "/decisions", &count) == PASSAUTH_OK && count == 7);
    passauth_free(out);
    out = NULL;
    requests = logged("decisions.preauthorize");
    size_t sizes = 0;
    json_array_foreach(requests, i, r) {
        json_t *asked = asked_resources(r);
        sizes = sizes * 10 + json_array_size(asked);
        json_decref(asked);
    }
    CHECK_MSG(json_array_size(requests) == 2 && (sizes == 52 || sizes == 25), "preauthorize of 7: %zu requests (sizes %zu)",
              json_array_size(requests), sizes);
    json_decref(requests);
    passauth_client_free(client);

    /* asking for more per request than the service allows: its too_many_resources comes back */
    client = fresh_client(NULL, "\"authorizeBatchSize\":3");
    if (!client) return;
    CHECK(harness_login_device(&emu, DEVICE_ID, "Cablevision"));
    CHECK_STATUS(passauth_authorize(client, DEVICE, "Cablevision", "[\"res-c\",\"res-b\",\"REF30\"]", &out), PASSAUTH_E_SERVICE);
    CHECK_MSG(same(passauth_error_last()->code, "too_many_resources"), "%s", passauth_last_error());
    CHECK(requests_of("decisions.authorize") == 1);
    passauth_free(out);
    passauth_client_free(client);
}

/* --- 10. item-level retry ------------------------------------------------------------------------ */

static void test_item_level_retry(void) {
    passauth_client *client = fresh_client(NULL, NULL);
    if (!client) return;
    CHECK(harness_login_device(&emu, DEVICE_ID, "Cablevision"));
    /* one retry for res-b: asked again alone, then permitted */
    CHECK(emulator_configure(&emu, "{\"itemRetry\":[{\"resource\":\"res-b\",\"decision\":\"preauthorize\",\"count\":1}]}"));
    const char *resources[] = {"REF30", "res-b", "REF40"};
    const int all_permitted[] = {1, 1, 1};
    char *out = NULL;
    CHECK_STATUS(passauth_preauthorize(client, DEVICE, "Cablevision", "[\"REF30\",\"res-b\",\"REF40\"]", &out), PASSAUTH_OK);
    if (out) check_decisions(out, resources, all_permitted, 3, "preauthorize after one item retry");
    passauth_free(out);
    out = NULL;
    json_t *requests = logged("decisions.preauthorize");
    CHECK_MSG(json_array_size(requests) == 2, "%zu preauthorize requests, expected 2", json_array_size(requests));
    if (json_array_size(requests) == 2) {
        json_t *first = asked_resources(json_array_get(requests, 0)), *second = asked_resources(json_array_get(requests, 1));
        CHECK_MSG(json_array_size(first) == 3, "the first request named %zu resources", json_array_size(first));
        CHECK_MSG(json_array_size(second) == 1 && same(json_string_value(json_array_get(second, 0)), "res-b"),
                  "the retry asked for %zu resources (expected only res-b)", json_array_size(second));
        json_decref(first);
        json_decref(second);
    }
    json_decref(requests);

    /* five retries wanted: three attempts in all, then the decision keeps its retry error */
    passauth_client_free(client);
    client = fresh_client(NULL, NULL);
    if (!client) return;
    CHECK(harness_login_device(&emu, DEVICE_ID, "Cablevision"));
    CHECK(emulator_configure(&emu, "{\"itemRetry\":[{\"resource\":\"res-z\",\"count\":5,\"code\":\"network_received_error\"}]}"));
    const char *resources2[] = {"REF30", "res-z"};
    const int permitted2[] = {1, 0};
    CHECK_STATUS(passauth_preauthorize(client, DEVICE, "Cablevision", "[\"REF30\",\"res-z\"]", &out), PASSAUTH_OK);
    if (out) {
        check_decisions(out, resources2, permitted2, 2, "preauthorize, retry wanted 5 times");
        char *code = NULL, *action = NULL;
        passauth_json_get_string(out, "/decisions/1/error/code", &code);
        passauth_json_get_string(out, "/decisions/1/error/action", &action);
        CHECK_MSG(same(code, "network_received_error") && same(action, "retry"), "res-z's error: %s / %s", code ? code : "-", action ? action : "-");
        passauth_free(code);
        passauth_free(action);
    }
    passauth_free(out);
    out = NULL;
    requests = logged("decisions.preauthorize");
    if (!ENSURE(json_array_size(requests) == 3, "%zu preauthorize requests, expected 3 attempts", json_array_size(requests))) {
        size_t k;
        json_t *q;
        json_array_foreach(requests, k, q) fprintf(stderr, "      request %zu: %s\n", k + 1, json_string_value(json_object_get(q, "body")));
    }
    size_t i;
    json_t *r;
    json_array_foreach(requests, i, r) {
        json_t *asked = asked_resources(r);
        if (i == 0) {
            CHECK_MSG(json_array_size(asked) == 2, "attempt 1 asked %zu resources", json_array_size(asked));
            json_decref(asked);
            continue;
        }
        CHECK_MSG(json_array_size(asked) == 1 && same(json_string_value(json_array_get(asked, 0)), "res-z"), "attempt %zu asked %zu resources", i + 1,
                  json_array_size(asked));
        json_decref(asked);
    }
    json_decref(requests);
    /* the retry decision was not cached as a permit, REF30's permit was: the next call asks for res-z
       alone, three attempts again (the rule's last two uses, then a permit) */
    CHECK_STATUS(passauth_preauthorize(client, DEVICE, "Cablevision", "[\"REF30\",\"res-z\"]", &out), PASSAUTH_OK);
    if (out) CHECK_MSG(decision_authorized(out, 0) == 1 && decision_authorized(out, 1) == 1, "the third attempt's permit: %s", out);
    passauth_free(out);
    out = NULL;
    requests = logged("decisions.preauthorize");
    CHECK_MSG(json_array_size(requests) == 6, "%zu requests in all, expected 3 + 3", json_array_size(requests));
    json_array_foreach(requests, i, r) {
        if (i < 3) continue;
        json_t *asked = asked_resources(r);
        CHECK_MSG(json_array_size(asked) == 1 && same(json_string_value(json_array_get(asked, 0)), "res-z"), "request %zu asked %zu resources", i + 1,
                  json_array_size(asked));
        json_decref(asked);
    }
    json_decref(requests);

    /* authorization: the same rule, one resource per request */
    CHECK(emulator_configure(&emu, "{\"itemRetry\":[{\"resource\":\"REF40\",\"decision\":\"authorize\",\"count\":1}]}"));
    long before = requests_of("decisions.authorize");
    CHECK_STATUS(passauth_authorize(client, DEVICE, "Cablevision", "[\"REF30\",\"REF40\"]", &out), PASSAUTH_OK);
    if (out) {
        const char *both[] = {"REF30", "REF40"};
        const int yes[] = {1, 1};
        check_decisions(out, both, yes, 2, "authorize after an item retry");
    }
    passauth_free(out);
    CHECK_MSG(requests_of("decisions.authorize") == before + 3, "%ld authorize requests for 2 resources and 1 retry",
              requests_of("decisions.authorize") - before);
    passauth_client_free(client);
}

/* --- 11. profile-gone codes ---------------------------------------------------------------------- */

static void invalidate(const char *mvpd, bool item_level) {
    char body[256];
    snprintf(body, sizeof body, "{\"deviceId\":\"%s\",\"mvpd\":\"%s\",\"itemLevel\":%s}", DEVICE_ID, mvpd, item_level ? "true" : "false");
    json_t *answer = emulator_post(&emu, "/_emulator/invalidate-profile", body);
    CHECK_MSG(answer != NULL, "invalidate-profile refused");
    json_decref(answer);
}

/* Logs in to Cablevision and Spectrum, stores both profiles, caches a Cablevision permit. */
static void profiles_and_permit(passauth_client *client) {
    CHECK(harness_login_device(&emu, DEVICE_ID, "Cablevision"));
    CHECK(harness_login_device(&emu, DEVICE_ID, "Spectrum"));
    char *out = NULL;
    CHECK_STATUS(passauth_profiles(client, DEVICE, &out), PASSAUTH_OK);
    passauth_free(out);
    out = NULL;
    CHECK(stored_has(client, DEVICE, "Cablevision", NULL) && stored_has(client, DEVICE, "Spectrum", NULL));
    CHECK_STATUS(passauth_preauthorize(client, DEVICE, "Cablevision", "[\"REF30\"]", &out), PASSAUTH_OK);
    passauth_free(out);
    out = NULL;
    long before = requests_of("decisions.preauthorize");
    CHECK_STATUS(passauth_preauthorize(client, DEVICE, "Cablevision", "[\"REF30\"]", &out), PASSAUTH_OK);
    passauth_free(out);
    CHECK_MSG(requests_of("decisions.preauthorize") == before, "the permit was not cached (test setup)");
}

static void check_forgotten(passauth_client *client, const char *what) {
    char *stored = NULL;
    bool has = stored_has(client, DEVICE, "Cablevision", &stored);
    CHECK_MSG(!has, "%s: the stored profiles still list Cablevision: %.300s", what, stored ? stored : "");
    CHECK_MSG(stored_has(client, DEVICE, "Spectrum", NULL), "%s: the Spectrum profile was dropped too", what);
    passauth_free(stored);
    long before = requests_of("decisions.preauthorize");
    char *out = NULL;
    passauth_preauthorize(client, DEVICE, "Cablevision", "[\"REF30\"]", &out);
    passauth_free(out);
    CHECK_MSG(requests_of("decisions.preauthorize") == before + 1, "%s: the cached permit answered without a request", what);
}

static void test_profile_gone_drops_profile_and_permits(void) {
    passauth_client *client = fresh_client(NULL, NULL);
    if (!client) return;
    char *out = NULL;

    /* top-level: authorize fails with the code */
    profiles_and_permit(client);
    invalidate("Cablevision", false);
    CHECK_STATUS(passauth_authorize(client, DEVICE, "Cablevision", "[\"REF30\"]", &out), PASSAUTH_E_SERVICE);
    CHECK_MSG(same(passauth_error_last()->code, "authenticated_profile_invalidated"), "%s", passauth_last_error());
    passauth_free(out);
    out = NULL;
    check_forgotten(client, "top-level");

    /* item-level: authorize answers a deny carrying the code */
    passauth_client_free(client);
    client = fresh_client(NULL, NULL);
    if (!client) return;
    profiles_and_permit(client);
    invalidate("Cablevision", true);
    CHECK_STATUS(passauth_authorize(client, DEVICE, "Cablevision", "[\"REF30\"]", &out), PASSAUTH_OK);
    if (out) {
        char *code = NULL;
        passauth_json_get_string(out, "/decisions/0/error/code", &code);
        CHECK_MSG(decision_authorized(out, 0) == 0 && same(code, "authenticated_profile_invalidated"), "item-level: %s", out);
        passauth_free(code);
    }
    passauth_free(out);
    out = NULL;
    check_forgotten(client, "item-level");

    /* on a profile call: profile_for_mvpd answers the code top-level */
    passauth_client_free(client);
    client = fresh_client(NULL, NULL);
    if (!client) return;
    profiles_and_permit(client);
    invalidate("Cablevision", false);
    CHECK_STATUS(passauth_profile_for_mvpd(client, DEVICE, "Cablevision", &out), PASSAUTH_E_SERVICE);
    passauth_free(out);
    check_forgotten(client, "profiles.mvpd");
    passauth_client_free(client);
}

/* --- 12. profile refresh after authorization ------------------------------------------------------- */

static void test_profile_refresh_after_authorize(void) {
    passauth_client *client = fresh_client(NULL, NULL);
    if (!client) return;
    CHECK(login_with(DEVICE_ID, "Cablevision", "{\"householdID\":\"hh-old\"}"));
    CHECK(emulator_configure(&emu, "{\"attributesOnAuthorize\":[{\"deviceId\":\"" DEVICE_ID "\",\"mvpd\":\"Cablevision\",\"attributes\":{\"householdID\":\"hh-new\"}}]}"));
    char *out = NULL;
    CHECK_STATUS(passauth_profiles(client, DEVICE, &out), PASSAUTH_OK);
    passauth_free(out);
    out = NULL;
    char *stored = NULL;
    stored_has(client, DEVICE, "Cablevision", &stored);
    CHECK_MSG(stored && strstr(stored, "hh-old"), "the stored profile before authorization: %s", stored ? stored : "(none)");
    passauth_free(stored);
    stored = NULL;
    long refreshes = requests_of("profiles.mvpd");

    CHECK_STATUS(passauth_authorize(client, DEVICE, "Cablevision", "[\"REF30\"]", &out), PASSAUTH_OK);
    passauth_free(out);
    out = NULL;
    long long started = mono_ms();
    bool updated = false;
    while (!updated && mono_ms() - started < 1000) {
        stored_has(client, DEVICE, "Cablevision", &stored);
        updated = stored && strstr(stored, "hh-new");
        passauth_free(stored);
        stored = NULL;
        if (!updated) sleep_ms(20);
    }
    CHECK_MSG(updated, "the stored profile still has the old householdID a second after the authorization");
    CHECK_MSG(requests_of("profiles.mvpd") == refreshes + 1, "%ld profile requests after one authorization", requests_of("profiles.mvpd") - refreshes);

    /* a second authorization within profileRefreshMs: no second refresh */
    CHECK_STATUS(passauth_authorize(client, DEVICE, "Cablevision", "[\"REF30\"]", &out), PASSAUTH_OK);
    passauth_free(out);
    out = NULL;
    sleep_ms(500);
    CHECK_MSG(requests_of("profiles.mvpd") == refreshes + 1, "%ld profile requests after two authorizations", requests_of("profiles.mvpd") - refreshes);
    /* a deny refreshes nothing either (another device, its own period) */
    CHECK(emulator_configure(&emu, "{\"denyRules\":[{\"resource\":\"REF30\"}]}"));
    CHECK(harness_login_device(&emu, "tv-compliance-2", "Cablevision"));
    CHECK_STATUS(passauth_authorize(client, "{\"id\":\"tv-compliance-2\"}", "Cablevision", "[\"REF30\"]", &out), PASSAUTH_OK);
    passauth_free(out);
    sleep_ms(500);
    CHECK_MSG(requests_of("profiles.mvpd") == refreshes + 1, "a deny refreshed the profile");
    passauth_client_free(client);

    /* profileRefreshMs 0: never */
    client = fresh_client(NULL, "\"profileRefreshMs\":0");
    if (!client) return;
    CHECK(harness_login_device(&emu, DEVICE_ID, "Cablevision"));
    out = NULL;
    CHECK_STATUS(passauth_authorize(client, DEVICE, "Cablevision", "[\"REF30\"]", &out), PASSAUTH_OK);
    passauth_free(out);
    sleep_ms(500);
    CHECK_MSG(requests_of("profiles.mvpd") == 0, "profileRefreshMs 0 refreshed the profile");
    passauth_client_free(client);
}

/* --- 13. X-Device-Info ------------------------------------------------------------------------------- */

static unsigned char *base64_decoded(const char *text, size_t *len) {
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = strlen(text);
    unsigned char *out = malloc(n + 1);
    size_t o = 0;
    unsigned bits = 0;
    int have = 0;
    for (size_t i = 0; i < n; i++) {
        if (text[i] == '=') break;
        const char *p = strchr(alphabet, text[i]);
        if (!p || !text[i]) { free(out); return NULL; }
        bits = bits << 6 | (unsigned)(p - alphabet);
        have += 6;
        if (have >= 8) { have -= 8; out[o++] = (unsigned char)(bits >> have & 0xFF); }
    }
    out[o] = 0;
    *len = o;
    return out;
}

/* The X-Device-Info a logged request carried, decoded, or NULL. */
static json_t *device_info_of(json_t *request) {
    const char *value = header(request, "x-device-info");
    if (!value) return NULL;
    size_t len = 0;
    unsigned char *decoded = base64_decoded(value, &len);
    json_t *info = decoded ? json_loadb((const char *)decoded, len, 0, NULL) : NULL;
    free(decoded);
    return info;
}

/* Every call of the journey, for the device. */
static void journey(passauth_client *client, const char *device) {
    char *out = NULL, *code = NULL;
#define RUN(expr) do { out = NULL; (void)(expr); passauth_free(out); } while (0)
    RUN(passauth_register(client, &out));
    RUN(passauth_configuration(client, device, &out));
    char *session = NULL;
    CHECK_STATUS(passauth_session_create(client, device, "{\"mvpd\":\"Cablevision\"}", &session), PASSAUTH_OK);
    if (session) passauth_json_get_string(session, "/code", &code);
    passauth_free(session);
    if (code) {
        RUN(passauth_session_resume(client, device, code, "{\"domainName\":\"adobe.com\",\"redirectUrl\":\"https://adobe.com\"}", &out));
        RUN(passauth_session_get(client, device, code, &out));
        char body[128];
        snprintf(body, sizeof body, "{\"code\":\"%s\"}", code);
        json_decref(emulator_post(&emu, "/_emulator/login", body));
        RUN(passauth_profile_for_code(client, device, code, &out));
    }
    passauth_free(code);
    RUN(passauth_profiles(client, device, &out));
    RUN(passauth_profile_for_mvpd(client, device, "Cablevision", &out));
    RUN(passauth_preauthorize(client, device, "Cablevision", "[\"REF30\"]", &out));
    RUN(passauth_authorize(client, device, "Cablevision", "[\"REF30\"]", &out));
    RUN(passauth_logout(client, device, "Cablevision", "https://adobe.com", &out));
#undef RUN
}

static bool lists_device_info(const char *endpoint) {
    const char *without[] = {"sessions.resume", "sessions.get", "profiles.code"};
    for (size_t i = 0; i < 3; i++) if (same(endpoint, without[i])) return false;
    return true;
}

static void test_device_info_host_built(void) {
    passauth_client *client = fresh_client("{\"id\":\"" DEVICE_ID "\"}", "\"profileRefreshMs\":0");
    if (!client) return;
    journey(client, NULL);
    passauth_client_free(client);

    json_t *requests = logged(NULL);
    const char *expected[] = {"register", "token", "configuration", "sessions.create", "sessions.resume", "sessions.get", "profiles.code",
                              "profiles", "profiles.mvpd", "decisions.preauthorize", "decisions.authorize", "logout"};
    for (size_t e = 0; e < sizeof expected / sizeof *expected; e++) {
        int n = 0;
        size_t i;
        json_t *r;
        json_array_foreach(requests, i, r) n += same(json_string_value(json_object_get(r, "endpoint")), expected[e]);
        CHECK_MSG(n >= 1, "the journey made no %s request", expected[e]);
    }
    size_t i;
    json_t *r;
    json_array_foreach(requests, i, r) {
        const char *endpoint = json_string_value(json_object_get(r, "endpoint"));
        json_t *info = device_info_of(r);
        if (lists_device_info(endpoint)) {
            if (ENSURE(info != NULL, "%s: no (readable) X-Device-Info: %s", endpoint, header(r, "x-device-info") ? header(r, "x-device-info") : "absent")) {
                const char *fields[] = {"model", "osName", "osVersion", "version", "connectionType", "primaryHardwareType"};
                for (size_t f = 0; f < sizeof fields / sizeof *fields; f++) {
                    CHECK_MSG(json_string_length(json_object_get(info, fields[f])) > 0, "%s: X-Device-Info has no %s", endpoint, fields[f]);
                }
            }
        } else {
            CHECK_MSG(header(r, "x-device-info") == NULL, "%s sent X-Device-Info, which its page does not list", endpoint);
        }
        json_t *warnings = json_object_get(r, "warnings");
        char *text = json_dumps(warnings, JSON_COMPACT);
        CHECK_MSG(json_array_size(warnings) == 0, "%s: the emulator warns about the host-built X-Device-Info: %s", endpoint, text ? text : "?");
        free(text);
        json_decref(info);
    }
    json_decref(requests);

    /* defaultDeviceInfo false: no X-Device-Info at all */
    client = fresh_client("{\"id\":\"" DEVICE_ID "\"}", "\"profileRefreshMs\":0,\"defaultDeviceInfo\":false");
    if (!client) return;
    journey(client, NULL);
    passauth_client_free(client);
    requests = logged(NULL);
    CHECK(json_array_size(requests) >= 10);
    json_array_foreach(requests, i, r) {
        const char *endpoint = json_string_value(json_object_get(r, "endpoint"));
        CHECK_MSG(header(r, "x-device-info") == NULL, "defaultDeviceInfo false: %s sent X-Device-Info", endpoint);
    }
    json_decref(requests);
}

struct captured_log {
    pthread_mutex_t lock;
    char text[16384];
    size_t len;
    int warnings;
};

static void capture_line(void *user_data, int level, const char *message) {
    struct captured_log *log = user_data;
    pthread_mutex_lock(&log->lock);
    if (level == PASSAUTH_LOG_WARN) log->warnings++;
    log->len += (size_t)snprintf(log->text + log->len, sizeof log->text - log->len, "%d %s\n", level, message);
    if (log->len >= sizeof log->text) log->len = sizeof log->text - 1;
    pthread_mutex_unlock(&log->lock);
}

static void test_device_info_breaking_the_appendix(void) {
    static const struct { const char *info; const char *field; } broken[] = {
        {"{\"version\":\"1\",\"osName\":\"Linux\",\"osVersion\":\"6\",\"connectionType\":\"LAN\"}", "model"},
        {"{\"model\":\"m\",\"version\":\"1\",\"osName\":\"Plan9\",\"osVersion\":\"6\",\"connectionType\":\"LAN\"}", "osName"},
        {"{\"model\":\"m\",\"version\":\"1\",\"osName\":\"Linux\",\"osVersion\":\"6\",\"connectionType\":\"LAN\",\"connectionSecure\":\"maybe\"}", "connectionSecure"},
        {"{\"model\":\"m\",\"version\":\"1\",\"osName\":\"Linux\",\"osVersion\":\"6\",\"connectionType\":\"LAN\",\"displayWidth\":\"wide\"}", "displayWidth"},
        {"{\"model\":\"m\",\"version\":\"1\",\"osName\":\"Linux\",\"osVersion\":\"6\",\"connectionType\":\"LAN\",\"primaryHardwareType\":\"Toaster\"}", "primaryHardwareType"},
    };
    for (size_t b = 0; b < sizeof broken / sizeof *broken; b++) {
        char device[512];
        snprintf(device, sizeof device, "{\"id\":\"" DEVICE_ID "\",\"info\":%s}", broken[b].info);

        /* by default: a warning (log line, statistic), and the call is made */
        passauth_client *client = fresh_client(NULL, "\"logLevel\":\"warn\"");
        if (!client) return;
        struct captured_log log = {.lock = PTHREAD_MUTEX_INITIALIZER};
        CHECK_STATUS(passauth_set_log_callback(client, capture_line, &log), PASSAUTH_OK);
        char *out = NULL;
        CHECK_STATUS(passauth_configuration(client, device, &out), PASSAUTH_OK);
        passauth_free(out);
        pthread_mutex_lock(&log.lock);
        CHECK_MSG(log.warnings >= 1 && strstr(log.text, broken[b].field), "%s: no warning naming the field in the log: %.400s", broken[b].field, log.text);
        pthread_mutex_unlock(&log.lock);
        CHECK_MSG(stat_of(client, "/deviceInfoWarnings") >= 1, "%s: deviceInfoWarnings %lld", broken[b].field, stat_of(client, "/deviceInfoWarnings"));
        CHECK(requests_of("configuration") == 1);
        passauth_client_free(client);
        pthread_mutex_destroy(&log.lock);

        /* strictDeviceInfo: PASSAUTH_E_INVALID_ARGUMENT naming the field, and no request */
        client = fresh_client(NULL, "\"strictDeviceInfo\":true");
        if (!client) return;
        out = NULL;
        CHECK_STATUS(passauth_configuration(client, device, &out), PASSAUTH_E_INVALID_ARGUMENT);
        char key[96];
        snprintf(key, sizeof key, "device.info.%s", broken[b].field);
        CHECK_MSG(same(passauth_error_last()->key, key), "strict, %s: key %s: %s", broken[b].field,
                  passauth_error_last()->key ? passauth_error_last()->key : "(null)", passauth_last_error());
        CHECK(out == NULL && requests_of("configuration") == 0);
        passauth_free(out);
        /* the same info in the config's default device */
        char config_extra[600];
        snprintf(config_extra, sizeof config_extra, "\"logLevel\":\"none\",\"strictDeviceInfo\":true");
        passauth_client_free(client);
        char *config = config_for(device, config_extra);
        client = NULL;
        int status = passauth_client_new(config, &client);
        free(config);
        if (status == PASSAUTH_OK) {
            status = passauth_configuration(client, NULL, &out);
            passauth_free(out);
        }
        CHECK_MSG(status == PASSAUTH_E_INVALID_ARGUMENT && same(passauth_error_last()->key, key), "strict, default device, %s: %s %s",
                  broken[b].field, passauth_status_name(status), passauth_last_error());
        passauth_client_free(client);
    }

    /* a complete, valid info: no warning, not even in strict mode */
    passauth_client *client = fresh_client(NULL, "\"strictDeviceInfo\":true");
    if (!client) return;
    char *out = NULL;
    const char *good = "{\"id\":\"" DEVICE_ID "\",\"info\":{\"primaryHardwareType\":\"SetTopBox\",\"model\":\"m\",\"version\":\"1\",\"osName\":\"Linux\","
                       "\"osVersion\":\"6\",\"connectionType\":\"LAN\",\"connectionSecure\":true,\"displayWidth\":1920}}";
    CHECK_STATUS(passauth_configuration(client, good, &out), PASSAUTH_OK);
    passauth_free(out);
    CHECK(stat_of(client, "/deviceInfoWarnings") == 0);
    json_t *requests = logged("configuration");
    CHECK_MSG(json_array_size(json_object_get(json_array_get(requests, 0), "warnings")) == 0, "the emulator warns about a valid info");
    json_decref(requests);
    passauth_client_free(client);
}

/* --- 14. server-to-server ------------------------------------------------------------------------- */

static void test_server_to_server_connection(void) {
    passauth_client *client = fresh_client("{\"id\":\"s2s-default\"}", "\"profileRefreshMs\":0");
    if (!client) return;
    /* no info: the host-built value gains the device's address */
    const char *device = "{\"id\":\"" DEVICE_ID "\",\"ip\":\"203.0.113.7\",\"port\":40123}";
    CHECK(harness_login_device(&emu, DEVICE_ID, "Cablevision"));
    char *out = NULL;
    CHECK_STATUS(passauth_configuration(client, device, &out), PASSAUTH_OK);
    passauth_free(out);
    out = NULL;
    CHECK_STATUS(passauth_profiles(client, device, &out), PASSAUTH_OK);
    passauth_free(out);
    out = NULL;
    CHECK_STATUS(passauth_authorize(client, device, "Cablevision", "[\"REF30\"]", &out), PASSAUTH_OK);
    passauth_free(out);
    out = NULL;
    /* the caller's info: its connectionIp stays, connectionPort is filled */
    const char *with_info = "{\"id\":\"" DEVICE_ID "\",\"ip\":\"203.0.113.7\",\"port\":40123,\"info\":{\"model\":\"m\",\"version\":\"1\","
                            "\"osName\":\"Linux\",\"osVersion\":\"6\",\"connectionType\":\"LAN\",\"connectionIp\":\"198.51.100.9\"}}";
    CHECK_STATUS(passauth_profiles(client, with_info, &out), PASSAUTH_OK);
    passauth_free(out);
    passauth_client_free(client);

    json_t *requests = logged(NULL);
    size_t i;
    json_t *r;
    int checked = 0;
    json_array_foreach(requests, i, r) {
        const char *endpoint = json_string_value(json_object_get(r, "endpoint"));
        if (same(endpoint, "register") || same(endpoint, "token")) continue; /* the DCR calls act for the default device */
        bool last = i == json_array_size(requests) - 1;
        const char *xff = header(r, "x-forwarded-for");
        CHECK_MSG(same(xff, "203.0.113.7"), "%s: X-Forwarded-For %s", endpoint, xff ? xff : "absent");
        json_t *info = device_info_of(r);
        if (!ENSURE(info != NULL, "%s: no X-Device-Info", endpoint)) continue;
        const char *ip = json_string_value(json_object_get(info, "connectionIp"));
        json_t *port = json_object_get(info, "connectionPort");
        long long port_value = json_is_integer(port) ? json_integer_value(port) : json_is_string(port) ? atoll(json_string_value(port)) : -1;
        CHECK_MSG(same(ip, last ? "198.51.100.9" : "203.0.113.7"), "%s: connectionIp %s", endpoint, ip ? ip : "absent");
        CHECK_MSG(port_value == 40123, "%s: connectionPort %lld", endpoint, port_value);
        if (!last) {
            json_t *warnings = json_object_get(r, "warnings");
            char *text = json_dumps(warnings, JSON_COMPACT);
            CHECK_MSG(json_array_size(warnings) == 0, "%s: warnings %s", endpoint, text ? text : "?");
            free(text);
        }
        json_decref(info);
        checked++;
    }
    CHECK_MSG(checked == 4, "%d requests checked", checked);
    json_decref(requests);
}

/* --- 15. configuration cache per platform ---------------------------------------------------------- */

static void test_configuration_cache_per_platform(void) {
    passauth_client *client = fresh_client(NULL, NULL);
    if (!client) return;
#define INFO(os, rest) "\"info\":{\"primaryHardwareType\":\"SetTopBox\",\"model\":\"stb-1\",\"version\":\"1\",\"osName\":\"" os "\"," \
                       "\"osVersion\":\"6\",\"connectionType\":\"LAN\"" rest "}"
    const char *a = "{\"id\":\"stb-a\",\"ip\":\"203.0.113.1\",\"port\":1000," INFO("Linux", ",\"displayWidth\":1920") "}";
    const char *b = "{\"id\":\"stb-b\",\"ip\":\"203.0.113.2\",\"port\":2000," INFO("Linux", ",\"displayWidth\":1280,\"connectionIp\":\"203.0.113.2\"") "}";
    const char *c = "{\"id\":\"stb-c\"," INFO("Android", "") "}";
#undef INFO
    char *out = NULL;
    CHECK_STATUS(passauth_configuration(client, a, &out), PASSAUTH_OK);
    passauth_free(out);
    out = NULL;
    CHECK_STATUS(passauth_configuration(client, b, &out), PASSAUTH_OK);
    passauth_free(out);
    out = NULL;
    CHECK_MSG(requests_of("configuration") == 1, "two devices of one platform made %ld configuration requests", requests_of("configuration"));
    CHECK(stat_of(client, "/cacheHits") == 1);
    CHECK_STATUS(passauth_configuration(client, c, &out), PASSAUTH_OK);
    passauth_free(out);
    out = NULL;
    CHECK_MSG(requests_of("configuration") == 2, "another osName made %ld configuration requests in all", requests_of("configuration"));
    CHECK_STATUS(passauth_configuration(client, c, &out), PASSAUTH_OK);
    passauth_free(out);
    CHECK(requests_of("configuration") == 2);
    passauth_client_free(client);
}

int main(void) {
    if (!emulator_start(&emu, "--no-throttle")) return 2;
    struct harness_case tests[] = {
        {"authorize_one_resource_per_request", test_authorize_one_resource_per_request},
        {"item_level_retry", test_item_level_retry},
        {"profile_gone_drops_profile_and_permits", test_profile_gone_drops_profile_and_permits},
        {"profile_refresh_after_authorize", test_profile_refresh_after_authorize},
        {"device_info_host_built", test_device_info_host_built},
        {"device_info_breaking_the_appendix", test_device_info_breaking_the_appendix},
        {"server_to_server_connection", test_server_to_server_connection},
        {"configuration_cache_per_platform", test_configuration_cache_per_platform},
        {NULL, NULL},
    };
    const char *only = getenv("PASSAUTH_TEST_ONLY");
    if (only) {
        for (struct harness_case *c = tests; c->name; c++) {
            if (strcmp(c->name, only) == 0) { tests[0] = *c; tests[1] = (struct harness_case){NULL, NULL}; break; }
        }
    }
    int rc = harness_run("compliance", tests);
    emulator_stop(&emu);
    return rc;
}
