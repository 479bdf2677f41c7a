/* Hostile input from the caller (issue 11): NULL for every pointer argument of every function in
 * passauth.h, invalid UTF-8 in every string argument, non-JSON and wrong-typed JSON for every JSON
 * input, CR/LF/NUL in device values that become headers, path-escaping text in mvpd / code / partner
 * (percent-encoded into one path segment, checked in the emulator's request log), and 1 MB inputs.
 * Each yields a typed status and never crashes.
 * NUL cannot be inside a C string: the library sees the string up to the NUL. Inside JSON, "\u0000"
 * is refused by the parser (PASSAUTH_E_INVALID_ARGUMENT), tested below.
 * Use after free (passauth_free / passauth_client_free / passauth_poll_free twice, cancel after free)
 * is documented as undefined behaviour in passauth.h and not exercised. */
#include "harness.h"
#include "passauth.h"

#include <stdlib.h>
#include <string.h>

static emulator emu;

#define DEVICE "{\"id\":\"tv-hostile-1\"}"
#define BAD_UTF8 "\xff\xfe\xc3("

static passauth_client *client;

static passauth_client *fresh_client(void) {
    json_decref(emulator_post(&emu, "/_emulator/reset", NULL));
    char *config = harness_config(&emu, harness_temp_dir(), "\"logLevel\":\"none\",\"pacing\":false,\"timeoutMs\":3000");
    passauth_client *c = NULL;
    CHECK_STATUS(passauth_client_new(config, &c), PASSAUTH_OK);
    free(config);
    return c;
}

/* --- a generic description of every function with pointer arguments ---------------------------- */

enum fn {
    CLIENT_NEW, STATS, REGISTER, CONFIGURATION, MVPDS, MVPD_SELECT, MVPD_SELECTED, SESSION_CREATE, SESSION_RESUME,
    SESSION_GET, AUTHENTICATE_URL, PROFILES, PROFILE_FOR_MVPD, PROFILE_FOR_CODE, PROFILES_STORED, PROFILE_PICK,
    SESSION_PARTNER_SSO, PROFILE_PARTNER_SSO, POLL_START, POLL_WAIT, PREAUTHORIZE, AUTHORIZE, LOGOUT, FN_COUNT
};

/* s[i]: string arguments in order; nullable[i]: the header allows NULL for it; json[i]: a JSON input. */
struct signature {
    const char *name;
    int nstr;
    const char *valid[4];
    bool nullable[4];
    bool json[4];
    const char *wrong_type[4]; /* well-formed JSON of the wrong type (NULL: no JSON input) */
    bool has_client;
    bool has_out;
};

static const char *SAML = "{\"SAMLResponse\":\"PHNhbWw+PC9zYW1sPg==\"}";

