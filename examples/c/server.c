/*
 * server.c — one back-end process acting for many streaming devices (server-to-server), with the
 * passauth C API: one client, a device context per call (its id, IP and source port), a second-screen
 * login and a poll per device on the library's three poll threads, then an authorization per device
 * from a pool of worker threads, and the client's statistics. docs/server-to-server.md walks through it.
 *
 *   server <base-url> <store-dir> [devices] [mvpd]     (200 devices, Cablevision by default)
 *
 * Against the local emulator, let it finish each MVPD login by itself (a real back-end hands each
 * device its code and URL and waits for the user):
 *
 *   python3 -m passauth_emulator --port 8642 --auto-login 1 &
 *   server http://127.0.0.1:8642 /tmp/passauth-server 200
 *
 * Build:  cc -std=c11 server.c $(pkg-config --cflags --libs passauth) -lpthread -o server
 *
 * No JSON library: device contexts are written with snprintf (every value here is plain ASCII; a real
 * back-end escapes what its devices send), results are read with passauth_json_get_*.
 */
#define _POSIX_C_SOURCE 200809L
#include <passauth.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WORKERS 8
#define SOFTWARE_STATEMENT "eyJhbGciOiJSUzI1NiJ9.eyJzb2Z0d2FyZV9pZCI6ImRlbW8ifQ.c2lnbmF0dXJl"

/* One streaming device the back-end acts for, and what happened to its login. */
struct device {
    char id[32];
    char json[640];          /* its device context: passed to every call made for it */
    passauth_poll *poll;
    int login_status;        /* the poll's outcome (set by the callback) */
    int authorized;          /* 1: permit, 0: deny, -1: the call failed */
};

static struct device *devices;
static int device_count;
static const char *mvpd = "Cablevision";
static passauth_client *client;

/* Polls end on the library's passauth-result thread; the main thread waits for all of them here. */
static pthread_mutex_t ended_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ended_changed = PTHREAD_COND_INITIALIZER;
static int ended;

static void report(const char *what, const char *device, int status) {
    const passauth_error *e = passauth_error_last();  /* this thread's last failure */
    fprintf(stderr, "%s for %s: %s: %s", what, device, passauth_status_name(status), e->message);
    if (e->code) fprintf(stderr, " (code %s, action %s)", e->code, e->action ? e->action : "-");
    if (e->retry_after_ms >= 0) fprintf(stderr, " (retry after %lld ms)", e->retry_after_ms);
    fprintf(stderr, "\n");
}

/* The library's log lines (already free of secrets) into the back-end's own log; any thread. */
static atomic_int log_lines;
static void on_log(void *user_data, int level, const char *message) {
    (void)user_data;
    atomic_fetch_add(&log_lines, 1);
    if (level <= PASSAUTH_LOG_WARN) fprintf(stderr, "[passauth %s] %s\n", level == PASSAUTH_LOG_ERROR ? "error" : "warn", message);
}

/* The poll's outcome, exactly once. Keep it short: all polls of the client share this thread. */
static void on_login(void *user_data, int status, const char *result_json) {
    struct device *device = user_data;
    (void)result_json;  /* PASSAUTH_OK: the profiles answer, already stored for the device */
    pthread_mutex_lock(&ended_lock);
    device->login_status = status;
    ended++;
    pthread_cond_signal(&ended_changed);
    pthread_mutex_unlock(&ended_lock);
}

/* Runs job(device) for every device on WORKERS threads: a client is shared by any number of threads. */
static atomic_int next_device;
static void (*job)(struct device *);
static void *worker(void *unused) {
    (void)unused;
    for (int i; (i = atomic_fetch_add(&next_device, 1)) < device_count;) job(&devices[i]);
    return NULL;
}
static void for_each_device(void (*fn)(struct device *)) {
    pthread_t threads[WORKERS];
    job = fn;
    atomic_store(&next_device, 0);
    for (int t = 0; t < WORKERS; t++) pthread_create(&threads[t], NULL, worker, NULL);
    for (int t = 0; t < WORKERS; t++) pthread_join(threads[t], NULL);
}

