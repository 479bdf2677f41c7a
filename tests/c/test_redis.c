/* The Redis store from C ("store": "redis://127.0.0.1:PORT/0"): a real redis-server started here on a
 * free loopback port (tests/redis/redis-test-server.sh: no persistence unless asked, a temporary
 * directory, gone with this process) and the local emulator. A fleet is played by several clients in
 * this process, each with its own connections, exactly as instances on several hosts would share one
 * Redis: one registration for all, one pacing budget per device, logouts that drop every instance's
 * cached permits, and an outage that fails calls with PASSAUTH_E_STORE and heals by itself. */
#include "harness.h"
#include "passauth.h"
#include "redis_server.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static emulator emu;

/* ---- redis-server ------------------------------------------------------------------------------- */

static redis_server redis;

static void stop_redis_at_exit(void) { redis_stop(&redis); }

/* ---- helpers ------------------------------------------------------------------------------------ */

static int prefix_counter;

/* A config on the shared Redis with a key prefix of its own (one "fleet"); extra may be NULL. */
static char *fleet_config(const char *prefix, const char *extra) {
    char store[128], more[1024];
    snprintf(store, sizeof store, "redis://127.0.0.1:%d/0", redis.port);
    snprintf(more, sizeof more, "\"logLevel\":\"none\",\"storeKeyPrefix\":\"%s\"%s%s", prefix, extra ? "," : "", extra ? extra : "");
    return harness_config(&emu, store, more);
}

static passauth_client *fleet_client(const char *prefix, const char *extra) {
    char *config = fleet_config(prefix, extra);
    passauth_client *client = NULL;
    CHECK_STATUS(passauth_client_new(config, &client), PASSAUTH_OK);
    free(config);
    return client;
}

static void new_prefix(char *out, size_t size) {
    snprintf(out, size, "ctest%d-%d:", (int)getpid(), ++prefix_counter);
}

static json_t *last_error(void) { return harness_parse(passauth_last_error()); }

static const char *str(json_t *object, const char *key) { return json_string_value(json_object_get(object, key)); }

#define DEVICE "{\"id\":\"tv-redis-1\"}"
#define DEVICE_ID "tv-redis-1"

/* ---- tests -------------------------------------------------------------------------------------- */

/* The whole journey from C with the state in Redis: keys under the prefix, nothing secret in them
 * (storeEncryptionKey set), and a second client (another instance) reuses everything. */
static void test_journey_on_redis(void) {
    emulator_reset(&emu);
    char prefix[64];
    new_prefix(prefix, sizeof prefix);
    const char *key = "\"storeEncryptionKey\":\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\"";
    passauth_client *client = fleet_client(prefix, key);
    char *out = NULL;
    CHECK_STATUS(passauth_register(client, &out), PASSAUTH_OK);
    passauth_free(out);
    CHECK_STATUS(passauth_mvpd_select(client, DEVICE, "{\"id\":\"Cablevision\"}"), PASSAUTH_OK);
    CHECK(harness_login_device(&emu, DEVICE_ID, "Cablevision"));
    CHECK_STATUS(passauth_profiles(client, DEVICE, &out), PASSAUTH_OK);
    passauth_free(out);
    CHECK_STATUS(passauth_authorize(client, DEVICE, "Cablevision", "[\"REF30\"]", &out), PASSAUTH_OK);
    passauth_free(out);

    char arguments[256];
    snprintf(arguments, sizeof arguments, "--scan --pattern '%s*'", prefix);
    char *keys = redis_cli(redis.port, arguments);
    CHECK_MSG(keys && strstr(keys, "}:registration") && strstr(keys, "|tv-redis-1}:profiles") && strstr(keys, "|tv-redis-1}:mvpd"),
              "keys: %s", keys ? keys : "(none)");
    free(keys);
    /* The registration as stored: client id in clear, client secret and access token sealed. */
    char *dump_args = NULL;
    CHECK(asprintf(&dump_args, "HGET '%s{%s|REF30}:registration' d", prefix, emu.base_url) > 0);
    char *record = redis_cli(redis.port, dump_args);
    free(dump_args);
    CHECK_MSG(record && strstr(record, "\"clientId\"") && strstr(record, "\"clientSecret\":{") &&
              strstr(record, "\"accessToken\":{\"value\":{"), "record: %s", record ? record : "");
    free(record);

    /* Another instance: no DCR call, the stored profile and MVPD choice are there. */
    passauth_client *other = fleet_client(prefix, key);
    CHECK_STATUS(passauth_profiles_stored(other, DEVICE, &out), PASSAUTH_OK);
    CHECK(out && strstr(out, "Cablevision"));
    passauth_free(out);
    CHECK_STATUS(passauth_authorize(other, DEVICE, "Cablevision", "[\"REF30\"]", &out), PASSAUTH_OK);
    passauth_free(out);
    CHECK(emulator_stat(&emu, NULL, "register") == 1);
    passauth_client_free(other);
    passauth_client_free(client);
}