static const struct signature sigs[FN_COUNT] = {
    [CLIENT_NEW] = {"client_new", 1, {"{}"}, {false}, {true}, {"[]"}, false, true},
    [STATS] = {"stats", 0, {0}, {0}, {0}, {0}, true, true},
    [REGISTER] = {"register", 0, {0}, {0}, {0}, {0}, true, true},
    [CONFIGURATION] = {"configuration", 1, {DEVICE}, {true}, {true}, {"[\"id\"]"}, true, true},
    [MVPDS] = {"mvpds", 2, {DEVICE, "{}"}, {true, true}, {true, true}, {"7", "{\"tempPass\":\"no\"}"}, true, true},
    [MVPD_SELECT] = {"mvpd_select", 2, {DEVICE, "{\"id\":\"Cablevision\"}"}, {true, false}, {true, true}, {"\"x\"", "{\"id\":5}"}, true, false},
    [MVPD_SELECTED] = {"mvpd_selected", 1, {DEVICE}, {true}, {true}, {"{\"id\":[1]}"}, true, true},
    [SESSION_CREATE] = {"session_create", 2, {DEVICE, "{\"mvpd\":\"Cablevision\"}"}, {true, true}, {true, true}, {"null", "{\"mvpd\":1}"}, true, true},
    [SESSION_RESUME] = {"session_resume", 3, {DEVICE, "ABC1234", "{}"}, {true, false, true}, {true, false, true}, {"{\"ip\":4}", NULL, "[\"mvpd\"]"}, true, true},
    [SESSION_GET] = {"session_get", 2, {DEVICE, "ABC1234"}, {true, false}, {true, false}, {"{\"info\":\"x\"}", NULL}, true, true},
    [AUTHENTICATE_URL] = {"authenticate_url", 1, {"ABC1234"}, {false}, {false}, {NULL}, true, true},
    [PROFILES] = {"profiles", 1, {DEVICE}, {true}, {true}, {"{\"unknownKey\":1}"}, true, true},
    [PROFILE_FOR_MVPD] = {"profile_for_mvpd", 2, {DEVICE, "Cablevision"}, {true, false}, {true, false}, {"true", NULL}, true, true},
    [PROFILE_FOR_CODE] = {"profile_for_code", 2, {DEVICE, "ABC1234"}, {true, false}, {true, false}, {"1.5", NULL}, true, true},
    [PROFILES_STORED] = {"profiles_stored", 1, {DEVICE}, {true}, {true}, {"[]"}, true, true},
    [PROFILE_PICK] = {"profile_pick", 1, {"{\"profiles\":{}}"}, {false}, {true}, {"[1,2]"}, false, true},
    [SESSION_PARTNER_SSO] = {"session_partner_sso", 3, {DEVICE, "Apple", "{}"}, {true, false, true}, {true, false, true}, {"\"dev\"", NULL, "{\"SAMLResponse\":1}"}, true, true},
    [PROFILE_PARTNER_SSO] = {"profile_partner_sso", 3, {DEVICE, "Apple", NULL}, {true, false, false}, {true, false, true}, {"0", NULL, "{\"SAMLResponse\":[]}"}, true, true},
    [POLL_START] = {"poll_start", 3, {DEVICE, "ABC1234", "{}"}, {true, false, true}, {true, false, true}, {"{\"id\":{}}", NULL, "{\"intervalMs\":\"fast\"}"}, true, true},
    [POLL_WAIT] = {"poll_wait", 0, {0}, {0}, {0}, {0}, false, true},
    [PREAUTHORIZE] = {"preauthorize", 3, {DEVICE, "Cablevision", "[\"REF30\"]"}, {true, false, false}, {true, false, true}, {"[]", NULL, "{\"resources\":[\"REF30\"]}"}, true, true},
    [AUTHORIZE] = {"authorize", 3, {DEVICE, "Cablevision", "[\"REF30\"]"}, {true, false, false}, {true, false, true}, {"[]", NULL, "[1]"}, true, true},
    [LOGOUT] = {"logout", 3, {DEVICE, "Cablevision", "https://adobe.com"}, {true, false, false}, {true, false, false}, {"[]", NULL, NULL}, true, true},
};

/* Calls function `f` with the given client, strings and out pointer (NULL_OUT: pass NULL as out). */
static int invoke(enum fn f, passauth_client *c, const char *const s[4], bool null_out) {
    char *out = NULL;
    char **o = null_out ? NULL : &out;
    int status = -1000;
    switch (f) {
    case CLIENT_NEW: {
        passauth_client *made = NULL;
        status = passauth_client_new(s[0], null_out ? NULL : &made);
        passauth_client_free(made);
        return status;
    }
    case STATS: status = passauth_stats(c, o); break;
    case REGISTER: status = passauth_register(c, o); break;
    case CONFIGURATION: status = passauth_configuration(c, s[0], o); break;
    case MVPDS: status = passauth_mvpds(c, s[0], s[1], o); break;
    case MVPD_SELECT: status = passauth_mvpd_select(c, s[0], s[1]); break;
    case MVPD_SELECTED: status = passauth_mvpd_selected(c, s[0], o); break;
    case SESSION_CREATE: status = passauth_session_create(c, s[0], s[1], o); break;
    case SESSION_RESUME: status = passauth_session_resume(c, s[0], s[1], s[2], o); break;
    case SESSION_GET: status = passauth_session_get(c, s[0], s[1], o); break;
    case AUTHENTICATE_URL: status = passauth_authenticate_url(c, s[0], o); break;
    case PROFILES: status = passauth_profiles(c, s[0], o); break;
    case PROFILE_FOR_MVPD: status = passauth_profile_for_mvpd(c, s[0], s[1], o); break;
    case PROFILE_FOR_CODE: status = passauth_profile_for_code(c, s[0], s[1], o); break;
    case PROFILES_STORED: status = passauth_profiles_stored(c, s[0], o); break;
    case PROFILE_PICK: status = passauth_profile_pick(s[0], o); break;
    case SESSION_PARTNER_SSO: status = passauth_session_partner_sso(c, s[0], s[1], s[2], o); break;
    case PROFILE_PARTNER_SSO: status = passauth_profile_partner_sso(c, s[0], s[1], s[2], o); break;
    case POLL_START: {
        passauth_poll *poll = NULL;
        status = passauth_poll_start(c, s[0], s[1], s[2], NULL, NULL, null_out ? NULL : &poll);
        passauth_poll_free(poll);
        return status;
    }
    case POLL_WAIT: status = passauth_poll_wait(NULL, 0, o); break;
    case PREAUTHORIZE: status = passauth_preauthorize(c, s[0], s[1], s[2], o); break;
    case AUTHORIZE: status = passauth_authorize(c, s[0], s[1], s[2], o); break;
    case LOGOUT: status = passauth_logout(c, s[0], s[1], s[2], o); break;
    case FN_COUNT: break;
    }
    if (status != PASSAUTH_OK) CHECK_MSG(out == NULL, "%s: output set on failure", sigs[f].name);
    passauth_free(out);
    return status;
}

