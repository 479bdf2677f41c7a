/*
 * authorize_bench — one authorize call, repeated, either through libpassauth or through the raw floor
 * (libcurl with one reused easy handle + jansson), against the emulator. Driven by benchmarks/connections.py
 * and api_calls.py (common.py); the authorize figures are benchmarks/traffic.py's (c/traffic_bench.c).
 *
 *   authorize_bench passauth CONFIG_JSON MVPD RESOURCES_JSON CALLS
 *   authorize_bench raw URL HEADERS_FILE BODY CALLS [CA_FILE]
 *
 * Both modes make one warm-up call (registration, connection setup) that is not measured, then CALLS
 * calls, and print on stdout:
 *   cpu_ns_per_call <user+sys CPU of the whole process over the CALLS calls / CALLS>
 *   stats <passauth_stats JSON>   (passauth mode only)
 * Under callgrind the difference between a CALLS=N run and a CALLS=0 run is the instructions of N calls.
 */
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "passauth.h"

static long long cpu_ns(void) {
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return (usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1000000000LL +
           (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) * 1000LL;
}

static void report(long long spent, long calls) {
    printf("cpu_ns_per_call %lld\n", calls > 0 ? spent / calls : 0);
}

/* ---- passauth ---------------------------------------------------------------------------- */

static void passauth_call(passauth_client *client, const char *mvpd, const char *resources) {
    char *out = NULL;
    int status = passauth_authorize(client, NULL, mvpd, resources, &out);
    if (status != PASSAUTH_OK || out == NULL || strstr(out, "\"serializedToken\"") == NULL) {
        fprintf(stderr, "passauth_authorize: %s %s\n", passauth_status_name(status), passauth_last_error());
        exit(1);
    }
    passauth_free(out);
}

static int run_passauth(const char *config, const char *mvpd, const char *resources, long calls) {
    passauth_client *client = NULL;
    if (passauth_client_new(config, &client) != PASSAUTH_OK) {
        fprintf(stderr, "passauth_client_new: %s\n", passauth_last_error());
        return 1;
    }
    passauth_call(client, mvpd, resources);
    long long start = cpu_ns();
    for (long i = 0; i < calls; i++) passauth_call(client, mvpd, resources);
    report(cpu_ns() - start, calls);
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

static void raw_call(CURL *easy, struct buffer *buffer) {
    buffer->size = 0;
    CURLcode code = curl_easy_perform(easy);
    long status = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    if (code != CURLE_OK || status != 200) {
        fprintf(stderr, "raw: %s, HTTP %ld\n", curl_easy_strerror(code), status);
        exit(1);
    }
    json_error_t error;
    json_t *document = json_loadb(buffer->data, buffer->size, 0, &error);
    json_t *decision = json_array_get(json_object_get(document, "decisions"), 0);
    json_t *token = json_object_get(json_object_get(decision, "token"), "serializedToken");
    if (!json_is_true(json_object_get(decision, "authorized")) || !json_is_string(token)) {
        fprintf(stderr, "raw: not a permit with a token\n");
        exit(1);
    }
    json_decref(document);
}

static int run_raw(const char *url, const char *headers_file, const char *body, long calls, const char *ca_file) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURL *easy = curl_easy_init();
    struct curl_slist *headers = NULL;
    FILE *file = fopen(headers_file, "r");
    if (file == NULL) { perror(headers_file); return 1; }
    char line[8192];
    while (fgets(line, sizeof line, file) != NULL) {
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] != '\0') headers = curl_slist_append(headers, line);
    }
    fclose(file);
    headers = curl_slist_append(headers, "Expect:");
    struct buffer buffer = {0};
    curl_easy_setopt(easy, CURLOPT_URL, url);
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, &buffer);
    if (ca_file != NULL) curl_easy_setopt(easy, CURLOPT_CAINFO, ca_file);
    raw_call(easy, &buffer);
    long long start = cpu_ns();
    for (long i = 0; i < calls; i++) raw_call(easy, &buffer);
    report(cpu_ns() - start, calls);
    long connects = 0;
    curl_easy_getinfo(easy, CURLINFO_NUM_CONNECTS, &connects);
    curl_easy_cleanup(easy);
    curl_slist_free_all(headers);
    free(buffer.data);
    curl_global_cleanup();
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 6 && strcmp(argv[1], "passauth") == 0) return run_passauth(argv[2], argv[3], argv[4], atol(argv[5]));
    if ((argc == 6 || argc == 7) && strcmp(argv[1], "raw") == 0)
        return run_raw(argv[2], argv[3], argv[4], atol(argv[5]), argc == 7 ? argv[6] : NULL);
    fprintf(stderr, "usage: %s passauth CONFIG_JSON MVPD RESOURCES_JSON CALLS\n"
                    "       %s raw URL HEADERS_FILE BODY CALLS [CA_FILE]\n", argv[0], argv[0]);
    return 2;
}
