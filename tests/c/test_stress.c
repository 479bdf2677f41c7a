/* 16 threads on one client (issue 11): register, authorize, profiles, session + poll start / cancel /
 * free, a poll per thread that completes (first round), stats and last_error, all at once, against the
 * emulator. Meant for helgrind (`make helgrind`)
 * as well as a plain run: every call returns a valid status and the counters add up.
 * PASSAUTH_STRESS_ROUNDS sets the rounds per thread (default 6; helgrind is slow).
 * Before the threads start, the main thread runs two rounds on a throw-away client (its own store):
 * the Swift runtime builds type metadata and lazy globals on first use and publishes them with atomics
 * that helgrind cannot see, so without this warm-up the first concurrent use of each type reads as a
 * race. The client under test still starts cold (no registration, no token, no pooled handle). */
#include "harness.h"
#include "passauth.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define THREADS 16

static emulator emu;
static passauth_client *client;
static int rounds = 6;
/* The session is for Spectrum (no profile): a code comes back and is polled, then cancelled or freed. */
static atomic_int ok_calls, failed_calls, polls_ended;
/* Names the completing polls' devices apart between the warm-up and the run (a device that logged in
   once gets no code again). */
static const char *phase = "warm";

static void on_poll(void *user_data, int status, const char *result_json) {
    (void)user_data;
    (void)result_json;
    if (status == PASSAUTH_E_CANCELLED || status == PASSAUTH_OK) atomic_fetch_add(&polls_ended, 1);
}

static void count(int status) {
    if (status == PASSAUTH_OK) atomic_fetch_add(&ok_calls, 1);
    else atomic_fetch_add(&failed_calls, 1);
    if (status > 0 || status < PASSAUTH_E_NOT_FOUND) {
        fprintf(stderr, "unexpected status %d\n", status);
        abort();
    }
    if (status != PASSAUTH_OK && passauth_last_error()[0] != '{') abort();
}

static void one_round(passauth_client *c, int n, int r) {
    char device[64];
    snprintf(device, sizeof device, "{\"id\":\"tv-stress-%d\"}", n % 4); /* 4 devices shared by 16 threads */
    char *out = NULL;
    count(passauth_register(c, &out));
    passauth_free(out);
    out = NULL;
    count(passauth_authorize(c, device, "Cablevision", "[\"REF30\"]", &out));
    passauth_free(out);
    out = NULL;
    count(passauth_profiles(c, device, &out));
    passauth_free(out);
    out = NULL;
    count(passauth_session_create(c, device, "{\"mvpd\":\"Spectrum\",\"domainName\":\"adobe.com\",\"redirectUrl\":\"https://adobe.com\"}", &out));
    json_t *doc = harness_parse(out);
    const char *code = json_string_value(json_object_get(doc, "code"));
    if (code) {
        passauth_poll *poll = NULL;
        int s = passauth_poll_start(c, device, code, "{\"intervalMs\":3000}", on_poll, NULL, &poll);
        count(s);
        if (s == PASSAUTH_OK) {
            if (r % 2) passauth_poll_cancel(poll);
            passauth_poll_free(poll);
        }
    }
    json_decref(doc);
    passauth_free(out);
    out = NULL;
    if (r == 0) {
        /* A poll that completes, on a device of this thread's own (another thread's session would
           supersede it): the poller's scheduler, HTTP and result threads at work under the checkers. */
        char own[64], login[96];
        snprintf(own, sizeof own, "{\"id\":\"tv-stress-%s-%d\"}", phase, n);
        count(passauth_session_create(c, own, "{\"mvpd\":\"Cablevision\",\"domainName\":\"adobe.com\",\"redirectUrl\":\"https://adobe.com\"}", &out));
        json_t *session = harness_parse(out);
        const char *pending = json_string_value(json_object_get(session, "code"));
        passauth_poll *poll = NULL;
        if (pending) {
            snprintf(login, sizeof login, "{\"code\":\"%s\"}", pending);
            json_decref(emulator_post(&emu, "/_emulator/login", login));
            count(passauth_poll_start(c, own, pending, "{\"intervalMs\":3000}", NULL, NULL, &poll));
        } else {
            count(PASSAUTH_E_PROTOCOL);
        }
        if (poll) {
            char *profiles = NULL;
            count(passauth_poll_wait(poll, 20000, &profiles));
            passauth_free(profiles);
            passauth_poll_free(poll);
        }
        json_decref(session);
        passauth_free(out);
        out = NULL;
    }
    count(passauth_stats(c, &out));
    passauth_free(out);
}

static void *worker(void *arg) {
    for (int r = 0; r < rounds; r++) one_round(client, (int)(long)arg, r);
    return NULL;
}

static void test_sixteen_threads_one_client(void) {
    long registrations = emulator_stat(&emu, "registrations", NULL);
    pthread_t threads[THREADS];
    for (long i = 0; i < THREADS; i++) pthread_create(&threads[i], NULL, worker, (void *)i);
    for (int i = 0; i < THREADS; i++) pthread_join(threads[i], NULL);
    int calls = THREADS * rounds * 5;
    printf("  %d ok, %d failed calls (of at least %d); %d polls ended\n", atomic_load(&ok_calls), atomic_load(&failed_calls),
           calls, atomic_load(&polls_ended));
    CHECK(atomic_load(&ok_calls) + atomic_load(&failed_calls) >= calls);
    /* one registration for all threads */
    long made = emulator_stat(&emu, "registrations", NULL) - registrations;
    CHECK_MSG(made == 1, "registrations: %ld", made);
    CHECK_MSG(atomic_load(&polls_ended) == THREADS * rounds, "%d polls ended", atomic_load(&polls_ended));
    CHECK_MSG(atomic_load(&failed_calls) == 0, "%d calls failed", atomic_load(&failed_calls));
}

int main(void) {
    const char *env = getenv("PASSAUTH_STRESS_ROUNDS");
    if (env) rounds = atoi(env);
    if (!emulator_start(&emu, "--no-throttle")) return 2;
    for (int d = 0; d < 4; d++) {
        char id[32];
        snprintf(id, sizeof id, "tv-stress-%d", d);
        harness_login_device(&emu, id, "Cablevision");
    }
    char *config = harness_config(&emu, harness_temp_dir(), "\"logLevel\":\"none\",\"pacing\":false,\"timeoutMs\":20000");
    passauth_client *warm = NULL;
    CHECK_STATUS(passauth_client_new(config, &warm), PASSAUTH_OK);
    free(config);
    for (int r = 0; r < 2; r++) one_round(warm, 0, r);
    passauth_client_free(warm);
    atomic_store(&ok_calls, 0);
    atomic_store(&failed_calls, 0);
    atomic_store(&polls_ended, 0);
    phase = "run";
    config = harness_config(&emu, harness_temp_dir(), "\"logLevel\":\"none\",\"pacing\":false,\"timeoutMs\":20000");
    CHECK_STATUS(passauth_client_new(config, &client), PASSAUTH_OK);
    free(config);
    struct harness_case tests[] = {
        {"sixteen_threads_one_client", test_sixteen_threads_one_client},
        {NULL, NULL},
    };
    int rc = harness_run("stress", tests);
    passauth_client_free(client);
    emulator_stop(&emu);
    return rc;
}