static void valid_args(enum fn f, const char *s[4]) {
    for (int i = 0; i < 4; i++) s[i] = sigs[f].valid[i];
    if (f == PROFILE_PARTNER_SSO) s[2] = SAML;
}

static bool is_known_status(int s) { return s <= 0 && s >= PASSAUTH_E_NOT_FOUND && s != PASSAUTH_E_INTERNAL; }

/* --- tests ------------------------------------------------------------------------------------ */

static void test_null_for_every_pointer(void) {
    int calls = 0;
    for (int f = 0; f < FN_COUNT; f++) {
        const char *s[4];
        /* the handle */
        if (sigs[f].has_client) {
            valid_args(f, s);
            CHECK_MSG(invoke(f, NULL, s, false) == PASSAUTH_E_INVALID_ARGUMENT, "%s(NULL client): %s", sigs[f].name, passauth_last_error());
            calls++;
        }
        /* each string argument */
        for (int i = 0; i < sigs[f].nstr; i++) {
            valid_args(f, s);
            s[i] = NULL;
            int status = invoke(f, client, s, false);
            calls++;
            if (sigs[f].nullable[i]) CHECK_MSG(is_known_status(status), "%s(arg %d NULL) -> %d", sigs[f].name, i, status);
            else CHECK_MSG(status == PASSAUTH_E_INVALID_ARGUMENT, "%s(arg %d NULL) -> %s: %s", sigs[f].name, i,
                           passauth_status_name(status), passauth_last_error());
        }
        /* the out-parameter (poll_wait's out_json may be NULL: it is the poll that is NULL here) */
        if (sigs[f].has_out && f != POLL_WAIT) {
            valid_args(f, s);
            int status = invoke(f, client, s, true);
            calls++;
            CHECK_MSG(status == PASSAUTH_E_INVALID_ARGUMENT, "%s(out NULL) -> %s", sigs[f].name, passauth_status_name(status));
        }
    }
    /* NULL handles of the void functions and of poll_wait */
    passauth_client_free(NULL);
    passauth_free(NULL);
    passauth_poll_cancel(NULL);
    passauth_poll_free(NULL);
    CHECK_STATUS(passauth_poll_wait(NULL, 0, NULL), PASSAUTH_E_INVALID_ARGUMENT);
    CHECK(passauth_status_name(12345) != NULL && passauth_last_error() != NULL);
    printf("  %d calls with a NULL pointer\n", calls);
}

static void test_invalid_utf8_everywhere(void) {
    for (int f = 0; f < FN_COUNT; f++) {
        for (int i = 0; i < sigs[f].nstr; i++) {
            const char *s[4];
            valid_args(f, s);
            s[i] = BAD_UTF8;
            int status = invoke(f, client, s, false);
            CHECK_MSG(status == PASSAUTH_E_INVALID_ARGUMENT, "%s(arg %d invalid UTF-8) -> %s", sigs[f].name, i,
                      passauth_status_name(status));
            /* invalid UTF-8 inside a JSON string */
            if (sigs[f].json[i]) {
                s[i] = "{\"id\":\"\xff\"}";
                status = invoke(f, client, s, false);
                CHECK_MSG(status == PASSAUTH_E_INVALID_ARGUMENT, "%s(arg %d JSON with bad UTF-8) -> %s", sigs[f].name, i,
                          passauth_status_name(status));
            }
        }
    }
}