typedef struct register_job {
    passauth_client *client;
    int status;
} register_job;

static void *register_thread(void *arg) {
    register_job *job = arg;
    char *out = NULL;
    job->status = passauth_register(job->client, &out);
    passauth_free(out);
    return NULL;
}

/* Three instances starting at once on one Redis: one registration, one token, shared by all. */
static void test_three_clients_register_once(void) {
    emulator_reset(&emu);
    char prefix[64];
    new_prefix(prefix, sizeof prefix);
    register_job jobs[3];
    pthread_t threads[3];
    for (int i = 0; i < 3; i++) {
        jobs[i].client = fleet_client(prefix, NULL);
        pthread_create(&threads[i], NULL, register_thread, &jobs[i]);
    }
    for (int i = 0; i < 3; i++) {
        pthread_join(threads[i], NULL);
        CHECK_STATUS(jobs[i].status, PASSAUTH_OK);
        passauth_client_free(jobs[i].client);
    }
    CHECK_MSG(emulator_stat(&emu, NULL, "register") == 1, "register calls: %ld", emulator_stat(&emu, NULL, "register"));
    CHECK_MSG(emulator_stat(&emu, NULL, "token") == 1, "token calls: %ld", emulator_stat(&emu, NULL, "token"));
}

typedef struct burst_job {
    passauth_client *client;
    int calls, failures;
    char error[512];
} burst_job;

#define BURST_DEVICE "{\"id\":\"tv-burst\",\"ip\":\"203.0.113.77\"}"

static void *burst_thread(void *arg) {
    burst_job *job = arg;
    for (int i = 0; i < job->calls; i++) {
        /* A new resource each time: every call is a request (none comes from the permit cache). */
        char resources[64];
        snprintf(resources, sizeof resources, "[\"res-%p-%d\"]", (void *)job, i);
        char *out = NULL;
        if (passauth_preauthorize(job->client, BURST_DEVICE, "Cablevision", resources, &out) != PASSAUTH_OK) {
            job->failures++;
            snprintf(job->error, sizeof job->error, "%s", passauth_last_error());
        }
        passauth_free(out);
    }
    return NULL;
}

