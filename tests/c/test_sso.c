/* Single sign-on (platform identity, Roku, service token, Apple partner), TempPass, degraded access,
 * environments, and the endpoint-by-endpoint matrix of optional device headers, against the local
 * emulator. Each test resets the emulator and uses a fresh store and client. */
#include "harness.h"
#include "passauth.h"

#include <stdlib.h>
#include <string.h>

static emulator emu;

/* A JWT-shaped subject token whose payload is {"sub":"jane"}. */
#define SUBJECT "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJqYW5lIn0.sig"
#define SERVICE_TOKEN "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzdmMifQ.sig"
#define INFO "\"info\":{\"primaryHardwareType\":\"SetTopBox\",\"model\":\"Test\",\"vendor\":\"passauth\",\"osName\":\"Linux\"}"
#define PFS(access, provider) "{\"frameworkPermissionInfo\":{\"accessStatus\":\"" access "\"}," \
    "\"frameworkProviderInfo\":{\"id\":\"" provider "\",\"expirationDate\":\"4102444800000\"}}"
#define FORM "{\"domainName\":\"adobe.com\",\"redirectUrl\":\"https://adobe.com\"}"

static passauth_client *fresh_client(void) {
    json_decref(emulator_post(&emu, "/_emulator/reset", NULL));
    char *config = harness_config(&emu, harness_temp_dir(), "\"logLevel\":\"none\"");
    passauth_client *client = NULL;
    CHECK_STATUS(passauth_client_new(config, &client), PASSAUTH_OK);
    free(config);
    return client;
}

static const char *str(json_t *object, const char *key) { return json_string_value(json_object_get(object, key)); }

static bool str_is(json_t *object, const char *key, const char *expected) {
    const char *value = str(object, key);
    return value && strcmp(value, expected) == 0;
}

/* Runs a (client, device, arg, params, out) call and parses its result. */
static json_t *call4(int (*fn)(passauth_client *, const char *, const char *, const char *, char **),
                     passauth_client *client, const char *device, const char *arg, const char *params, int expected) {
    char *out = NULL;
    CHECK_STATUS(fn(client, device, arg, params, &out), expected);
    json_t *doc = harness_parse(out);
    if (expected == PASSAUTH_OK) CHECK_MSG(doc != NULL, "result is not JSON: %s", out ? out : "(null)");
    else CHECK(out == NULL);
    passauth_free(out);
    return doc;
}

static json_t *call3(int (*fn)(passauth_client *, const char *, const char *, char **), passauth_client *client,
                     const char *device, const char *arg, int expected) {
    char *out = NULL;
    CHECK_STATUS(fn(client, device, arg, &out), expected);
    json_t *doc = harness_parse(out);
    passauth_free(out);
    return doc;
}

static json_t *session_create(passauth_client *client, const char *device, const char *params) {
    char *out = NULL;
    CHECK_STATUS(passauth_session_create(client, device, params, &out), PASSAUTH_OK);
    json_t *doc = harness_parse(out);
    passauth_free(out);
    return doc;
}

static json_t *first_decision(json_t *doc) { return json_array_get(json_object_get(doc, "decisions"), 0); }

static const char *error_code(json_t *decision) { return str(json_object_get(decision, "error"), "code"); }

static bool last_error_code_is(const char *expected) {
    json_t *err = harness_parse(passauth_last_error());
    bool ok = str_is(err, "code", expected);
    json_decref(err);
    return ok;
}

/* The headers of the first logged request for `endpoint` (a new reference), or NULL. */
static json_t *logged_headers(const char *endpoint) {
    json_t *log = emulator_get(&emu, "/_emulator/requests");
    json_t *found = NULL, *request;
    size_t i;
    json_array_foreach(json_object_get(log, "requests"), i, request) {
        if (str_is(request, "endpoint", endpoint)) { found = json_incref(json_object_get(request, "headers")); break; }
    }
    json_decref(log);
    return found;
}