static void test_non_json_and_wrong_types(void) {
    static const char *non_json[] = {"", "{", "not json", "{\"a\":1} trailing", "{\"a\":1,\"a\":2}", "'single'", "{\"a\":\"\\u0000\"}"};
    for (int f = 0; f < FN_COUNT; f++) {
        for (int i = 0; i < sigs[f].nstr; i++) {
            if (!sigs[f].json[i]) continue;
            const char *s[4];
            for (size_t k = 0; k < sizeof non_json / sizeof *non_json; k++) {
                valid_args(f, s);
                s[i] = non_json[k];
                int status = invoke(f, client, s, false);
                CHECK_MSG(status == PASSAUTH_E_INVALID_ARGUMENT, "%s(arg %d = %s) -> %s", sigs[f].name, i, non_json[k],
                          passauth_status_name(status));
            }
            if (sigs[f].wrong_type[i]) {
                valid_args(f, s);
                s[i] = sigs[f].wrong_type[i];
                int status = invoke(f, client, s, false);
                CHECK_MSG(status == PASSAUTH_E_INVALID_ARGUMENT, "%s(arg %d = %s) -> %s: %s", sigs[f].name, i,
                          sigs[f].wrong_type[i], passauth_status_name(status), passauth_last_error());
            }
        }
    }
}

/* How many service requests the emulator has logged (control calls are not logged). */
static long service_requests(void) {
    json_t *log = emulator_get(&emu, "/_emulator/requests");
    long n = (long)json_array_size(json_object_get(log, "requests"));
    json_decref(log);
    return n;
}

/* Device values become headers: CR, LF and NUL (as \u0000 in JSON) are refused before any request. */
static void test_header_injection_in_device_values(void) {
    static const char *devices[] = {
        "{\"id\":\"tv\\r\\nX-Injected: 1\"}",
        "{\"id\":\"tv\",\"userAgent\":\"UA\\nX-Injected: 1\"}",
        "{\"id\":\"tv\",\"ip\":\"10.0.0.1\\r\\n\"}",
        "{\"id\":\"tv\",\"visitorId\":\"v\\rX\"}",
        "{\"id\":\"tv\",\"subjectToken\":\"abc\\ndef\"}",
        "{\"id\":\"tv\",\"serviceToken\":\"abc\\r\\ndef\"}",
        "{\"id\":\"tv\",\"rokuConnectToken\":\"a\\nb\"}",
        "{\"id\":\"tv\\u0000hidden\"}",
    };
    long before = service_requests();
    for (size_t k = 0; k < sizeof devices / sizeof *devices; k++) {
        char *out = NULL;
        int status = passauth_authorize(client, devices[k], "Cablevision", "[\"REF30\"]", &out);
        CHECK_MSG(status == PASSAUTH_E_INVALID_ARGUMENT, "device %s -> %s", devices[k], passauth_status_name(status));
        passauth_free(out);
        status = passauth_session_create(client, devices[k], NULL, &out);
        CHECK_MSG(status == PASSAUTH_E_INVALID_ARGUMENT, "device %s -> %s", devices[k], passauth_status_name(status));
        passauth_free(out);
    }
    /* the config's default device is checked the same way */
    char *config = harness_config(&emu, harness_temp_dir(), NULL);
    char *bad = strstr(config, "\"device-1\"");
    CHECK(bad != NULL);
    if (bad) memcpy(bad, "\"dev\\r\\n1\"", 10);
    passauth_client *c = NULL;
    CHECK_STATUS(passauth_client_new(config, &c), PASSAUTH_E_INVALID_ARGUMENT);
    passauth_client_free(c);
    free(config);
    CHECK_MSG(service_requests() == before, "a request was made for an invalid device");

    /* "info" and "tempPassIdentity" travel base64-encoded: CR/LF inside them cannot split a header, and
     * they are accepted (passauth.h); the headers that arrive hold no raw CR/LF. */
    CHECK(harness_login_device(&emu, "tv", "Cablevision"));
    char *out = NULL;
    CHECK_STATUS(passauth_profiles(client, "{\"id\":\"tv\",\"info\":{\"model\":\"M\\r\\nX: y\"}}", &out), PASSAUTH_OK);
    passauth_free(out);
    out = NULL;
    CHECK_STATUS(passauth_profile_for_mvpd(client, "{\"id\":\"tv\",\"tempPassIdentity\":{\"email\":\"a@b.c\\r\\nX: y\"}}",
                                           "Cablevision", &out), PASSAUTH_OK);
    passauth_free(out);
    json_t *log = emulator_get(&emu, "/_emulator/requests");
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(log, "requests"), i, r) {
        const char *name;
        json_t *value;
        json_object_foreach(json_object_get(r, "headers"), name, value) {
            const char *v = json_string_value(value);
            CHECK_MSG(!v || !strpbrk(v, "\r\n"), "header %s carries CR/LF", name);
            CHECK_MSG(strcmp(name, "x") != 0, "an injected header arrived");
        }
    }
    json_decref(log);
}

