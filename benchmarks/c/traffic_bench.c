/*
 * traffic_bench — a player's hot calls against benchmarks/traffic_server.py, through libpassauth or through
 * the raw floor (libcurl with one reused easy handle + jansson). Driven by benchmarks/traffic.py.
 *
 *   traffic_bench passauth SCENARIO CONFIG_JSON SKIP CALLS
 *   traffic_bench raw      SCENARIO REQUEST_FILE SKIP CALLS
 *
 * SCENARIO (passauth):
 *   authorize            passauth_authorize(MVPD, ["REF30"]): every answer carries a new media token
 *   preauthorize-miss    passauth_preauthorize(MVPD, 5 resource ids never asked before): call k asks
 *                        "asset-<k, 8 digits>-0" .. "-4", so the permit cache never answers
 *   preauthorize-cached  passauth_preauthorize(MVPD, the same 5 ids every call): answered by the cache
 *   profiles             passauth_profiles (GET /profiles)
 *   configuration-hit    passauth_configuration answered from its cache
 *   stats                passauth_stats, on a client that made one call of each kind above
 * SCENARIO (raw): authorize, preauthorize-miss, profiles. REQUEST_FILE is JSON written by traffic.py from
 * the request passauth sent (read back from the server): {"method", "url", "headers": ["Name: value", ...],
 * "body": [piece, ...]} — the body is piece[0] id(k,0) piece[1] id(k,1) ... piece[n], where id(k,i) is the
 * resource id passauth's call k would ask (for authorize a single piece: the same body every call). The raw
 * side parses each answer with jansson and reads what a player reads: authorize decisions/0/authorized and
 * token/serializedToken; preauthorize every decision's "authorized"; profiles profiles/<MVPD>/notAfter.
 *
 * Both modes make SKIP unmeasured calls (SKIP >= 1: the first is the warm-up: registration or the stored
 * token, connection set-up, first configuration fetch, cache fill), then CALLS measured calls, and print
 *   cpu_ns_per_call <user+sys CPU of the whole process (all threads) over the CALLS calls / CALLS>
 *   stats <passauth_stats JSON after the run>   (passauth mode)
 * Under `valgrind --tool=callgrind --instr-atstart=no` the measured calls, and only they, are instrumented
 * (CALLGRIND_START_INSTRUMENTATION + ZERO_STATS before the first, DUMP_STATS_AT("measured") after the last):
 * the dump holds I(SKIP + CALLS) - I(SKIP), the user-space instructions of calls SKIP+1 .. SKIP+CALLS of
 * this process, start-up and one-time work excluded. (Outside valgrind the macros do nothing; with the
 * environment variable TRAFFIC_BENCH_NO_MARKS set they are not issued, for fully instrumented runs.)
 */
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <valgrind/callgrind.h>

#include "passauth.h"

#define MVPD "Cablevision"
#define IDS_PER_CALL 5

static const char *const CACHED_RESOURCES = "[\"ESPN\",\"HBO\",\"CNN\",\"TNT\",\"FX\"]";