/* Logs the device in for `mvpd` through a session and the emulator's MVPD login. */
static void login_with_session(passauth_client *client, const char *device, const char *mvpd) {
    char params[256];
    snprintf(params, sizeof params, "{\"mvpd\":\"%s\",\"domainName\":\"adobe.com\",\"redirectUrl\":\"https://adobe.com\"}", mvpd);
    json_t *session = session_create(client, device, params);
    CHECK(str_is(session, "actionName", "authenticate"));
    char body[128];
    snprintf(body, sizeof body, "{\"code\":\"%s\"}", str(session, "code") ? str(session, "code") : "");
    json_t *login = emulator_post(&emu, "/_emulator/login", body);
    CHECK(login && json_object_get(login, "profile"));
    json_decref(login);
    json_decref(session);
}

/* --- platform identity and service token SSO -------------------------------------------------- */

static void sso_shared_between_devices(const char *key, const char *token, const char *header, const char *mvpd,
                                       const char *type) {
    passauth_client *client = fresh_client();
    char first[256], second[256];
    snprintf(first, sizeof first, "{\"id\":\"tv-1\",%s,\"%s\":\"%s\"}", INFO, key, token);
    snprintf(second, sizeof second, "{\"id\":\"tv-2\",%s,\"%s\":\"%s\"}", INFO, key, token);
    login_with_session(client, first, mvpd);

    json_t *profile = call3(passauth_profile_for_mvpd, client, second, mvpd, PASSAUTH_OK);
    CHECK_MSG(str_is(json_object_get(json_object_get(profile, "profiles"), mvpd), "type", type), "expected a %s profile", type);
    json_decref(profile);
    char params[128];
    snprintf(params, sizeof params, "{\"mvpd\":\"%s\"}", mvpd);
    json_t *session = session_create(client, second, params);
    CHECK(str_is(session, "actionName", "authorize") && str_is(session, "reasonType", "authenticatedSSO"));
    json_decref(session);
    json_t *decisions = call4(passauth_authorize, client, second, mvpd, "[\"REF30\"]", PASSAUTH_OK);
    CHECK(json_is_true(json_object_get(first_decision(decisions), "authorized")));
    json_decref(decisions);
    json_t *headers = logged_headers("decisions.authorize");
    CHECK(str_is(headers, header, token));
    json_decref(headers);
    /* A device without the SSO identity has no profile. */
    json_t *none = call3(passauth_profile_for_mvpd, client, "{\"id\":\"tv-3\"}", mvpd, PASSAUTH_OK);
    CHECK(json_object_size(json_object_get(none, "profiles")) == 0);
    json_decref(none);
    passauth_client_free(client);
}

static void test_platform_identity_sso(void) {
    sso_shared_between_devices("subjectToken", SUBJECT, "adobe-subject-token", "AdobePass_SMI", "platformSSO");
}

static void test_roku_platform_sso(void) {
    sso_shared_between_devices("rokuConnectToken", "roku-opaque-token", "x-roku-reserved-roku-connect-token",
                               "Cablevision", "platformSSO");
}

static void test_service_token_sso(void) {
    sso_shared_between_devices("serviceToken", SERVICE_TOKEN, "ad-service-token", "AdobeShibboleth", "serviceTokenSSO");
}

static void test_subject_token_wins_over_roku_token(void) {
    passauth_client *client = fresh_client();
    json_decref(call3(passauth_profile_for_mvpd, client,
                      "{\"id\":\"tv-1\",\"subjectToken\":\"" SUBJECT "\",\"rokuConnectToken\":\"roku\"}", "Cablevision", PASSAUTH_OK));
    json_t *headers = logged_headers("profiles.mvpd");
    CHECK(str_is(headers, "adobe-subject-token", SUBJECT));
    CHECK(json_object_get(headers, "x-roku-reserved-roku-connect-token") == NULL);
    json_decref(headers);
    passauth_client_free(client);
}

/* --- partner SSO (Apple) ------------------------------------------------------------------------ */

#define APPLE_DEVICE "{\"id\":\"appletv-1\"," INFO ",\"partnerFrameworkStatus\":" PFS("granted", "Cablevision") "}"

