/*
 * poll_driver — N concurrent polls in one C process, for benchmarks/s2s_polls.py.
 *
 *   poll_driver CONFIG_JSON POLLS INTERVAL_MS NOT_AFTER_MS WINDOW_MS [BLOCKING_BURST BLOCKING_EVERY]
 *
 * Registers, starts POLLS polls (device i: id "poll-device-i", its own IP), each with one shared callback,
 * then every 100 ms samples /proc/self/status and, every BLOCKING_EVERY samples, makes BLOCKING_BURST
 * blocking passauth_profile_for_code calls (device "block-device-j" with its own IP, code "BLOCK<j>": the server answers them pending, as it
 * answers most poll requests), until every poll ended or WINDOW_MS passed. A blocking call runs on the
 * calling thread (CurlEngine), so its CPU is this thread's CPU (RUSAGE_THREAD) while it runs; 500 blocking
 * calls before the polls check it (aloneThreadNs ~= aloneSelfNs). The blocking calls thus see the same
 * machine as the polls, over the whole run.
 * Prints one JSON line: RSS before the client, after the polls started, peak (VmHWM); peak thread
 * count of the process (this main thread included); polls ended by status; the CPU (user + sys, every
 * thread: getrusage) of the process from the first passauth_poll_start until every poll ended, minus the
 * blocking calls' ("pollCpuNs"); the blocking calls made among the polls and their CPU ("blockingCalls",
 * "blockingCpuNs"); the CPU and the client's requests of the pending phase alone, before the first poll
 * ended ("pendingCpuNs", "pendingRequests", blocking calls excluded); the CLOCK_MONOTONIC ms at which each
 * poll's callback ran ("endedAtMs", 0: never).
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

static long long thread_cpu_ns(void) {
    struct rusage usage;
    getrusage(RUSAGE_THREAD, &usage);
    return (usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1000000000LL +
           (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) * 1000LL;
}

/* One blocking passauth_profile_for_code call: device "block-device-<i>" with its own IP, code "BLOCK<i>"
 * (the server answers it pending, as it answers most poll requests). */
static void blocking_call(passauth_client *client, long i) {
    char device[128], code[32], *out = NULL;
    snprintf(device, sizeof device, "{\"id\":\"block-device-%ld\",\"ip\":\"172.%ld.%ld.%ld\"}", i, 16 + (i >> 16 & 15),
             i >> 8 & 255, i & 255);
    snprintf(code, sizeof code, "BLOCK%07ld", i);
    if (passauth_profile_for_code(client, device, code, &out) != PASSAUTH_OK) {
        fprintf(stderr, "passauth_profile_for_code: %s\n", passauth_last_error());
        exit(1);
    }
    passauth_free(out);
}

static long long now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000LL + t.tv_nsec / 1000000;
}

int main(int argc, char **argv) {
    if (argc != 6 && argc != 8) {
        fprintf(stderr, "usage: poll_driver CONFIG_JSON POLLS INTERVAL_MS NOT_AFTER_MS WINDOW_MS [BLOCKING_BURST BLOCKING_EVERY]\n");
        return 2;
    }
    long blocking_burst = argc == 8 ? atol(argv[6]) : 0, blocking_every = argc == 8 ? atol(argv[7]) : 1;
    if (blocking_every < 1) blocking_every = 1;
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
    /* Check of the attribution the CPU row relies on: a blocking call's work runs on the calling thread
     * (RUSAGE_THREAD of this thread ~= RUSAGE_SELF of the process while only it works). */
    long long alone_self = 0, alone_thread = 0;
    long block = 0;
    if (blocking_burst > 0) {
        long long self0 = cpu_ns(), thread0 = thread_cpu_ns();
        for (int i = 0; i < 500; i++) blocking_call(client, block++);
        alone_self = cpu_ns() - self0;
        alone_thread = thread_cpu_ns() - thread0;
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
    long long blocking_cpu = 0, blocking_made = 0, tick = 0;
    while (atomic_load(&ended) < polls && now_ms() - started < window_ms) {
        usleep(100 * 1000);
        long t = status_kb("Threads");
        if (t > threads) threads = t;
        /* Blocking calls among the polls, on this thread: their CPU is this thread's while they run. */
        if (++tick % blocking_every == 0) {
            long long before = thread_cpu_ns();
            for (long j = 0; j < blocking_burst; j++) blocking_call(client, block++);
            blocking_cpu += thread_cpu_ns() - before;
            blocking_made += blocking_burst;
        }
        if (atomic_load(&ended) == 0) {
            pending_cpu = cpu_ns() - phase_cpu - blocking_cpu;
            pending_requests = requests_total(client) - phase_requests - blocking_made;
        }
    }
    long long poll_cpu = cpu_ns() - poll_cpu_start - blocking_cpu;
    long long elapsed = now_ms() - started;
    long rss_peak = status_kb("VmHWM");
    int ok = atomic_load(&ended_by_status[0]);
    printf("{\"polls\":%d,\"ok\":%d,\"ended\":%d,\"startMs\":%lld,\"elapsedMs\":%lld,\"rssBeforeKb\":%ld,"
           "\"rssStartedKb\":%ld,\"rssPeakKb\":%ld,\"threads\":%ld,\"pollCpuNs\":%lld,\"blockingCalls\":%lld,"
           "\"blockingCpuNs\":%lld,\"aloneSelfNs\":%lld,\"aloneThreadNs\":%lld,\"pendingCpuNs\":%lld,"
           "\"pendingRequests\":%lld,\"failures\":{",
           polls, ok, atomic_load(&ended), start_ms, elapsed, rss_before, rss_started, rss_peak, threads, poll_cpu,
           blocking_made, blocking_cpu, alone_self, alone_thread, pending_cpu, pending_requests);
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
