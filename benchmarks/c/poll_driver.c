/*
 * poll_driver — N concurrent polls in one C process, for benchmarks/s2s_polls.py.
 *
 *   poll_driver CONFIG_JSON POLLS INTERVAL_MS NOT_AFTER_MS WINDOW_MS [BLOCKING_CALLS]
 *
 * Registers, then (BLOCKING_CALLS > 0) makes that many blocking passauth_profile_for_code calls, one per
 * device ("block-device-i", its own IP) for code "BLOCK<i>" (the server answers them pending, as it answers
 * most poll requests), in five batches, measuring the process's CPU per call (the median batch); then starts POLLS polls (device i: id
 * "poll-device-i", its own IP), each with one shared callback, and samples /proc/self/status every 100 ms
 * until every poll ended or WINDOW_MS passed.
 * Prints one JSON line: RSS before the client, after the polls started, peak (VmHWM); peak thread
 * count of the process (this main thread included, it only samples); polls ended by status; the CPU
 * (user + sys, every thread: getrusage) of the process from the first passauth_poll_start until every
 * poll ended ("pollCpuNs"), and per blocking call ("blockingCpuNsPerCall"); the CPU and the client's
 * requests of the pending phase alone, before the first poll ended ("pendingCpuNs", "pendingRequests");
 * the CLOCK_MONOTONIC ms at which each poll's callback ran ("endedAtMs", 0: never).
 */
#include "passauth.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static atomic_int ended_by_status[32];
static atomic_int ended;
static long long *ended_at;  /* CLOCK_MONOTONIC ms at which each poll's callback ran */

static long long now_ms(void);

static void on_outcome(void *user_data, int status, const char *result_json) {
    (void)result_json;
    ended_at[(intptr_t)user_data] = now_ms();
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

static long long cpu_ns(void) {
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return (usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1000000000LL +
           (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) * 1000LL;
}

/* The client's "requestsTotal" (passauth_stats). */
static long long requests_total(passauth_client *client) {
    char *stats = NULL;
    long long total = -1;
    if (passauth_stats(client, &stats) == PASSAUTH_OK) {
        const char *at = strstr(stats, "\"requestsTotal\":");
        if (at) total = atoll(at + 16);
    }
    passauth_free(stats);
    return total;
}

static long long now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000LL + t.tv_nsec / 1000000;
}

int main(int argc, char **argv) {
    if (argc != 6 && argc != 7) {
        fprintf(stderr, "usage: poll_driver CONFIG_JSON POLLS INTERVAL_MS NOT_AFTER_MS WINDOW_MS [BLOCKING_CALLS]\n");
        return 2;
    }
    long blocking_calls = argc == 7 ? atol(argv[6]) : 0;
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
    /* Five batches of blocking calls; the median batch's CPU per call (a shared machine's spikes left out). */
    long long blocking_cpu_per_call = 0, batch_cpu[5];
    if (blocking_calls > 0) {
        long per_batch = (blocking_calls + 4) / 5, i = 0;
        for (int batch = 0; batch < 5; batch++) {
            long long before = cpu_ns();
            long made = 0;
            for (; made < per_batch && i < blocking_calls; made++, i++) {
                char device[128], code[32], *out = NULL;
                snprintf(device, sizeof device, "{\"id\":\"block-device-%ld\",\"ip\":\"172.16.%ld.%ld\"}", i, i >> 8 & 255, i & 255);
                snprintf(code, sizeof code, "BLOCK%06ld", i);
                if (passauth_profile_for_code(client, device, code, &out) != PASSAUTH_OK) {
                    fprintf(stderr, "passauth_profile_for_code: %s\n", passauth_last_error());
                    return 1;
                }
                passauth_free(out);
            }
            batch_cpu[batch] = made ? (cpu_ns() - before) / made : 0;
        }
        for (int a = 0; a < 5; a++)  /* sort the five */
            for (int b = a + 1; b < 5; b++)
                if (batch_cpu[b] < batch_cpu[a]) { long long t = batch_cpu[a]; batch_cpu[a] = batch_cpu[b]; batch_cpu[b] = t; }
        blocking_cpu_per_call = batch_cpu[2];
    }
    passauth_poll **handles = calloc((size_t)polls, sizeof *handles);
    ended_at = calloc((size_t)polls, sizeof *ended_at);
    long long started = now_ms(), poll_cpu_start = cpu_ns();
    for (int i = 0; i < polls; i++) {
        char device[128], code[32], options[128];
        snprintf(device, sizeof device, "{\"id\":\"poll-device-%d\",\"ip\":\"10.%d.%d.%d\"}", i, i >> 16 & 255, i >> 8 & 255, i & 255);
        snprintf(code, sizeof code, "CODE%06d", i);
        snprintf(options, sizeof options, "{\"intervalMs\":%ld,\"notAfter\":%lld}", interval_ms, not_after);
        if (passauth_poll_start(client, device, code, options, on_outcome, (void *)(intptr_t)i, &handles[i]) != PASSAUTH_OK) {
            fprintf(stderr, "poll %d: %s\n", i, passauth_last_error());
            return 1;
        }
    }
    long long start_ms = now_ms() - started;
    long rss_started = status_kb("VmRSS"), threads = status_kb("Threads");
    /* The pending phase: from the end of the starts to the last sample before the first poll ended, CPU and
     * the client's requestsTotal: CPU per request of polling alone (no profile found, stored or delivered). */
    long long phase_cpu = cpu_ns(), phase_requests = requests_total(client), pending_cpu = 0, pending_requests = 0;
    while (atomic_load(&ended) < polls && now_ms() - started < window_ms) {
        usleep(100 * 1000);
        long t = status_kb("Threads");
        if (t > threads) threads = t;
        if (atomic_load(&ended) == 0) {
            pending_cpu = cpu_ns() - phase_cpu;
            pending_requests = requests_total(client) - phase_requests;
        }
    }
    long long poll_cpu = cpu_ns() - poll_cpu_start;
    long long elapsed = now_ms() - started;
    long rss_peak = status_kb("VmHWM");
    int ok = atomic_load(&ended_by_status[0]);
    printf("{\"polls\":%d,\"ok\":%d,\"ended\":%d,\"startMs\":%lld,\"elapsedMs\":%lld,\"rssBeforeKb\":%ld,"
           "\"rssStartedKb\":%ld,\"rssPeakKb\":%ld,\"threads\":%ld,\"pollCpuNs\":%lld,\"blockingCalls\":%ld,"
           "\"blockingCpuNsPerCall\":%lld,\"pendingCpuNs\":%lld,\"pendingRequests\":%lld,\"failures\":{",
           polls, ok, atomic_load(&ended), start_ms, elapsed, rss_before, rss_started, rss_peak, threads, poll_cpu,
           blocking_calls, blocking_cpu_per_call, pending_cpu, pending_requests);
    const char *comma = "";
    for (int s = 1; s < 32; s++) {
        int n = atomic_load(&ended_by_status[s]);
        if (n) { printf("%s\"%s\":%d", comma, passauth_status_name(-s), n); comma = ","; }
    }
    char *stats = NULL;
    passauth_stats(client, &stats);
    printf("},\"stats\":%s,\"endedAtMs\":[", stats ? stats : "null");
    for (int i = 0; i < polls; i++) printf("%s%lld", i ? "," : "", ended_at[i]);
    printf("]}\n");
    passauth_free(stats);
    for (int i = 0; i < polls; i++) passauth_poll_free(handles[i]);
    free(handles);
    passauth_client_free(client);
    return 0;
}