static void test_apple_partner_sso_journey_and_partner_logout(void) {
    passauth_client *client = fresh_client();
    json_t *session = call4(passauth_session_partner_sso, client, APPLE_DEVICE, "Apple", FORM, PASSAUTH_OK);
    CHECK(str_is(session, "actionName", "partner_profile") && str_is(session, "mvpd", "Cablevision"));
    CHECK(str_is(json_object_get(session, "authenticationRequest"), "type", "saml"));
    json_decref(session);

    /* base64("<samlp:Response>jane+/</samlp:Response>") has '+', '/' and '=' to URL-encode. */
    json_t *profiles = call4(passauth_profile_partner_sso, client, APPLE_DEVICE, "Apple",
                             "{\"SAMLResponse\":\"PHNhbWxwOlJlc3BvbnNlPmphbmUrLzwvc2FtbHA6UmVzcG9uc2U+\"}", PASSAUTH_OK);
    json_t *profile = json_object_get(json_object_get(profiles, "profiles"), "Cablevision");
    CHECK(str_is(profile, "type", "appleSSO") && str_is(profile, "issuer", "Apple"));
    CHECK(json_is_integer(json_object_get(profile, "notAfter")));
    json_decref(profiles);

    char *out = NULL;
    CHECK_STATUS(passauth_profiles_stored(client, APPLE_DEVICE, &out), PASSAUTH_OK);
    json_t *kept = harness_parse(out);
    passauth_free(out);
    CHECK(str_is(json_object_get(json_object_get(kept, "profiles"), "Cablevision"), "type", "appleSSO"));
    json_decref(kept);

    json_t *decisions = call4(passauth_authorize, client, APPLE_DEVICE, "Cablevision", "[\"REF30\"]", PASSAUTH_OK);
    CHECK(json_is_true(json_object_get(first_decision(decisions), "authorized")));
    json_decref(decisions);
    json_t *logout = call4(passauth_logout, client, APPLE_DEVICE, "Cablevision", "https://adobe.com/done", PASSAUTH_OK);
    json_t *action = json_object_get(json_object_get(logout, "logouts"), "Cablevision");
    CHECK(str_is(action, "actionName", "partner_logout") && str_is(action, "actionType", "partner_interactive"));
    json_decref(logout);
    CHECK(emulator_stat(&emu, NULL, "sessions.sso") == 1 && emulator_stat(&emu, NULL, "profiles.sso") == 1);
    passauth_client_free(client);
}

static void test_apple_partner_sso_fallbacks_and_errors(void) {
    passauth_client *client = fresh_client();
    json_t *denied = call4(passauth_session_partner_sso, client,
                           "{\"id\":\"appletv-1\",\"partnerFrameworkStatus\":" PFS("denied", "x") "}", "Apple", FORM, PASSAUTH_OK);
    CHECK(str_is(denied, "actionName", "authenticate") && str_is(denied, "reasonType", "pfs_fallback"));
    CHECK(str(denied, "code") != NULL);
    json_decref(denied);
    json_t *missing = call4(passauth_session_partner_sso, client, APPLE_DEVICE, "Apple", "{\"domainName\":\"adobe.com\"}", PASSAUTH_OK);
    CHECK(str_is(missing, "actionName", "resume") && str_is(missing, "reasonType", "missing_parameters_fallback"));
    json_decref(missing);
    json_decref(call4(passauth_profile_partner_sso, client,
                      "{\"id\":\"appletv-1\",\"partnerFrameworkStatus\":" PFS("notDetermined", "x") "}", "Apple",
                      "{\"SAMLResponse\":\"PHg+\"}", PASSAUTH_E_SERVICE));
    CHECK(last_error_code_is("invalid_header_pfs_permission_access_not_determined"));
    json_decref(call4(passauth_session_partner_sso, client, APPLE_DEVICE, "Google", FORM, PASSAUTH_E_SERVICE));
    CHECK(last_error_code_is("invalid_parameter_partner"));
    /* The partner is one path segment. */
    json_decref(call4(passauth_session_partner_sso, client, APPLE_DEVICE, "Ap/ple?x", FORM, PASSAUTH_E_SERVICE));
    json_t *log = emulator_get(&emu, "/_emulator/requests");
    json_t *last = json_array_get(json_object_get(log, "requests"), json_array_size(json_object_get(log, "requests")) - 1);
    CHECK_MSG(str_is(last, "path", "/api/v2/REF30/sessions/sso/Ap%2Fple%3Fx"), "path %s", str(last, "path"));
    json_decref(log);
    passauth_client_free(client);
}