/* The path of the last request the emulator saw (raw, as sent). */
static char *last_request_path(char *query_out, size_t qn) {
    json_t *log = emulator_get(&emu, "/_emulator/requests");
    json_t *requests = json_object_get(log, "requests");
    json_t *last = json_array_get(requests, json_array_size(requests) - 1);
    const char *path = json_string_value(json_object_get(last, "path"));
    const char *query = json_string_value(json_object_get(last, "query"));
    char *copy = path ? strdup(path) : NULL;
    snprintf(query_out, qn, "%s", query ? query : "");
    json_decref(log);
    return copy;
}

static void check_single_segment(const char *what, const char *prefix) {
    char query[512];
    char *path = last_request_path(query, sizeof query);
    CHECK_MSG(path && strncmp(path, prefix, strlen(prefix)) == 0, "%s: request path %s, expected under %s", what,
              path ? path : "(none)", prefix);
    if (path && strncmp(path, prefix, strlen(prefix)) == 0) {
        const char *segment = path + strlen(prefix);
        CHECK_MSG(strchr(segment, '/') == NULL && strchr(segment, '?') == NULL && strchr(segment, '#') == NULL,
                  "%s: the segment escaped: %s", what, path);
        CHECK_MSG(strstr(segment, "%2F") || strstr(segment, "%2f"), "%s: '/' not percent-encoded: %s", what, path);
    }
    printf("  %-28s -> %s%s%s\n", what, path ? path : "(none)", query[0] ? "?" : "", query);
    free(path);
}

static void test_path_segments_never_escape(void) {
    const char *evil = "../../o/client/register?x=1#frag";
    CHECK(harness_login_device(&emu, "tv-hostile-1", "Cablevision"));
    char *out = NULL;
    int status = passauth_authorize(client, DEVICE, evil, "[\"REF30\"]", &out);
    CHECK_MSG(status == PASSAUTH_E_SERVICE, "authorize(evil mvpd) -> %s", passauth_status_name(status));
    passauth_free(out);
    check_single_segment("authorize mvpd", "/api/v2/REF30/decisions/authorize/");

    status = passauth_preauthorize(client, DEVICE, evil, "[\"REF30\"]", &out);
    CHECK(status != PASSAUTH_OK);
    passauth_free(out);
    check_single_segment("preauthorize mvpd", "/api/v2/REF30/decisions/preauthorize/");

    status = passauth_profile_for_mvpd(client, DEVICE, evil, &out);
    CHECK(status != PASSAUTH_OK);
    passauth_free(out);
    check_single_segment("profile_for_mvpd mvpd", "/api/v2/REF30/profiles/");

    status = passauth_logout(client, DEVICE, evil, "https://adobe.com/?a=1#b", &out);
    CHECK(is_known_status(status));
    passauth_free(out);
    check_single_segment("logout mvpd", "/api/v2/REF30/logout/");

    status = passauth_session_partner_sso(client, DEVICE, evil, NULL, &out);
    CHECK(status != PASSAUTH_OK);
    passauth_free(out);
    check_single_segment("session_partner_sso partner", "/api/v2/REF30/sessions/sso/");

    /* codes are checked for their shape before any request */
    static const char *codes[] = {"../ABC", "ABC?x", "ABC#y", "AB/CD", "%2e%2e", "ABC DEF", ""};
    for (size_t k = 0; k < sizeof codes / sizeof *codes; k++) {
        CHECK_STATUS(passauth_session_get(client, DEVICE, codes[k], &out), PASSAUTH_E_INVALID_ARGUMENT);
        CHECK_STATUS(passauth_profile_for_code(client, DEVICE, codes[k], &out), PASSAUTH_E_INVALID_ARGUMENT);
        CHECK_STATUS(passauth_authenticate_url(client, codes[k], &out), PASSAUTH_E_INVALID_ARGUMENT);
        CHECK_STATUS(passauth_session_resume(client, DEVICE, codes[k], NULL, &out), PASSAUTH_E_INVALID_ARGUMENT);
    }
}

