/*
 * poll_slices — a player's wait-in-slices loop, measured: for benchmarks/poll_slices.py.
 *
 *   poll_slices CONFIG_JSON [SECONDS=3] [SLICE_MS=100]
 *
 * Creates a session (the emulator in CONFIG_JSON's baseUrl), starts a poll for its code that nobody
 * completes, then for SECONDS calls passauth_poll_wait(poll, SLICE_MS, NULL) in a loop, as a player
 * does to keep its UI alive while the user logs in on a second screen. Counts the returns and the CPU
 * (user + sys of the whole process, getrusage: the library's poll threads included) of the loop.
 *
 * With the 0.1 ABI the loop spun: a wait that ended returned PASSAUTH_E_TIMEOUT, the same status as a
 * poll whose own timeout had passed, and that outcome then came back at once on every call: 572,950
 * returns in 3 s. With PASSAUTH_PENDING each call waits its slice: SECONDS * 1000 / SLICE_MS returns.
 *
 * Prints   BENCH|poll wait in 100 ms slices, 3 s|<returns>, <cpu> ms CPU|...   and a JSON line of notes
 * on stderr. Exit status 1 when a call fails.
 */
#include "passauth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define OLD_ABI_RETURNS 572950LL

static long long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static long long cpu_us(void) {
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return (usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1000000LL + usage.ru_utime.tv_usec + usage.ru_stime.tv_usec;
}

static int fail(const char *what) {
    const passauth_error *e = passauth_error_last();
    fprintf(stderr, "poll_slices: %s: %s: %s\n", what, e->name, e->message);
    return 1;
}

int main(int argc, char **argv) {
    if (argc < 2 || argc > 4) {
        fprintf(stderr, "usage: poll_slices CONFIG_JSON [SECONDS] [SLICE_MS]\n");
        return 2;
    }
    int seconds = argc > 2 ? atoi(argv[2]) : 3, slice_ms = argc > 3 ? atoi(argv[3]) : 100;
    passauth_client *client = NULL;
    char *session = NULL, *code = NULL;
    if (passauth_client_new(argv[1], &client) != PASSAUTH_OK) return fail("passauth_client_new");
    if (passauth_session_create(client, NULL, "{\"mvpd\":\"Cablevision\",\"domainName\":\"adobe.com\","
                                "\"redirectUrl\":\"https://adobe.com\"}", &session) != PASSAUTH_OK)
        return fail("passauth_session_create");
    if (passauth_json_get_string(session, "/code", &code) != PASSAUTH_OK) return fail("the session's code");
    passauth_poll *poll = NULL;
    if (passauth_poll_start(client, NULL, code, NULL, NULL, NULL, &poll) != PASSAUTH_OK) return fail("passauth_poll_start");

    long long returns = 0, pending = 0, other = 0, deadline_ns = now_ns() + seconds * 1000000000LL;
    long long cpu_before = cpu_us(), started = now_ns();
    int last = PASSAUTH_OK;
    while (now_ns() < deadline_ns) {
        last = passauth_poll_wait(poll, slice_ms, NULL);
        returns++;
        if (last == PASSAUTH_PENDING) pending++; else other++;
    }
    long long cpu = cpu_us() - cpu_before, elapsed_ms = (now_ns() - started) / 1000000;

    char *info = NULL;
    long long requests = 0;
    if (passauth_poll_info(poll, &info) == PASSAUTH_OK) passauth_json_get_int64(info, "/requests", &requests);
    fprintf(stderr, "{\"returns\": %lld, \"pending\": %lld, \"other\": %lld, \"lastStatus\": \"%s\", \"cpuUs\": %lld,"
                    " \"elapsedMs\": %lld, \"pollRequests\": %lld}\n",
            returns, pending, other, passauth_status_name(last), cpu, elapsed_ms, requests);

    long long expected = seconds * 1000LL / slice_ms;
    /* PASS: every return was PENDING, about one per slice, and the loop slept (a few ms of CPU). */
    int pass = other == 0 && returns <= expected + 1 && returns >= expected - 2 && cpu < 100000;
    printf("BENCH|poll wait in %d ms slices, %d s (C)|%lld returns, %.1f ms CPU|572,950 returns (0.1 ABI: E_TIMEOUT spin)"
           "|%.0fx fewer returns|~%lld returns, all PENDING, < 100 ms CPU|%s\n",
           slice_ms, seconds, returns, cpu / 1000.0, returns ? (double)OLD_ABI_RETURNS / (double)returns : 0.0,
           expected, pass ? "PASS" : "FAIL");
    fflush(stdout);

    passauth_free(info);
    passauth_poll_free(poll);
    passauth_free(code);
    passauth_free(session);
    passauth_client_free(client);
    return 0;
}