static void test_partner_and_temppass_inputs_are_validated(void) {
    passauth_client *client = fresh_client();
    static const char *bad_devices[] = {
        "{\"id\":\"d\",\"partnerFrameworkStatus\":{\"frameworkPermissionInfo\":{\"accessStatus\":\"granted\"}}}",
        "{\"id\":\"d\",\"partnerFrameworkStatus\":{\"frameworkPermissionInfo\":{\"accessStatus\":\"maybe\"},\"frameworkProviderInfo\":{}}}",
        "{\"id\":\"d\",\"partnerFrameworkStatus\":{\"frameworkPermissionInfo\":{\"accessStatus\":\"granted\"},"
            "\"frameworkProviderInfo\":{\"id\":\"x\"}}}",
        "{\"id\":\"d\",\"partnerFrameworkStatus\":{\"frameworkPermissionInfo\":{\"accessStatus\":\"denied\",\"extra\":1},"
            "\"frameworkProviderInfo\":{}}}",
        "{\"id\":\"d\",\"partnerFrameworkStatus\":\"granted\"}",
        "{\"id\":\"d\",\"tempPassIdentity\":{}}",
        "{\"id\":\"d\",\"tempPassIdentity\":{\"email\":1}}",
        NULL,
    };
    for (int i = 0; bad_devices[i]; i++) {
        json_decref(call4(passauth_session_partner_sso, client, bad_devices[i], "Apple", FORM, PASSAUTH_E_INVALID_ARGUMENT));
    }
    json_decref(call4(passauth_session_partner_sso, client, APPLE_DEVICE, "", FORM, PASSAUTH_E_INVALID_ARGUMENT));
    json_decref(call4(passauth_session_partner_sso, client, APPLE_DEVICE, NULL, FORM, PASSAUTH_E_INVALID_ARGUMENT));
    json_decref(call4(passauth_session_partner_sso, client, APPLE_DEVICE, "Apple", "{\"mvpd\":\"x\"}", PASSAUTH_E_INVALID_ARGUMENT));
    json_decref(call4(passauth_profile_partner_sso, client, APPLE_DEVICE, "Apple", NULL, PASSAUTH_E_INVALID_ARGUMENT));
    json_decref(call4(passauth_profile_partner_sso, client, APPLE_DEVICE, "Apple", "{\"SAMLResponse\":\"<xml/>\"}",
                      PASSAUTH_E_INVALID_ARGUMENT));
    json_t *stats = emulator_get(&emu, "/_emulator/stats");
    CHECK(json_object_size(json_object_get(stats, "requests")) == 0);
    json_decref(stats);
    passauth_client_free(client);
}

/* --- TempPass and degraded access ---------------------------------------------------------------- */

static void test_basic_temppass_and_duration_limit(void) {
    passauth_client *client = fresh_client();
    json_decref(emulator_post(&emu, "/_emulator/config", "{\"tempPass\":{\"durationSeconds\":60}}"));
    json_t *session = session_create(client, NULL, "{\"mvpd\":\"TempPass_TEST40\"}");
    CHECK(str_is(session, "actionName", "authorize") && str_is(session, "reasonType", "temporary"));
    json_decref(session);
    json_t *decisions = call4(passauth_authorize, client, NULL, "TempPass_TEST40", "[\"REF30\"]", PASSAUTH_OK);
    json_t *d = first_decision(decisions);
    CHECK(str_is(d, "source", "temppass") && json_is_true(json_object_get(d, "authorized")));
    json_decref(decisions);
    json_decref(emulator_post(&emu, "/_emulator/advance", "{\"seconds\":61}"));
    decisions = call4(passauth_authorize, client, NULL, "TempPass_TEST40", "[\"REF30\"]", PASSAUTH_OK);
    d = first_decision(decisions);
    CHECK(json_is_false(json_object_get(d, "authorized")) && str_is(d, "source", "temppass"));
    CHECK_MSG(error_code(d) && strcmp(error_code(d), "temporary_access_duration_limit_exceeded") == 0, "code %s", error_code(d));
    json_decref(decisions);
    json_decref(call3(passauth_profile_for_mvpd, client, NULL, "TempPass_TEST40", PASSAUTH_E_SERVICE));
    CHECK(last_error_code_is("temporary_access_duration_limit_exceeded"));
    passauth_client_free(client);
}