static long run_burst(const char *prefix_a, const char *prefix_b, int per_client) {
    emulator_reset(&emu);
    json_decref(emulator_post(&emu, "/_emulator/config", "{\"throttle\":true,\"throttleRatePerSecond\":1,\"throttleBurst\":10}"));
    CHECK(harness_login_device(&emu, "tv-burst", "Cablevision"));
    passauth_client *a = NULL, *b = NULL;
    if (prefix_a) {
        a = fleet_client(prefix_a, NULL);
        b = fleet_client(prefix_b, NULL);
    } else {
        char *config = harness_config(&emu, harness_temp_dir(), "\"logLevel\":\"none\"");
        CHECK_STATUS(passauth_client_new(config, &a), PASSAUTH_OK);
        free(config);
        config = harness_config(&emu, harness_temp_dir(), "\"logLevel\":\"none\"");
        CHECK_STATUS(passauth_client_new(config, &b), PASSAUTH_OK);
        free(config);
    }
    /* Register first (DCR is throttled by the emulator's peer address, not the device's). */
    char *out = NULL;
    CHECK_STATUS(passauth_register(a, &out), PASSAUTH_OK);
    passauth_free(out);
    CHECK_STATUS(passauth_register(b, &out), PASSAUTH_OK);
    passauth_free(out);
    burst_job jobs[2] = {{a, per_client, 0, ""}, {b, per_client, 0, ""}};
    pthread_t threads[2];
    for (int i = 0; i < 2; i++) pthread_create(&threads[i], NULL, burst_thread, &jobs[i]);
    for (int i = 0; i < 2; i++) pthread_join(threads[i], NULL);
    /* The paced fleet never fails; unshared pacers may (a 429 retried until the retries run out). */
    if (prefix_a) CHECK_MSG(jobs[0].failures == 0 && jobs[1].failures == 0, "failures %d, %d: %s%s", jobs[0].failures, jobs[1].failures,
              jobs[0].error, jobs[1].error);
    long throttled = emulator_stat(&emu, "throttled", NULL);
    json_decref(emulator_post(&emu, "/_emulator/config", "{\"throttle\":false}"));
    passauth_client_free(a);
    passauth_client_free(b);
    return throttled;
}

/* A burst for one device IP from two instances: with the fleet's pacing in Redis the service never
 * answers 429; with two separate local stores (two local pacers) it does. */
static void test_fleet_burst_gets_no_429(void) {
    char prefix[64];
    new_prefix(prefix, sizeof prefix);
    long long started = mono_ms();
    long throttled = run_burst(prefix, prefix, 7);
    CHECK_MSG(throttled == 0, "the emulator answered 429 %ld time(s) to a paced fleet", throttled);
    /* 14 requests, 11 at once (the emulator's bucket is 1 + burst): the fleet waited about 3 s. */
    CHECK_MSG(mono_ms() - started >= 2500, "the burst took only %lld ms", mono_ms() - started);
    long unshared = run_burst(NULL, NULL, 7);
    CHECK_MSG(unshared > 0, "two unshared pacers were not throttled (the comparison shows nothing)");
}

/* A logout on instance A drops instance B's cached permits for the device (pub/sub). */
static void test_logout_on_a_drops_permits_on_b(void) {
    emulator_reset(&emu);
    char prefix[64];
    new_prefix(prefix, sizeof prefix);
    passauth_client *a = fleet_client(prefix, NULL), *b = fleet_client(prefix, NULL);
    CHECK(harness_login_device(&emu, DEVICE_ID, "Cablevision"));
    char *out = NULL;
    CHECK_STATUS(passauth_preauthorize(b, DEVICE, "Cablevision", "[\"REF30\"]", &out), PASSAUTH_OK);
    passauth_free(out);
    CHECK_STATUS(passauth_preauthorize(b, DEVICE, "Cablevision", "[\"REF30\"]", &out), PASSAUTH_OK);  /* cached */
    passauth_free(out);
    CHECK(emulator_stat(&emu, NULL, "decisions.preauthorize") == 1);
    CHECK_STATUS(passauth_logout(a, DEVICE, "Cablevision", "https://example.com", &out), PASSAUTH_OK);
    passauth_free(out);
    /* B learns of it within moments: its next preauthorization asks the service, which says the user
     * is logged out. */
    int status = PASSAUTH_OK;
    long long deadline = mono_ms() + 3000;
    while (status == PASSAUTH_OK && mono_ms() < deadline) {
        out = NULL;
        status = passauth_preauthorize(b, DEVICE, "Cablevision", "[\"REF30\"]", &out);
        passauth_free(out);
        if (status == PASSAUTH_OK) usleep(10000);
    }
    CHECK_MSG(status == PASSAUTH_E_SERVICE, "B still answered from its cache: %d", status);
    json_t *err = last_error();
    CHECK(err && str(err, "code") && strcmp(str(err, "code"), "authenticated_profile_missing") == 0);
    json_decref(err);
    passauth_client_free(a);
    passauth_client_free(b);
}

