/*
 * fleet_driver — one instance of a fleet sharing a Redis store, for benchmarks/s2s_fleet.py.
 *
 *   fleet_driver polls CONFIG_JSON POLLS INSTANCE INSTANCES INTERVAL_MS NOT_AFTER_MS WINDOW_MS
 *       Registers, starts the polls of codes n < POLLS with n % INSTANCES == INSTANCE (device
 *       "poll-device-<n>" with its own IP, code "CODE<n>", one shared callback), prints "STARTED <polls>",
 *       then samples /proc/self/status every 100 ms until its polls ended or WINDOW_MS passed, and prints
 *       one JSON line: {"instance", "polls", "ok", "failures": {status name: n}, "rssStartedKb",
 *       "rssPeakKb", "threads" (peak, this main thread included), "elapsedMs", "stats": passauth_stats}.
 *   fleet_driver authorize CONFIG_JSON CALLS THREADS INSTANCE
 *       Registers, makes 50 warm-up calls, prints "READY", waits for a line on stdin, then THREADS threads
 *       make CALLS passauth_authorize calls in all (device "auth-<INSTANCE>-<i>", its own IP: no call waits
 *       for pacing), and prints {"calls", "failures", "elapsedMs"}.
 */
#include "passauth.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static atomic_int ended_by_status[32];
static atomic_int ended;

static long long now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000LL + t.tv_nsec / 1000000;
}

static long status_kb(const char *key) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long value = -1;
    size_t n = strlen(key);
    while (f && fgets(line, sizeof line, f)) {
        if (strncmp(line, key, n) == 0 && line[n] == ':') { value = atol(line + n + 1); break; }
    }
    if (f) fclose(f);
    return value;
}

static void on_outcome(void *user_data, int status, const char *result_json) {
    (void)user_data;
    (void)result_json;
    atomic_fetch_add(&ended_by_status[status < 0 && status > -32 ? -status : 0], 1);
    atomic_fetch_add(&ended, 1);
}

static passauth_client *open_client(const char *config) {
    passauth_client *client = NULL;
    char *registered = NULL;
    if (passauth_client_new(config, &client) != PASSAUTH_OK || passauth_register(client, &registered) != PASSAUTH_OK) {
        fprintf(stderr, "client: %s\n", passauth_last_error());
        exit(1);
    }
    passauth_free(registered);
    return client;
}

static int run_polls(int argc, char **argv) {
    if (argc != 9) return 2;
    int polls = atoi(argv[3]), instance = atoi(argv[4]), instances = atoi(argv[5]);
    long interval_ms = atol(argv[6]);
    long long not_after = atoll(argv[7]), window_ms = atoll(argv[8]);
    passauth_client *client = open_client(argv[2]);
    int mine = 0;
    for (int i = instance; i < polls; i += instances) mine++;
    passauth_poll **handles = calloc((size_t)mine + 1, sizeof *handles);
    long long started = now_ms();
    int k = 0;
    for (int i = instance; i < polls; i += instances) {
        char device[128], code[32], options[128];
        snprintf(device, sizeof device, "{\"id\":\"poll-device-%d\",\"ip\":\"10.%d.%d.%d\"}", i, i >> 16 & 255, i >> 8 & 255, i & 255);
        snprintf(code, sizeof code, "CODE%06d", i);
        snprintf(options, sizeof options, "{\"intervalMs\":%ld,\"notAfter\":%lld}", interval_ms, not_after);
        if (passauth_poll_start(client, device, code, options, on_outcome, NULL, &handles[k++]) != PASSAUTH_OK) {
            fprintf(stderr, "poll %d: %s\n", i, passauth_last_error());
            return 1;
        }
    }
    printf("STARTED %d\n", mine);
    fflush(stdout);
    long rss_started = status_kb("VmRSS"), threads = status_kb("Threads");
    while (atomic_load(&ended) < mine && now_ms() - started < window_ms) {
        usleep(100 * 1000);
        long t = status_kb("Threads");
        if (t > threads) threads = t;
    }
    long long elapsed = now_ms() - started;
    printf("{\"instance\":%d,\"polls\":%d,\"ok\":%d,\"ended\":%d,\"rssStartedKb\":%ld,\"rssPeakKb\":%ld,\"threads\":%ld,"
           "\"elapsedMs\":%lld,\"failures\":{", instance, mine, atomic_load(&ended_by_status[0]), atomic_load(&ended),
           rss_started, status_kb("VmHWM"), threads, elapsed);
    const char *comma = "";
    for (int s = 1; s < 32; s++) {
        int n = atomic_load(&ended_by_status[s]);
        if (n) { printf("%s\"%s\":%d", comma, passauth_status_name(-s), n); comma = ","; }
    }
    char *stats = NULL;
    passauth_stats(client, &stats);
    printf("},\"stats\":%s}\n", stats ? stats : "null");
    fflush(stdout);
    passauth_free(stats);
    for (int i = 0; i < k; i++) passauth_poll_free(handles[i]);
    free(handles);
    passauth_client_free(client);
    return 0;
}

struct worker {
    passauth_client *client;
    int instance, first, count, failures;
    char error[256];
};

static void *authorize_calls(void *arg) {
    struct worker *w = arg;
    for (int i = w->first; i < w->first + w->count; i++) {
        char device[128], *out = NULL;
        snprintf(device, sizeof device, "{\"id\":\"auth-%d-%d\",\"ip\":\"172.%d.%d.%d\"}", w->instance, i, 16 + w->instance,
                 i >> 8 & 255, i & 255);
        if (passauth_authorize(w->client, device, "Cablevision", "[\"REF30\"]", &out) != PASSAUTH_OK) {
            w->failures++;
            snprintf(w->error, sizeof w->error, "%s", passauth_last_error());
        }
        passauth_free(out);
    }
    return NULL;
}

static int run_authorize(int argc, char **argv) {
    if (argc != 6) return 2;
    int calls = atoi(argv[3]), threads = atoi(argv[4]), instance = atoi(argv[5]);
    if (threads < 1 || threads > 64) return 2;
    passauth_client *client = open_client(argv[2]);
    struct worker warm = {client, instance, 60000, 50, 0, ""};
    authorize_calls(&warm);
    printf("READY\n");
    fflush(stdout);
    char line[16];
    if (!fgets(line, sizeof line, stdin)) return 1;
    struct worker workers[64];
    pthread_t ids[64];
    long long started = now_ms();
    for (int t = 0; t < threads; t++) {
        workers[t] = (struct worker){client, instance, t * (calls / threads), calls / threads, 0, ""};
        pthread_create(&ids[t], NULL, authorize_calls, &workers[t]);
    }
    int failures = 0;
    const char *error = "";
    for (int t = 0; t < threads; t++) {
        pthread_join(ids[t], NULL);
        failures += workers[t].failures;
        if (workers[t].failures) error = workers[t].error;
    }
    long long elapsed = now_ms() - started;
    if (failures) fprintf(stderr, "authorize: %d failures, e.g. %s\n", failures, error);
    printf("{\"calls\":%d,\"failures\":%d,\"elapsedMs\":%lld}\n", (calls / threads) * threads, failures, elapsed);
    fflush(stdout);
    passauth_client_free(client);
    return 0;
}

int main(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "polls") == 0) return run_polls(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "authorize") == 0) return run_authorize(argc, argv);
    fprintf(stderr, "usage: fleet_driver polls CONFIG POLLS INSTANCE INSTANCES INTERVAL_MS NOT_AFTER_MS WINDOW_MS\n"
                    "       fleet_driver authorize CONFIG CALLS THREADS INSTANCE\n");
    return 2;
}
