/*
 * poll_driver — N concurrent polls in one C process, for benchmarks/s2s_polls.py.
 *
 *   poll_driver CONFIG_JSON POLLS INTERVAL_MS NOT_AFTER_MS WINDOW_MS
 *
 * Registers, starts POLLS polls (device i: id "poll-device-i", its own IP), each with one shared
 * callback, then samples /proc/self/status every 100 ms until every poll ended or WINDOW_MS passed.
 * Prints one JSON line: RSS before the client, after the polls started, peak (VmHWM); peak thread
 * count of the process (this main thread included, it only samples); polls ended by status.
 */
#include "passauth.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static atomic_int ended_by_status[32];
static atomic_int ended;

static void on_outcome(void *user_data, int status, const char *result_json) {
    (void)user_data; (void)result_json;
    atomic_fetch_add(&ended_by_status[status < 0 && status > -32 ? -status : 0], 1);
    atomic_fetch_add(&ended, 1);
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

static long long now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000LL + t.tv_nsec / 1000000;
}

int main(int argc, char **argv) {
    if (argc != 6) { fprintf(stderr, "usage: poll_driver CONFIG_JSON POLLS INTERVAL_MS NOT_AFTER_MS WINDOW_MS\n"); return 2; }
    int polls = atoi(argv[2]);
    long interval_ms = atol(argv[3]);
    long long not_after = atoll(argv[4]), window_ms = atoll(argv[5]);
    long rss_before = status_kb("VmRSS");

    passauth_client *client = NULL;
    char *registered = NULL;
    if (passauth_client_new(argv[1], &client) != PASSAUTH_OK || passauth_register(client, &registered) != PASSAUTH_OK) {
        fprintf(stderr, "client: %s\n", passauth_last_error());
        return 1;
    }
    passauth_free(registered);
    passauth_poll **handles = calloc((size_t)polls, sizeof *handles);
    long long started = now_ms();
    for (int i = 0; i < polls; i++) {
        char device[128], code[32], options[128];
        snprintf(device, sizeof device, "{\"id\":\"poll-device-%d\",\"ip\":\"10.%d.%d.%d\"}", i, i >> 16 & 255, i >> 8 & 255, i & 255);
        snprintf(code, sizeof code, "CODE%06d", i);
        snprintf(options, sizeof options, "{\"intervalMs\":%ld,\"notAfter\":%lld}", interval_ms, not_after);
        if (passauth_poll_start(client, device, code, options, on_outcome, NULL, &handles[i]) != PASSAUTH_OK) {
            fprintf(stderr, "poll %d: %s\n", i, passauth_last_error());
            return 1;
        }
    }
    long long start_ms = now_ms() - started;
    long rss_started = status_kb("VmRSS"), threads = status_kb("Threads");
    while (atomic_load(&ended) < polls && now_ms() - started < window_ms) {
        usleep(100 * 1000);
        long t = status_kb("Threads");
        if (t > threads) threads = t;
    }
    long long elapsed = now_ms() - started;
    long rss_peak = status_kb("VmHWM");
    int ok = atomic_load(&ended_by_status[0]);
    printf("{\"polls\":%d,\"ok\":%d,\"ended\":%d,\"startMs\":%lld,\"elapsedMs\":%lld,\"rssBeforeKb\":%ld,"
           "\"rssStartedKb\":%ld,\"rssPeakKb\":%ld,\"threads\":%ld,\"failures\":{",
           polls, ok, atomic_load(&ended), start_ms, elapsed, rss_before, rss_started, rss_peak, threads);
    const char *comma = "";
    for (int s = 1; s < 32; s++) {
        int n = atomic_load(&ended_by_status[s]);
        if (n) { printf("%s\"%s\":%d", comma, passauth_status_name(-s), n); comma = ","; }
    }
    char *stats = NULL;
    passauth_stats(client, &stats);
    printf("},\"stats\":%s}\n", stats ? stats : "null");
    passauth_free(stats);
    for (int i = 0; i < polls; i++) passauth_poll_free(handles[i]);
    free(handles);
    passauth_client_free(client);
    return 0;
}