/* Redis stopped mid-run: calls that need the store fail with PASSAUTH_E_STORE naming the cause, nothing
 * is corrupted, and once Redis is back (its append-only file kept the data) the same client goes on
 * without registering again. */
static void test_redis_restart_mid_run(void) {
    emulator_reset(&emu);
    redis_server durable = {0};
    if (!CHECK(redis_start_new(&durable, "--appendonly yes --appendfsync always"))) return;
    char store[128];
    snprintf(store, sizeof store, "redis://127.0.0.1:%d/0", durable.port);
    char *config = harness_config(&emu, store, "\"logLevel\":\"none\",\"timeoutMs\":2000");
    passauth_client *client = NULL;
    CHECK_STATUS(passauth_client_new(config, &client), PASSAUTH_OK);
    free(config);
    char *out = NULL;
    CHECK_STATUS(passauth_register(client, &out), PASSAUTH_OK);
    passauth_free(out);
    CHECK_STATUS(passauth_mvpd_select(client, DEVICE, "{\"id\":\"Cablevision\"}"), PASSAUTH_OK);

    redis_stop(&durable);
    long long started = mono_ms();
    CHECK_STATUS(passauth_mvpd_selected(client, DEVICE, &out), PASSAUTH_E_STORE);
    json_t *err = last_error();
    char port_text[32];
    snprintf(port_text, sizeof port_text, "127.0.0.1:%d", durable.port);
    CHECK_MSG(err && strstr(str(err, "message"), "Connection refused") && strstr(str(err, "message"), port_text),
              "message: %s", err ? str(err, "message") : "(none)");
    json_decref(err);
    CHECK_STATUS(passauth_mvpd_select(client, DEVICE, "{\"id\":\"Dish\"}"), PASSAUTH_E_STORE);
    CHECK(mono_ms() - started < 3000);

    CHECK(redis_start(&durable, "--appendonly yes --appendfsync always"));
    CHECK_STATUS(passauth_mvpd_selected(client, DEVICE, &out), PASSAUTH_OK);
    CHECK_MSG(out && strstr(out, "Cablevision"), "after the restart: %s", out ? out : "(null)");  /* the failed write changed nothing */
    passauth_free(out);
    CHECK_STATUS(passauth_register(client, &out), PASSAUTH_OK);
    passauth_free(out);
    CHECK(emulator_stat(&emu, NULL, "register") == 1);
    passauth_client_free(client);
    redis_stop(&durable);
}

/* The library's threads of this process whose name starts with `prefix` (/proc/self/task/N/comm). */
static int threads_named(const char *prefix) {
    int count = 0;
    DIR *tasks = opendir("/proc/self/task");
    struct dirent *entry;
    while (tasks && (entry = readdir(tasks))) {
        if (entry->d_name[0] == '.') continue;
        char path[300], name[64] = "";
        snprintf(path, sizeof path, "/proc/self/task/%s/comm", entry->d_name);
        FILE *file = fopen(path, "r");
        if (!file) continue;
        if (fgets(name, sizeof name, file) && strncmp(name, prefix, strlen(prefix)) == 0) count++;
        fclose(file);
    }
    if (tasks) closedir(tasks);
    return count;
}

/* Threads: none and no I/O at creation; the Redis thread starts at the first use of Redis; with polls
 * running, a client has at most 4 threads (the poller's 3 and the Redis one); none outlives the client. */