/* A device asks to log in: a session (its code and URL go back to the device), then a poll. */
static void start_login(struct device *device) {
    char params[256], *session = NULL, *code = NULL;
    snprintf(params, sizeof params,
             "{\"mvpd\": \"%s\", \"domainName\": \"adobe.com\", \"redirectUrl\": \"https://adobe.com\"}", mvpd);
    int status = passauth_session_create(client, device->json, params, &session);
    if (status != PASSAUTH_OK) {
        report("passauth_session_create", device->id, status);
        on_login(device, status, NULL);
        return;
    }
    if (passauth_json_get_string(session, "/code", &code) != PASSAUTH_OK) {  /* "authorize": already logged in */
        on_login(device, PASSAUTH_OK, NULL);
    } else if ((status = passauth_poll_start(client, device->json, code, NULL, on_login, device, &device->poll)) != PASSAUTH_OK) {
        report("passauth_poll_start", device->id, status);
        on_login(device, status, NULL);
    }
    passauth_free(code);
    passauth_free(session);
}

/* A device asks to play: one authorization, its media token handed back to the device (not shown). */
static void authorize(struct device *device) {
    char *decisions = NULL;
    int status = passauth_authorize(client, device->json, mvpd, "[\"REF30\"]", &decisions);
    if (status != PASSAUTH_OK) {
        report("passauth_authorize", device->id, status);
        device->authorized = -1;
        return;
    }
    int permit = 0;
    passauth_json_get_bool(decisions, "/decisions/0/authorized", &permit);
    device->authorized = permit;
    passauth_free(decisions);
}

static long long stat_of(const char *stats, const char *pointer) {
    long long value = 0;
    passauth_json_get_int64(stats, pointer, &value);
    return value;
}