static void test_promotional_temppass_identity(void) {
    passauth_client *client = fresh_client();
    json_decref(emulator_post(&emu, "/_emulator/config", "{\"tempPass\":{\"maxResources\":1}}"));
    const char *promo = "{\"id\":\"tv-promo\",\"tempPassIdentity\":{\"email\":\"jane@example.com\"}}";
    json_t *decisions = call4(passauth_authorize, client, promo, "flexibleTempPass", "[\"r1\",\"r2\"]", PASSAUTH_OK);
    json_t *first = first_decision(decisions), *second = json_array_get(json_object_get(decisions, "decisions"), 1);
    /* One request per resource, sent side by side: whichever reaches the service first gets the one resource. */
    if (!json_is_true(json_object_get(first, "authorized"))) { json_t *swap = first; first = second; second = swap; }
    CHECK(json_is_true(json_object_get(first, "authorized")) && str_is(first, "source", "temppass"));
    CHECK(error_code(second) && strcmp(error_code(second), "temporary_access_resources_limit_exceeded") == 0);
    json_decref(decisions);
    json_t *headers = logged_headers("decisions.authorize");
    /* base64 of {"email":"jane@example.com"} as jansson prints it compactly */
    CHECK(str_is(headers, "ap-temppass-identity", "eyJlbWFpbCI6ImphbmVAZXhhbXBsZS5jb20ifQ=="));
    json_decref(headers);
    decisions = call4(passauth_authorize, client, "{\"id\":\"tv-promo\"}", "flexibleTempPass", "[\"r1\"]", PASSAUTH_OK);
    const char *code = error_code(first_decision(decisions));
    CHECK(code && strcmp(code, "invalid_header_identity_for_temporary_access") == 0);
    json_decref(decisions);
    passauth_client_free(client);
}

static void test_degraded_access_is_a_normal_result(void) {
    passauth_client *client = fresh_client();
    json_decref(emulator_post(&emu, "/_emulator/config", "{\"degraded\":{\"Cablevision\":\"AuthNAll\"}}"));
    json_t *session = session_create(client, NULL, "{\"mvpd\":\"Cablevision\"}");
    CHECK(str_is(session, "actionName", "authorize") && str_is(session, "reasonType", "degraded"));
    json_decref(session);
    json_t *profile = call3(passauth_profile_for_mvpd, client, NULL, "Cablevision", PASSAUTH_OK);
    CHECK(str_is(json_object_get(json_object_get(profile, "profiles"), "Cablevision"), "type", "degraded"));
    json_decref(profile);
    json_t *decisions = call4(passauth_authorize, client, NULL, "Cablevision", "[\"REF30\"]", PASSAUTH_OK);
    json_t *d = first_decision(decisions);
    CHECK(str_is(d, "source", "degradation") && json_is_true(json_object_get(d, "authorized")));
    CHECK(json_object_get(d, "token") != NULL);
    json_decref(decisions);
    json_decref(emulator_post(&emu, "/_emulator/config", "{\"degraded\":{\"Cablevision\":\"AuthZNone\"}}"));
    CHECK(harness_login_device(&emu, "device-1", "Cablevision"));
    decisions = call4(passauth_authorize, client, NULL, "Cablevision", "[\"REF30\"]", PASSAUTH_OK);
    d = first_decision(decisions);
    CHECK(json_is_false(json_object_get(d, "authorized")) && str_is(d, "source", "degradation"));
    CHECK(error_code(d) && strcmp(error_code(d), "authorization_denied_by_degradation_rule") == 0);
    json_decref(decisions);
    passauth_client_free(client);
}

/* --- environments ------------------------------------------------------------------------------- */