static long long cpu_ns(void) {
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return (usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1000000000LL +
           (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) * 1000LL;
}

/* Callgrind markers around the measured calls (TRAFFIC_BENCH_NO_MARKS set: none, for a fully
 * instrumented run whose total is compared with another run's). */
static int marks(void) { return getenv("TRAFFIC_BENCH_NO_MARKS") == NULL; }

static void mark_start(void) {
    if (!marks()) return;
    CALLGRIND_START_INSTRUMENTATION;
    CALLGRIND_ZERO_STATS;
}

static void mark_end(void) {
    if (!marks()) return;
    CALLGRIND_DUMP_STATS_AT("measured");
    CALLGRIND_STOP_INSTRUMENTATION;
}

/* The resource id call k asks in position i (preauthorize-miss): fixed width, so every body has the same length. */
static int resource_id(char *out, size_t size, long k, int i) {
    return snprintf(out, size, "asset-%08ld-%d", k, i);
}

static void fail(const char *what, int status) {
    fprintf(stderr, "%s: %s %s\n", what, passauth_status_name(status), passauth_last_error());
    exit(1);
}

static void expect(char *out, const char *needle, const char *what) {
    if (out == NULL || strstr(out, needle) == NULL) {
        fprintf(stderr, "%s: unexpected result %.300s\n", what, out ? out : "(null)");
        exit(1);
    }
    passauth_free(out);
}

/* ---- passauth ---------------------------------------------------------------------------- */

enum scenario { AUTHORIZE, PREAUTHORIZE_MISS, PREAUTHORIZE_CACHED, PROFILES, CONFIGURATION_HIT, STATS, UNKNOWN };

static enum scenario scenario_of(const char *name) {
    static const char *const names[] = {"authorize", "preauthorize-miss", "preauthorize-cached", "profiles",
                                        "configuration-hit", "stats"};
    for (int i = 0; i < UNKNOWN; i++)
        if (strcmp(name, names[i]) == 0) return (enum scenario)i;
    return UNKNOWN;
}

static void passauth_call(passauth_client *client, enum scenario scenario, long k) {
    char *out = NULL;
    int status;
    switch (scenario) {
    case AUTHORIZE:
        if ((status = passauth_authorize(client, NULL, MVPD, "[\"REF30\"]", &out)) != PASSAUTH_OK) fail("passauth_authorize", status);
        expect(out, "\"serializedToken\"", "passauth_authorize");
        break;
    case PREAUTHORIZE_MISS: {
        char resources[IDS_PER_CALL * 32 + 8], *p = resources;
        *p++ = '[';
        for (int i = 0; i < IDS_PER_CALL; i++) {
            if (i) *p++ = ',';
            *p++ = '"';
            p += resource_id(p, 32, k, i);
            *p++ = '"';
        }
        *p++ = ']';
        *p = '\0';
        if ((status = passauth_preauthorize(client, NULL, MVPD, resources, &out)) != PASSAUTH_OK) fail("passauth_preauthorize", status);
        expect(out, "\"authorized\":true", "passauth_preauthorize");
        break;
    }
    case PREAUTHORIZE_CACHED:
        if ((status = passauth_preauthorize(client, NULL, MVPD, CACHED_RESOURCES, &out)) != PASSAUTH_OK) fail("passauth_preauthorize", status);
        expect(out, "\"authorized\":true", "passauth_preauthorize");
        break;
    case PROFILES:
        if ((status = passauth_profiles(client, NULL, &out)) != PASSAUTH_OK) fail("passauth_profiles", status);
        expect(out, "\"" MVPD "\"", "passauth_profiles");
        break;
    case CONFIGURATION_HIT:
        if ((status = passauth_configuration(client, NULL, &out)) != PASSAUTH_OK) fail("passauth_configuration", status);
        expect(out, "\"mvpds\"", "passauth_configuration");
        break;
    case STATS:
        if ((status = passauth_stats(client, &out)) != PASSAUTH_OK) fail("passauth_stats", status);
        expect(out, "\"requestsTotal\"", "passauth_stats");
        break;
    default:
        exit(2);
    }
}

static int run_passauth(enum scenario scenario, const char *config, long skip, long calls) {
    passauth_client *client = NULL;
    int status = passauth_client_new(config, &client);
    if (status != PASSAUTH_OK) fail("passauth_client_new", status);
    if (scenario == STATS) {  /* a client that has made the calls a player makes: stats has something to say */
        passauth_call(client, AUTHORIZE, 0);
        passauth_call(client, PREAUTHORIZE_MISS, 0);
        passauth_call(client, PREAUTHORIZE_CACHED, 0);
        passauth_call(client, PROFILES, 0);
        passauth_call(client, CONFIGURATION_HIT, 0);
    }
    long k = 0;
    for (; k < skip; k++) passauth_call(client, scenario, k);
    mark_start();
    long long start = cpu_ns();
    for (long end = skip + calls; k < end; k++) passauth_call(client, scenario, k);
    long long spent = cpu_ns() - start;
    mark_end();
    printf("cpu_ns_per_call %lld\n", calls > 0 ? spent / calls : 0);
    char *stats = NULL;
    if (passauth_stats(client, &stats) == PASSAUTH_OK) {
        printf("stats %s\n", stats);
        passauth_free(stats);
    }
    passauth_client_free(client);
    return 0;
}

/* ---- raw libcurl + jansson --------------------------------------------------------------- */

struct buffer { char *data; size_t size, capacity; };

static size_t collect(char *data, size_t size, size_t count, void *context) {
    struct buffer *buffer = context;
    size_t n = size * count;
    if (buffer->size + n > buffer->capacity) {
        buffer->capacity = (buffer->size + n) * 2;
        buffer->data = realloc(buffer->data, buffer->capacity);
        if (buffer->data == NULL) return 0;
    }
    memcpy(buffer->data + buffer->size, data, n);
    buffer->size += n;
    return n;
}

struct raw {
    CURL *easy;
    enum scenario scenario;
    struct buffer answer;
    const char **pieces;  /* body pieces; NULL for GET */
    size_t piece_count;
    char *body;           /* the body of the current call */
    size_t body_capacity;
};

static void raw_fail(const char *why) {
    fprintf(stderr, "raw: %s\n", why);
    exit(1);
}

static void raw_call(struct raw *raw, long k) {
    if (raw->piece_count > 1) {  /* new resource ids every call, in passauth's bytes */
        size_t at = 0;
        for (size_t i = 0; i < raw->piece_count; i++) {
            size_t n = strlen(raw->pieces[i]);
            memcpy(raw->body + at, raw->pieces[i], n);
            at += n;
            if (i + 1 < raw->piece_count) at += (size_t)resource_id(raw->body + at, 32, k, (int)i);
        }
        curl_easy_setopt(raw->easy, CURLOPT_POSTFIELDS, raw->body);
        curl_easy_setopt(raw->easy, CURLOPT_POSTFIELDSIZE, (long)at);
    }
    raw->answer.size = 0;
    CURLcode code = curl_easy_perform(raw->easy);
    long status = 0;
    curl_easy_getinfo(raw->easy, CURLINFO_RESPONSE_CODE, &status);
    if (code != CURLE_OK || status != 200) {
        fprintf(stderr, "raw: %s, HTTP %ld\n", curl_easy_strerror(code), status);
        exit(1);
    }
    json_error_t error;
    json_t *document = json_loadb(raw->answer.data, raw->answer.size, 0, &error);
    if (document == NULL) raw_fail(error.text);
    switch (raw->scenario) {
    case AUTHORIZE: {
        json_t *decision = json_array_get(json_object_get(document, "decisions"), 0);
        json_t *token = json_object_get(json_object_get(decision, "token"), "serializedToken");
        if (!json_is_true(json_object_get(decision, "authorized")) || !json_is_string(token)) raw_fail("not a permit with a token");
        break;
    }
    case PREAUTHORIZE_MISS: {
        json_t *decisions = json_object_get(document, "decisions");
        if (json_array_size(decisions) != raw->piece_count - 1) raw_fail("not one decision per resource");
        for (size_t i = 0; i < json_array_size(decisions); i++)
            if (!json_is_true(json_object_get(json_array_get(decisions, i), "authorized"))) raw_fail("not a permit");
        break;
    }
    case PROFILES: {
        json_t *profile = json_object_get(json_object_get(document, "profiles"), MVPD);
        if (!json_is_integer(json_object_get(profile, "notAfter"))) raw_fail("no " MVPD " profile");
        break;
    }
    default:
        raw_fail("no raw twin for this scenario");
    }
    json_decref(document);
}

static int run_raw(enum scenario scenario, const char *request_file, long skip, long calls) {
    json_error_t error;
    json_t *request = json_load_file(request_file, 0, &error);
    if (request == NULL) { fprintf(stderr, "%s: %s\n", request_file, error.text); return 1; }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    struct raw raw = {.easy = curl_easy_init(), .scenario = scenario};
    struct curl_slist *headers = NULL;
    json_t *value;
    size_t index;
    json_array_foreach(json_object_get(request, "headers"), index, value) headers = curl_slist_append(headers, json_string_value(value));
    headers = curl_slist_append(headers, "Expect:");
    curl_easy_setopt(raw.easy, CURLOPT_URL, json_string_value(json_object_get(request, "url")));
    curl_easy_setopt(raw.easy, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(raw.easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(raw.easy, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(raw.easy, CURLOPT_WRITEDATA, &raw.answer);
    json_t *body = json_object_get(request, "body");
    if (json_is_array(body)) {
        raw.piece_count = json_array_size(body);
        raw.pieces = calloc(raw.piece_count, sizeof *raw.pieces);
        size_t total = 0;
        json_array_foreach(body, index, value) {
            raw.pieces[index] = json_string_value(value);
            total += strlen(raw.pieces[index]) + 32;
        }
        raw.body = malloc(total + 1);
        if (raw.piece_count == 1) {  /* the same body every call */
            curl_easy_setopt(raw.easy, CURLOPT_POSTFIELDS, raw.pieces[0]);
            curl_easy_setopt(raw.easy, CURLOPT_POSTFIELDSIZE, (long)strlen(raw.pieces[0]));
        }
    } else {
        curl_easy_setopt(raw.easy, CURLOPT_HTTPGET, 1L);
    }
    long k = 0;
    for (; k < skip; k++) raw_call(&raw, k);
    mark_start();
    long long start = cpu_ns();
    for (long end = skip + calls; k < end; k++) raw_call(&raw, k);
    long long spent = cpu_ns() - start;
    mark_end();
    printf("cpu_ns_per_call %lld\n", calls > 0 ? spent / calls : 0);
    curl_easy_cleanup(raw.easy);
    curl_slist_free_all(headers);
    free(raw.answer.data);
    free(raw.body);
    free(raw.pieces);
    json_decref(request);
    curl_global_cleanup();
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 6) {
        enum scenario scenario = scenario_of(argv[2]);
        long skip = atol(argv[4]), calls = atol(argv[5]);
        if (scenario != UNKNOWN && skip >= 1 && calls >= 0) {
            if (strcmp(argv[1], "passauth") == 0) return run_passauth(scenario, argv[3], skip, calls);
            if (strcmp(argv[1], "raw") == 0 && (scenario == AUTHORIZE || scenario == PREAUTHORIZE_MISS || scenario == PROFILES))
                return run_raw(scenario, argv[3], skip, calls);
        }
    }
    fprintf(stderr, "usage: %s passauth SCENARIO CONFIG_JSON SKIP CALLS\n"
                    "       %s raw authorize|preauthorize-miss|profiles REQUEST_FILE SKIP CALLS\n"
                    "SCENARIO: authorize preauthorize-miss preauthorize-cached profiles configuration-hit stats; SKIP >= 1\n",
            argv[0], argv[0]);
    return 2;
}