static void test_threads_are_lazy_and_bounded(void) {
    emulator_reset(&emu);
    char prefix[64];
    new_prefix(prefix, sizeof prefix);
    int before = threads_named("passauth-");
    passauth_client *client = fleet_client(prefix, NULL);
    CHECK(threads_named("passauth-") == before);
    char *out = NULL;
    CHECK_STATUS(passauth_register(client, &out), PASSAUTH_OK);
    passauth_free(out);
    CHECK_MSG(threads_named("passauth-redis") == 1, "passauth-redis threads: %d", threads_named("passauth-redis"));
    CHECK_STATUS(passauth_session_create(client, DEVICE, "{\"mvpd\":\"Cablevision\",\"domainName\":\"adobe.com\","
                 "\"redirectUrl\":\"https://adobe.com\"}", &out), PASSAUTH_OK);
    json_t *session = harness_parse(out);
    passauth_free(out);
    passauth_poll *polls[20];
    for (int i = 0; i < 20; i++) {
        CHECK_STATUS(passauth_poll_start(client, i == 0 ? DEVICE : NULL, str(session, "code"), NULL, NULL, NULL, &polls[i]), PASSAUTH_OK);
    }
    json_decref(session);
    usleep(200000);
    int running = threads_named("passauth-") - before;
    CHECK_MSG(running <= 4, "%d library threads with polls running and a Redis store", running);
    for (int i = 0; i < 20; i++) passauth_poll_free(polls[i]);
    passauth_client_free(client);
    CHECK_MSG(threads_named("passauth-") == before, "%d library threads left after passauth_client_free",
              threads_named("passauth-") - before);
}

/* Without libhiredis (played with PASSAUTH_HIREDIS_LIBRARY in a child process): PASSAUTH_E_STORE
 * naming the package to install; a client with a directory store does not need it. */
static int child_without_hiredis(void) {
    char *config = fleet_config("nohiredis:", NULL);
    passauth_client *client = NULL;
    if (passauth_client_new(config, &client) != PASSAUTH_OK) return 10;
    free(config);
    char *out = NULL;
    int status = passauth_register(client, &out);
    passauth_free(out);
    json_t *err = last_error();
    const char *message = err ? str(err, "message") : NULL;
    int ok = status == PASSAUTH_E_STORE && message && strstr(message, "libhiredis0.14") && strstr(message, "hiredis 0.14");
    if (!ok) fprintf(stderr, "child: status %d, message %s\n", status, message ? message : "(none)");
    json_decref(err);
    passauth_client_free(client);
    return ok ? 0 : 11;
}

static void test_missing_libhiredis_is_a_store_error(void) {
    pid_t pid = fork();
    if (pid == 0) {
        setenv("PASSAUTH_HIREDIS_LIBRARY", "/nonexistent/libhiredis.so.0.14", 1);
        char port[16], base[160];
        snprintf(port, sizeof port, "%d", redis.port);
        snprintf(base, sizeof base, "%s", emu.base_url);
        execl("/proc/self/exe", "test_redis", "--child-without-hiredis", port, base, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
}

int main(int argc, char **argv) {
    if (argc == 4 && strcmp(argv[1], "--child-without-hiredis") == 0) {
        redis.port = atoi(argv[2]);
        snprintf(emu.base_url, sizeof emu.base_url, "%s", argv[3]);
        return child_without_hiredis();
    }
    if (!emulator_start(&emu, "--no-throttle")) return 2;
    if (!redis_start_new(&redis, NULL)) {
        emulator_stop(&emu);
        return 2;
    }
    atexit(stop_redis_at_exit);
    static const struct harness_case cases[] = {
        {"missing_libhiredis_is_a_store_error", test_missing_libhiredis_is_a_store_error},
        {"journey_on_redis", test_journey_on_redis},
        {"three_clients_register_once", test_three_clients_register_once},
        {"fleet_burst_gets_no_429", test_fleet_burst_gets_no_429},
        {"logout_on_a_drops_permits_on_b", test_logout_on_a_drops_permits_on_b},
        {"redis_restart_mid_run", test_redis_restart_mid_run},
        {"threads_are_lazy_and_bounded", test_threads_are_lazy_and_bounded},
        {NULL, NULL},
    };
    int result = harness_run("redis", cases);
    redis_stop(&redis);
    emulator_stop(&emu);
    return result;
}