static void test_environments_map_to_their_hosts(void) {
    static const char *pairs[][2] = {
        {"production", "https://sp.auth.adobe.com/api/v2/authenticate/REF30/8ER640M"},
        {"staging", "https://sp.auth-staging.adobe.com/api/v2/authenticate/REF30/8ER640M"},
        {"prequal-production", "https://sp-prequal.auth.adobe.com/api/v2/authenticate/REF30/8ER640M"},
        {"prequal-staging", "https://sp-prequal.auth-staging.adobe.com/api/v2/authenticate/REF30/8ER640M"},
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        char config[1024];
        snprintf(config, sizeof config, "{\"environment\":\"%s\",\"serviceProvider\":\"REF30\",\"softwareStatement\":\"%s\","
                 "\"store\":\"%s\",\"logLevel\":\"none\"}", pairs[i][0], HARNESS_SOFTWARE_STATEMENT, harness_temp_dir());
        passauth_client *client = NULL;
        CHECK_STATUS(passauth_client_new(config, &client), PASSAUTH_OK);
        char *url = NULL;
        CHECK_STATUS(passauth_authenticate_url(client, "8ER640M", &url), PASSAUTH_OK);
        CHECK_MSG(url && strcmp(url, pairs[i][1]) == 0, "%s: %s", pairs[i][0], url ? url : "(null)");
        passauth_free(url);
        passauth_client_free(client);
    }
    char config[1024];
    snprintf(config, sizeof config, "{\"environment\":\"qa\",\"serviceProvider\":\"REF30\",\"softwareStatement\":\"%s\"}",
             HARNESS_SOFTWARE_STATEMENT);
    passauth_client *client = NULL;
    CHECK_STATUS(passauth_client_new(config, &client), PASSAUTH_E_INVALID_ARGUMENT);
    CHECK(client == NULL);
}

/* --- the header matrix ---------------------------------------------------------------------------- */

enum { H_ID, H_INFO, H_XFF, H_UA, H_SUBJECT, H_ROKU, H_SERVICE, H_PFS, H_TEMPPASS, H_VISITOR, H_COUNT };
static const char *header_names[H_COUNT] = {
    "ap-device-identifier", "x-device-info", "x-forwarded-for", "user-agent", "adobe-subject-token",
    "x-roku-reserved-roku-connect-token", "ad-service-token", "ap-partner-framework-status", "ap-temppass-identity",
    "ap-visitor-identifier"};
#define B(h) (1u << (h))
#define DEV (B(H_ID) | B(H_INFO) | B(H_XFF) | B(H_UA) | B(H_VISITOR))
#define CODE (B(H_XFF) | B(H_UA) | B(H_VISITOR))
#define SSO (B(H_SUBJECT) | B(H_SERVICE)) /* Roku's token is the alternative of the subject token: never both */

/* From each endpoint's reference page (the pages under rest-apis/rest-api-v2/apis/), independently of the library. */
static const struct { const char *endpoint; unsigned documented; } matrix[] = {
    {"configuration", DEV & ~B(H_VISITOR)},
    {"sessions.create", DEV | SSO},
    {"sessions.resume", CODE},
    {"sessions.get", CODE},
    {"profiles", DEV | SSO | B(H_PFS)},
    {"profiles.mvpd", DEV | SSO | B(H_PFS) | B(H_TEMPPASS)},
    {"profiles.code", CODE | B(H_TEMPPASS)},
    {"decisions.preauthorize", DEV | SSO | B(H_PFS)},
    {"decisions.authorize", DEV | SSO | B(H_PFS) | B(H_TEMPPASS)},
    {"logout", DEV | SSO},
    {"sessions.sso", DEV | B(H_PFS)},
    {"profiles.sso", DEV | B(H_PFS)},
};

#define EVERY_VALUE "{\"id\":\"matrix-device\"," INFO ",\"ip\":\"203.0.113.7\",\"userAgent\":\"passauth-test/1\"," \
    "\"subjectToken\":\"" SUBJECT "\",\"rokuConnectToken\":\"roku\",\"serviceToken\":\"" SERVICE_TOKEN "\"," \
    "\"partnerFrameworkStatus\":" PFS("granted", "Cablevision") ",\"tempPassIdentity\":{\"email\":\"jane@example.com\"}," \
    "\"visitorId\":\"visitor-1\"}"