static char *big_string(size_t n, char fill) {
    char *s = malloc(n + 1);
    memset(s, fill, n);
    s[n] = 0;
    return s;
}

static void test_oversized_inputs(void) {
    const size_t MB = 1 << 20;
    char *big = big_string(MB, 'A');
    char *out = NULL;
    /* a 1 MB code: refused by shape */
    CHECK_STATUS(passauth_profile_for_code(client, DEVICE, big, &out), PASSAUTH_E_INVALID_ARGUMENT);
    /* a 1 MB mvpd: a typed error from the service or the library, never a crash */
    int status = passauth_authorize(client, DEVICE, big, "[\"REF30\"]", &out);
    CHECK_MSG(status != PASSAUTH_OK && is_known_status(status), "1 MB mvpd -> %d", status);
    passauth_free(out);
    out = NULL;
    /* a 1 MB device id / resource / config value */
    char *doc = NULL;
    CHECK(asprintf(&doc, "{\"id\":\"%s\"}", big) > 0);
    status = passauth_authorize(client, doc, "Cablevision", "[\"REF30\"]", &out);
    CHECK_MSG(status != PASSAUTH_OK && is_known_status(status), "1 MB device id -> %d", status);
    passauth_free(out);
    out = NULL;
    free(doc);
    CHECK(asprintf(&doc, "[\"%s\"]", big) > 0);
    status = passauth_authorize(client, DEVICE, "Cablevision", doc, &out);
    CHECK_MSG(is_known_status(status), "1 MB resource -> %d", status);
    passauth_free(out);
    out = NULL;
    free(doc);
    CHECK(asprintf(&doc, "{\"serviceProvider\":\"%s\",\"softwareStatement\":\"x\"}", big) > 0);
    passauth_client *c = NULL;
    status = passauth_client_new(doc, &c);
    CHECK_MSG(is_known_status(status), "1 MB serviceProvider -> %d", status);
    passauth_client_free(c);
    free(doc);
    /* 100,000 nested arrays as a JSON input */
    char *deep = malloc(200001);
    memset(deep, '[', 100000);
    memset(deep + 100000, ']', 100000);
    deep[200000] = 0;
    CHECK_STATUS(passauth_authorize(client, DEVICE, "Cablevision", deep, &out), PASSAUTH_E_INVALID_ARGUMENT);
    CHECK_STATUS(passauth_profile_pick(deep, &out), PASSAUTH_E_INVALID_ARGUMENT);
    free(deep);
    /* 10,000 resources */
    size_t n = 10000;
    char *many = malloc(n * 8 + 3);
    char *p = many;
    *p++ = '[';
    for (size_t i = 0; i < n; i++) p += sprintf(p, "%s\"r%zu\"", i ? "," : "", i % 1000);
    *p++ = ']';
    *p = 0;
    status = passauth_preauthorize(client, DEVICE, "Cablevision", many, &out);
    CHECK_MSG(is_known_status(status), "10,000 resources -> %d", status);
    passauth_free(out);
    free(many);
    free(big);
}

int main(void) {
    if (!emulator_start(&emu, "--no-throttle")) return 2;
    client = fresh_client();
    struct harness_case tests[] = {
        {"null_for_every_pointer", test_null_for_every_pointer},
        {"invalid_utf8_everywhere", test_invalid_utf8_everywhere},
        {"non_json_and_wrong_types", test_non_json_and_wrong_types},
        {"header_injection_in_device_values", test_header_injection_in_device_values},
        {"path_segments_never_escape", test_path_segments_never_escape},
        {"oversized_inputs", test_oversized_inputs},
        {NULL, NULL},
    };
    int rc = harness_run("hostile_input", tests);
    passauth_client_free(client);
    emulator_stop(&emu);
    return rc;
}