int main(int argc, char **argv) {
    if (argc < 3 || argc > 5) {
        fprintf(stderr, "usage: %s <base-url> <store-dir> [devices] [mvpd]\n", argv[0]);
        return 2;
    }
    device_count = argc >= 4 ? atoi(argv[3]) : 200;
    if (argc == 5) mvpd = argv[4];
    if (device_count < 1 || device_count > 100000) {
        fprintf(stderr, "devices: 1 to 100000\n");
        return 2;
    }

    /* One client for the whole back-end: no default device (each call names its own), pacing on (the
     * default: per device IP, 1 request/s, burst 10, so the service never answers 429). */
    char config[1024];
    snprintf(config, sizeof config,
             "{\"baseUrl\": \"%s\", \"serviceProvider\": \"REF30\", \"softwareStatement\": \"" SOFTWARE_STATEMENT "\","
             " \"store\": \"%s\", \"logLevel\": \"info\"}", argv[1], argv[2]);
    int status = passauth_client_new(config, &client);
    if (status != PASSAUTH_OK) {
        report("passauth_client_new", "the back-end", status);
        return 1;
    }
    passauth_set_log_callback(client, on_log, NULL);
    char *registration = NULL;
    if ((status = passauth_register(client, &registration)) != PASSAUTH_OK) {
        report("passauth_register", "the back-end", status);
        passauth_client_free(client);
        return 1;
    }
    passauth_free(registration);

    /* Each device: its stable id, the IP and source port it connected from (X-Forwarded-For and
     * X-Device-Info connectionIp/connectionPort), its User-Agent and its X-Device-Info fields. */
    devices = calloc((size_t)device_count, sizeof *devices);
    static const char *networks[] = {"203.0.113", "198.51.100", "192.0.2"};  /* documentation addresses */
    for (int i = 0; i < device_count; i++) {
        struct device *d = &devices[i];
        char ip[48];
        if (i < 3 * 254) snprintf(ip, sizeof ip, "%s.%d", networks[i / 254], i % 254 + 1);
        else snprintf(ip, sizeof ip, "2001:db8::%x", i);
        snprintf(d->id, sizeof d->id, "viewer-%05d", i);
        snprintf(d->json, sizeof d->json,
                 "{\"id\": \"%s\", \"ip\": \"%s\", \"port\": %d, \"userAgent\": \"AcmeTV/3.1\","
                 " \"info\": {\"primaryHardwareType\": \"SetTopBox\", \"model\": \"Acme 4K\", \"version\": \"3.1\","
                 " \"manufacturer\": \"Acme\", \"osName\": \"Linux\", \"osVersion\": \"6.1\", \"connectionType\": \"LAN\"}}",
                 d->id, ip, 40000 + i % 20000);
        d->login_status = 1;  /* not ended yet */
    }

    /* 1. Logins: a session and a poll per device. Polls run on the library's three threads (timers,
     *    up to 64 requests in flight, outcomes), whatever their number. */
    struct timespec started;
    clock_gettime(CLOCK_MONOTONIC, &started);
    for_each_device(start_login);
    printf("%d devices: sessions created, polls started\n", device_count);
    fflush(stdout);

    pthread_mutex_lock(&ended_lock);
    time_t last_report = time(NULL);
    while (ended < device_count) {
        struct timespec deadline;
        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += 1;
        pthread_cond_timedwait(&ended_changed, &ended_lock, &deadline);
        int done = ended;
        if (done == device_count || time(NULL) - last_report < 2) continue;
        last_report = time(NULL);
        pthread_mutex_unlock(&ended_lock);
        /* Progress: the client's active polls, and one pending poll up close (passauth_poll_info). */
        char *stats = NULL, *info = NULL;
        passauth_stats(client, &stats);
        for (int i = 0; i < device_count && !info; i++)
            if (devices[i].poll && passauth_poll_wait(devices[i].poll, 0, NULL) == PASSAUTH_PENDING)
                passauth_poll_info(devices[i].poll, &info);
        printf("%d of %d logins finished; %lld polls active", done, device_count, stat_of(stats, "/activePolls"));
        char *code = NULL;
        if (info && passauth_json_get_string(info, "/code", &code) == PASSAUTH_OK)
            printf("; the poll of %s: %lld requests so far, every %lld ms", code, stat_of(info, "/requests"),
                   stat_of(info, "/intervalMs"));
        passauth_free(code);
        printf("\n");
        fflush(stdout);
        passauth_free(info);
        passauth_free(stats);
        pthread_mutex_lock(&ended_lock);
    }
    pthread_mutex_unlock(&ended_lock);
    int logged_in = 0;
    for (int i = 0; i < device_count; i++) logged_in += devices[i].login_status == PASSAUTH_OK;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    printf("logins: %d of %d devices logged in after %.1f s\n", logged_in, device_count,
           (double)(now.tv_sec - started.tv_sec) + (double)(now.tv_nsec - started.tv_nsec) / 1e9);

    /* 2. Playback: an authorization per logged-in device, from WORKERS threads at once. */
    for_each_device(authorize);
    int permits = 0, denies = 0, failures = 0;
    for (int i = 0; i < device_count; i++) {
        permits += devices[i].authorized == 1;
        denies += devices[i].authorized == 0;
        failures += devices[i].authorized == -1;
    }
    printf("authorizations: %d permits, %d denies, %d failures\n", permits, denies, failures);

    /* 3. What it cost: requests, 429s (0 with pacing), retries, connections; latency per endpoint. */
    char *stats = NULL;
    if (passauth_stats(client, &stats) == PASSAUTH_OK) {
        printf("requests: %lld (%lld sessions, %lld polls, %lld authorizations), 429s: %lld, retries: %lld,"
               " connections: %lld, log lines: %d\n",
               stat_of(stats, "/requestsTotal"), stat_of(stats, "/requests/sessions.create"),
               stat_of(stats, "/requests/profiles.code"), stat_of(stats, "/requests/decisions.authorize"),
               stat_of(stats, "/throttled"), stat_of(stats, "/retries"), stat_of(stats, "/connectionsOpened"),
               atomic_load(&log_lines));
        printf("stats: %s\n", stats);  /* "latency": {"<endpoint>": {"count", "p50Ms", "p99Ms"}} */
        passauth_free(stats);
    }

    /* 4. Shutdown: freeing the client ends the polls still running (PASSAUTH_E_CANCELLED, callbacks
     *    run), stops its threads and closes its connections; poll handles stay valid until freed. */
    passauth_client_free(client);
    for (int i = 0; i < device_count; i++) passauth_poll_free(devices[i].poll);
    free(devices);
    return logged_in == device_count && permits == device_count ? 0 : 1;
}