static void test_each_endpoint_sends_exactly_its_documented_headers(void) {
    passauth_client *client = fresh_client();
    const char *d = EVERY_VALUE;
    json_t *session = session_create(client, d, "{\"mvpd\":\"Cablevision\",\"domainName\":\"adobe.com\"}");
    const char *code = str(session, "code");
    CHECK(code != NULL);
    char *out = NULL;
    CHECK_STATUS(passauth_configuration(client, d, &out), PASSAUTH_OK);
    passauth_free(out);
    json_decref(call4(passauth_session_resume, client, d, code, "{\"redirectUrl\":\"https://adobe.com\"}", PASSAUTH_OK));
    json_decref(call3(passauth_session_get, client, d, code, PASSAUTH_OK));
    json_decref(call3(passauth_profile_for_code, client, d, code, PASSAUTH_OK));
    out = NULL;
    CHECK_STATUS(passauth_profiles(client, d, &out), PASSAUTH_OK);
    passauth_free(out);
    json_decref(call3(passauth_profile_for_mvpd, client, d, "Cablevision", PASSAUTH_OK));
    CHECK(harness_login_device(&emu, "matrix-device", "Cablevision"));
    json_decref(call4(passauth_preauthorize, client, d, "Cablevision", "[\"REF30\"]", PASSAUTH_OK));
    json_decref(call4(passauth_authorize, client, d, "Cablevision", "[\"REF30\"]", PASSAUTH_OK));
    json_decref(call4(passauth_session_partner_sso, client, d, "Apple", FORM, PASSAUTH_OK));
    json_decref(call4(passauth_profile_partner_sso, client, d, "Apple", "{\"SAMLResponse\":\"PHIvPg==\"}", PASSAUTH_OK));
    json_decref(call4(passauth_logout, client, d, "Cablevision", "https://adobe.com", PASSAUTH_OK));
    json_decref(session);

    for (size_t i = 0; i < sizeof matrix / sizeof matrix[0]; i++) {
        json_t *headers = logged_headers(matrix[i].endpoint);
        CHECK_MSG(headers != NULL, "no request logged for %s", matrix[i].endpoint);
        for (int h = 0; headers && h < H_COUNT; h++) {
            bool sent = json_object_get(headers, header_names[h]) != NULL;
            bool documented = (matrix[i].documented & B(h)) != 0;
            CHECK_MSG(sent == documented, "%s: %s %s", matrix[i].endpoint, header_names[h],
                      documented ? "is documented but was not sent" : "is not documented but was sent");
        }
        json_decref(headers);
    }
    passauth_client_free(client);
}

int main(void) {
    if (!emulator_start(&emu, "--no-throttle")) return 2;
    static const struct harness_case cases[] = {
        {"platform_identity_sso", test_platform_identity_sso},
        {"roku_platform_sso", test_roku_platform_sso},
        {"service_token_sso", test_service_token_sso},
        {"subject_token_wins_over_roku_token", test_subject_token_wins_over_roku_token},
        {"apple_partner_sso_journey_and_partner_logout", test_apple_partner_sso_journey_and_partner_logout},
        {"apple_partner_sso_fallbacks_and_errors", test_apple_partner_sso_fallbacks_and_errors},
        {"partner_and_temppass_inputs_are_validated", test_partner_and_temppass_inputs_are_validated},
        {"basic_temppass_and_duration_limit", test_basic_temppass_and_duration_limit},
        {"promotional_temppass_identity", test_promotional_temppass_identity},
        {"degraded_access_is_a_normal_result", test_degraded_access_is_a_normal_result},
        {"environments_map_to_their_hosts", test_environments_map_to_their_hosts},
        {"each_endpoint_sends_exactly_its_documented_headers", test_each_endpoint_sends_exactly_its_documented_headers},
        {NULL, NULL},
    };
    int rc = harness_run("sso", cases);
    emulator_stop(&emu);
    return rc;
}
