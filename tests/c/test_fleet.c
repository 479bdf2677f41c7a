/* A fleet of three instances (three processes: this program re-executed with --instance, each one client
 * driven over a pipe, one command per line, one JSON answer per line) on one real redis-server and the
 * emulator: one registration in all; the journey from any instance; polls shared by the fleet (a poll
 * started on A and finished by B or C after A was SIGKILLed; a waiter on A getting the profile another
 * instance found; a newer code on B ending A's poll); shared pacing (a burst across the instances gets
 * no 429); and a Redis restart (its data lost) in the middle of a poll. The emulator's request log
 * (timeMs) checks that no code is ever polled twice within 3 s fleet-wide. */
#include "harness.h"
#include "passauth.h"
#include "redis_server.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <time.h>

static emulator emu;
static redis_server redis;
static char self_path[4096];
static int prefix_counter;

#define INTERVAL_MS 3000

/* ---- the instance (child) --------------------------------------------------------------------- */

typedef struct slot {
    passauth_poll *poll;
    int ended, status;
    char *result;
} slot;

static passauth_client *client;
static slot slots[8];
static pthread_mutex_t slots_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t slots_changed = PTHREAD_COND_INITIALIZER;

static void on_poll_end(void *user_data, int status, const char *result_json) {
    slot *s = user_data;
    pthread_mutex_lock(&slots_lock);
    s->status = status;
    s->result = strdup(result_json ? result_json : "");
    s->ended = 1;
    pthread_cond_broadcast(&slots_changed);
    pthread_mutex_unlock(&slots_lock);
}

static void answer(json_t *reply) {
    char *text = json_dumps(reply, JSON_COMPACT);
    printf("%s\n", text);
    fflush(stdout);
    free(text);
    json_decref(reply);
}

static json_t *status_reply(int status) {
    json_t *reply = json_pack("{s:i}", "status", status);
    if (status != PASSAUTH_OK) json_object_set_new(reply, "error", json_string(passauth_last_error()));
    return reply;
}

static void device_json(char *out, size_t size, const char *id) {
    snprintf(out, size, "{\"id\":\"%s\",\"ip\":\"198.51.100.%d\"}", id, (int)(strlen(id) * 7 % 200) + 1);
}

static int run_instance(const char *store, const char *base_url, const char *prefix) {
    snprintf(emu.base_url, sizeof emu.base_url, "%s", base_url);
    char extra[512];
    snprintf(extra, sizeof extra, "\"logLevel\":\"none\",\"storeKeyPrefix\":\"%s\",\"pollIntervalMs\":%d,\"timeoutMs\":5000",
             prefix, INTERVAL_MS);
    char *config = harness_config(&emu, store, extra);
    if (passauth_client_new(config, &client) != PASSAUTH_OK) return 3;
    free(config);
    char line[2048];
    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\r\n")] = 0;
        char command[32] = "", a[256] = "", b[256] = "", c[256] = "";
        sscanf(line, "%31s %255s %255s %255s", command, a, b, c);
        char device[320], *out = NULL;
        device_json(device, sizeof device, a);
        if (same(command, "register")) {
            int status = passauth_register(client, &out);
            passauth_free(out);
            answer(status_reply(status));
        } else if (same(command, "instance")) {
            passauth_stats(client, &out);
            json_t *stats = harness_parse(out);
            passauth_free(out);
            answer(json_pack("{s:s?}", "instance", json_string_value(json_object_get(stats, "fleetInstance"))));
            json_decref(stats);
        } else if (same(command, "select")) {  /* select DEVICE MVPD */
            char choice[300];
            snprintf(choice, sizeof choice, "{\"id\":\"%s\"}", b);
            answer(status_reply(passauth_mvpd_select(client, device, choice)));
        } else if (same(command, "session")) {  /* session DEVICE: the session of the MVPD chosen (or Cablevision) */
            int status = passauth_session_create(client, device, "{\"mvpd\":\"Cablevision\",\"domainName\":\"adobe.com\","
                                                 "\"redirectUrl\":\"https://adobe.com\"}", &out);
            json_t *reply = status_reply(status), *session = harness_parse(out);
            if (session) {
                json_object_set(reply, "code", json_object_get(session, "code"));
                json_object_set(reply, "notAfter", json_object_get(session, "notAfter"));
            }
            json_decref(session);
            passauth_free(out);
            answer(reply);
        } else if (same(command, "poll")) {  /* poll DEVICE CODE SLOT */
            slot *s = &slots[atoi(c) & 7];
            char options[64];
            snprintf(options, sizeof options, "{\"intervalMs\":%d}", INTERVAL_MS);
            answer(status_reply(passauth_poll_start(client, device, b, options, on_poll_end, s, &s->poll)));
        } else if (same(command, "wait")) {  /* wait SLOT MS */
            slot *s = &slots[atoi(a) & 7];
            long long deadline = mono_ms() + atoll(b);
            pthread_mutex_lock(&slots_lock);
            while (!s->ended && mono_ms() < deadline) {
                struct timespec until;
                clock_gettime(CLOCK_REALTIME, &until);
                until.tv_nsec += 50 * 1000000L;
                if (until.tv_nsec >= 1000000000L) { until.tv_sec++; until.tv_nsec -= 1000000000L; }
                pthread_cond_timedwait(&slots_changed, &slots_lock, &until);
            }
            json_t *reply = json_pack("{s:i,s:i,s:s}", "ended", s->ended, "status", s->status, "result", s->result ? s->result : "");
            pthread_mutex_unlock(&slots_lock);
            answer(reply);
        } else if (same(command, "info")) {  /* info SLOT */
            slot *s = &slots[atoi(a) & 7];
            if (passauth_poll_info(s->poll, &out) == PASSAUTH_OK) answer(harness_parse(out));
            else answer(status_reply(-1));
            passauth_free(out);
        } else if (same(command, "stored")) {  /* stored DEVICE */
            int status = passauth_profiles_stored(client, device, &out);
            json_t *reply = status_reply(status);
            json_object_set_new(reply, "cablevision", json_boolean(out && strstr(out, "Cablevision")));
            passauth_free(out);
            answer(reply);
        } else if (same(command, "authorize")) {
            int status = passauth_authorize(client, device, "Cablevision", "[\"REF30\"]", &out);
            passauth_free(out);
            answer(status_reply(status));
        } else if (same(command, "logout")) {
            int status = passauth_logout(client, device, "Cablevision", "https://adobe.com", &out);
            passauth_free(out);
            answer(status_reply(status));
        } else if (same(command, "burst")) {  /* burst DEVICE N: N preauthorizations, each of a new resource */
            int failures = 0;
            char error[512] = "";
            for (int i = 0; i < atoi(b); i++) {
                char resources[96];
                snprintf(resources, sizeof resources, "[\"res-%d-%d\"]", (int)getpid(), i);
                if (passauth_preauthorize(client, device, "Cablevision", resources, &out) != PASSAUTH_OK) {
                    failures++;
                    snprintf(error, sizeof error, "%s", passauth_last_error());
                }
                passauth_free(out);
                out = NULL;
            }
            answer(json_pack("{s:i,s:s}", "failures", failures, "error", error));
        } else if (same(command, "quit")) {
            break;
        } else {
            answer(json_pack("{s:s}", "unknown", command));
        }
    }
    for (int i = 0; i < 8; i++) passauth_poll_free(slots[i].poll);
    passauth_client_free(client);
    return 0;
}

/* ---- the parent's side ------------------------------------------------------------------------ */

typedef struct instance {
    pid_t pid;
    int in, out;
    char name;
    char id[64];
} instance;

static bool instance_start(instance *i, char name, const char *prefix) {
    int to_child[2], from_child[2];
    if (pipe(to_child) != 0 || pipe(from_child) != 0) return false;
    char store[128];
    snprintf(store, sizeof store, "redis://127.0.0.1:%d/0", redis.port);
    i->name = name;
    i->pid = fork();
    if (i->pid == 0) {
        dup2(to_child[0], STDIN_FILENO);
        dup2(from_child[1], STDOUT_FILENO);
        close(to_child[0]); close(to_child[1]); close(from_child[0]); close(from_child[1]);
        execl(self_path, self_path, "--instance", store, emu.base_url, prefix, (char *)NULL);
        _exit(127);
    }
    close(to_child[0]);
    close(from_child[1]);
    i->in = to_child[1];
    i->out = from_child[0];
    return i->pid > 0;
}

/* Sends one command; returns its JSON answer (caller decrefs) or NULL after timeout_ms. */
__attribute__((format(printf, 3, 4)))
static json_t *ask(instance *i, int timeout_ms, const char *format, ...) {
    char line[1024];
    va_list args;
    va_start(args, format);
    vsnprintf(line, sizeof line - 1, format, args);
    va_end(args);
    strcat(line, "\n");
    if (write(i->in, line, strlen(line)) != (ssize_t)strlen(line)) return NULL;
    char reply[65536];
    size_t used = 0;
    long long deadline = mono_ms() + timeout_ms;
    while (used < sizeof reply - 1) {
        struct pollfd waiting = {.fd = i->out, .events = POLLIN};
        int left = (int)(deadline - mono_ms());
        if (left <= 0 || poll(&waiting, 1, left) <= 0) break;
        ssize_t n = read(i->out, reply + used, 1);
        if (n <= 0) break;
        if (reply[used] == '\n') {
            reply[used] = 0;
            return harness_parse(reply);
        }
        used++;
    }
    fprintf(stderr, "    instance %c: no answer to '%s' within %d ms\n", i->name, strtok(line, "\n"), timeout_ms);
    return NULL;
}

static int ask_status(instance *i, int timeout_ms, const char *command) {
    json_t *reply = ask(i, timeout_ms, "%s", command);
    int status = reply ? (int)json_integer_value(json_object_get(reply, "status")) : -100;
    if (status != PASSAUTH_OK) {
        const char *error = json_string_value(json_object_get(reply, "error"));
        fprintf(stderr, "    instance %c: %s -> %d %s\n", i->name, command, status, error ? error : "");
    }
    json_decref(reply);
    return status;
}

static void instance_stop(instance *i) {
    if (i->pid <= 0) return;
    if (write(i->in, "quit\n", 5) != 5) kill(i->pid, SIGTERM);
    close(i->in);
    close(i->out);
    int status = 0;
    long long deadline = mono_ms() + 10000;
    while (waitpid(i->pid, &status, WNOHANG) == 0 && mono_ms() < deadline) sleep_ms(20);
    if (mono_ms() >= deadline) { kill(i->pid, SIGKILL); waitpid(i->pid, NULL, 0); }
    i->pid = 0;
}

static void instance_kill(instance *i) {
    kill(i->pid, SIGKILL);
    waitpid(i->pid, NULL, 0);
    close(i->in);
    close(i->out);
    i->pid = 0;
}

/* A fleet of three on its own key prefix, each registered (one registration: the first one makes it)
 * and knowing its fleet instance id. */
static void fleet_start(instance fleet[3]) {
    char prefix[64];
    snprintf(prefix, sizeof prefix, "cfleet%d-%d:", (int)getpid(), ++prefix_counter);
    for (int i = 0; i < 3; i++) CHECK(instance_start(&fleet[i], (char)('A' + i), prefix));
    for (int i = 0; i < 3; i++) {
        CHECK_MSG(ask_status(&fleet[i], 10000, "register") == PASSAUTH_OK, "instance %c did not register", fleet[i].name);
        json_t *reply = ask(&fleet[i], 2000, "instance");
        const char *id = json_string_value(json_object_get(reply, "instance"));
        snprintf(fleet[i].id, sizeof fleet[i].id, "%s", id ? id : "");
        CHECK_MSG(id && strlen(id) > 8, "instance %c has no fleet instance id", fleet[i].name);
        json_decref(reply);
    }
}

static void fleet_stop(instance fleet[3]) {
    for (int i = 0; i < 3; i++) instance_stop(&fleet[i]);
}

/* A session for `device` created on `creator`: its code. */
static bool create_session(instance *creator, const char *device, char *code, size_t size) {
    json_t *reply = ask(creator, 10000, "session %s", device);
    const char *text = json_string_value(json_object_get(reply, "code"));
    bool ok = reply && json_integer_value(json_object_get(reply, "status")) == PASSAUTH_OK && text;
    if (ok) snprintf(code, size, "%s", text);
    else fprintf(stderr, "    session on %c failed\n", creator->name);
    json_decref(reply);
    return ok;
}

static bool complete_login(const char *code) {
    char body[128];
    snprintf(body, sizeof body, "{\"code\":\"%s\"}", code);
    json_t *reply = emulator_post(&emu, "/_emulator/login", body);
    bool ok = reply && json_object_get(reply, "profile");
    json_decref(reply);
    return ok;
}

/* The emulator's poll requests for `code`, by time (wall ms): their count, the smallest gap between two
 * of them, and the time of the first one at or after `after_ms` (0 when none). */
typedef struct code_requests { int count; double min_gap_ms, first_after_ms; } code_requests;

static code_requests requests_for(const char *code, double after_ms) {
    code_requests result = {0, 1e12, 0};
    json_t *log = emulator_get(&emu, "/_emulator/requests");
    json_t *list = json_object_get(log, "requests"), *request;
    size_t index;
    double last = -1;
    char suffix[128];
    snprintf(suffix, sizeof suffix, "/profiles/code/%s", code);
    json_array_foreach(list, index, request) {
        const char *path = json_string_value(json_object_get(request, "path"));
        if (!path || strlen(path) < strlen(suffix) || strcmp(path + strlen(path) - strlen(suffix), suffix) != 0) continue;
        double at = json_number_value(json_object_get(request, "timeMs"));
        result.count++;
        if (getenv("FLEET_DEBUG")) fprintf(stderr, "      request %s at %.1f (+%.1f)\n", code, at, last >= 0 ? at - last : 0);
        if (last >= 0 && at - last < result.min_gap_ms) result.min_gap_ms = at - last;
        if (at >= after_ms && result.first_after_ms == 0) result.first_after_ms = at;
        last = at;
    }
    json_decref(log);
    return result;
}

static double wall_ms(void) {
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return now.tv_sec * 1000.0 + now.tv_nsec / 1e6;
}

/* Waits until `code` was polled `count` times (emulator log), at most timeout_ms. */
static bool await_requests(const char *code, int count, int timeout_ms) {
    long long deadline = mono_ms() + timeout_ms;
    while (mono_ms() < deadline) {
        if (requests_for(code, 0).count >= count) return true;
        sleep_ms(100);
    }
    return false;
}

/* Waits for the poll in `slot` of instance `i` to end: its status, or -100 when it did not end. */
static int await_poll(instance *i, int slot_index, int timeout_ms, char *result, size_t size) {
    json_t *reply = ask(i, timeout_ms + 2000, "wait %d %d", slot_index, timeout_ms);
    int status = -100;
    if (reply && json_integer_value(json_object_get(reply, "ended"))) {
        status = (int)json_integer_value(json_object_get(reply, "status"));
        if (result) snprintf(result, size, "%s", json_string_value(json_object_get(reply, "result")));
    }
    json_decref(reply);
    return status;
}

/* The instance that made the last request of a poll, as passauth_poll_info on `i` reports it. */
static const char *last_requester(instance fleet[3], instance *i, int slot_index) {
    json_t *info = ask(i, 2000, "info %d", slot_index);
    const char *id = json_string_value(json_object_get(info, "instance"));
    static char name[8];
    snprintf(name, sizeof name, "?");
    for (int k = 0; id && k < 3; k++) if (same(id, fleet[k].id)) snprintf(name, sizeof name, "%c", fleet[k].name);
    json_decref(info);
    return name;
}

/* ---- tests ------------------------------------------------------------------------------------ */

/* Three instances start at once: one DCR registration and one token for the whole fleet. */
static void test_one_registration(void) {
    emulator_reset(&emu);
    instance fleet[3];
    fleet_start(fleet);
    CHECK_MSG(emulator_stat(&emu, NULL, "register") == 1, "register calls: %ld", emulator_stat(&emu, NULL, "register"));
    CHECK_MSG(emulator_stat(&emu, NULL, "token") == 1, "token calls: %ld", emulator_stat(&emu, NULL, "token"));
    fleet_stop(fleet);
}

/* The journey with each step on another instance: MVPD chosen on A, session on B, poll on C (found by
 * whichever instance claimed it), the profile seen on A, authorization on B, logout on C. */
static void test_journey_from_any_instance(void) {
    emulator_reset(&emu);
    instance fleet[3];
    fleet_start(fleet);
    char code[64];
    CHECK(ask_status(&fleet[0], 5000, "select tv-journey Cablevision") == PASSAUTH_OK);
    if (CHECK(create_session(&fleet[1], "tv-journey", code, sizeof code))) {
        char command[128];
        snprintf(command, sizeof command, "poll tv-journey %s 1", code);
        CHECK(ask_status(&fleet[2], 5000, command) == PASSAUTH_OK);
        CHECK(complete_login(code));
        char result[4096] = "";
        int status = await_poll(&fleet[2], 1, 4 * INTERVAL_MS, result, sizeof result);
        CHECK_MSG(status == PASSAUTH_OK && strstr(result, "Cablevision"), "poll on C: %d %s", status, result);
        json_t *stored = ask(&fleet[0], 5000, "stored tv-journey");
        CHECK(json_is_true(json_object_get(stored, "cablevision")));
        json_decref(stored);
        CHECK(ask_status(&fleet[1], 5000, "authorize tv-journey") == PASSAUTH_OK);
        CHECK(ask_status(&fleet[2], 5000, "logout tv-journey") == PASSAUTH_OK);
        json_t *refused = ask(&fleet[0], 5000, "authorize tv-journey");  /* logged out on C: refused on A */
        CHECK(refused && json_integer_value(json_object_get(refused, "status")) == PASSAUTH_E_SERVICE);
        json_decref(refused);
        code_requests seen = requests_for(code, 0);
        CHECK_MSG(seen.count < 2 || seen.min_gap_ms >= 3000, "%d requests, two of them %.0f ms apart", seen.count, seen.min_gap_ms);
    }
    CHECK(emulator_stat(&emu, NULL, "register") == 1);
    fleet_stop(fleet);
}

/* A poll started on A; A is SIGKILLed; the login completes afterwards: B or C takes the poll over (within
 * two intervals of the kill), finds the profile and stores it; no two requests for the code < 3 s apart. */
static void test_poll_taken_over_after_sigkill(void) {
    emulator_reset(&emu);
    instance fleet[3];
    fleet_start(fleet);
    char code[64], command[128];
    if (CHECK(create_session(&fleet[0], "tv-takeover", code, sizeof code))) {
        snprintf(command, sizeof command, "poll tv-takeover %s 0", code);
        CHECK(ask_status(&fleet[0], 5000, command) == PASSAUTH_OK);
        CHECK_MSG(await_requests(code, 2, 4 * INTERVAL_MS), "the poll did not start");
        double killed_at = wall_ms();
        instance_kill(&fleet[0]);
        CHECK(complete_login(code));
        bool stored = false;
        long long deadline = mono_ms() + 6 * INTERVAL_MS;
        while (!stored && mono_ms() < deadline) {
            json_t *reply = ask(&fleet[1], 5000, "stored tv-takeover");
            stored = json_is_true(json_object_get(reply, "cablevision"));
            json_decref(reply);
            if (!stored) sleep_ms(200);
        }
        CHECK_MSG(stored, "the profile was not stored by B or C after A was killed");
        code_requests seen = requests_for(code, killed_at);
        CHECK_MSG(seen.first_after_ms > 0 && seen.first_after_ms - killed_at <= 2 * INTERVAL_MS + 1000,
                  "first request after the kill: %.0f ms after it", seen.first_after_ms ? seen.first_after_ms - killed_at : -1);
        CHECK_MSG(seen.min_gap_ms >= 3000, "%d requests, two of them %.0f ms apart", seen.count, seen.min_gap_ms);
        printf("    (takeover: first request %.0f ms after the kill; %d requests, min gap %.0f ms)\n",
               seen.first_after_ms - killed_at, seen.count, seen.min_gap_ms);
    }
    fleet_stop(fleet);
}

/* The waiter on A gets the profile whichever instance finds it. (1) A and B both wait on the code (B
 * joined the same record), nothing killed: both callbacks get the profile, the code is polled by the
 * fleet at its cadence. (2) A is stopped (SIGSTOP, a stalled instance): B or C takes the poll over and
 * finds the profile; A, resumed, ends its poll with that profile, and its poll_info names the other
 * instance as the one that made the last request. */
static void test_waiter_gets_profile_found_elsewhere(void) {
    emulator_reset(&emu);
    instance fleet[3];
    fleet_start(fleet);
    char code[64], command[128], result[4096] = "";
    if (CHECK(create_session(&fleet[0], "tv-shared", code, sizeof code))) {
        snprintf(command, sizeof command, "poll tv-shared %s 2", code);
        CHECK(ask_status(&fleet[0], 5000, command) == PASSAUTH_OK);
        CHECK(ask_status(&fleet[1], 5000, command) == PASSAUTH_OK);
        CHECK(await_requests(code, 3, 5 * INTERVAL_MS));
        CHECK(complete_login(code));
        int status = await_poll(&fleet[0], 2, 4 * INTERVAL_MS, result, sizeof result);
        CHECK_MSG(status == PASSAUTH_OK && strstr(result, "Cablevision"), "A's callback: %d %s", status, result);
        CHECK(await_poll(&fleet[1], 2, 2000, NULL, 0) == PASSAUTH_OK);
        code_requests seen = requests_for(code, 0);
        CHECK_MSG(seen.min_gap_ms >= 3000, "%d requests, two of them %.0f ms apart", seen.count, seen.min_gap_ms);
        printf("    (shared waiters: %d requests, min gap %.0f ms, last request by %s)\n", seen.count, seen.min_gap_ms,
               last_requester(fleet, &fleet[0], 2));
    }
    if (CHECK(create_session(&fleet[0], "tv-stalled", code, sizeof code))) {
        snprintf(command, sizeof command, "poll tv-stalled %s 3", code);
        CHECK(ask_status(&fleet[0], 5000, command) == PASSAUTH_OK);
        sleep_ms(300);  /* A's record is written */
        kill(fleet[0].pid, SIGSTOP);
        double stopped_at = wall_ms();
        CHECK(complete_login(code));
        bool stored = false;
        long long deadline = mono_ms() + 6 * INTERVAL_MS;
        while (!stored && mono_ms() < deadline) {
            json_t *reply = ask(&fleet[1], 5000, "stored tv-stalled");
            stored = json_is_true(json_object_get(reply, "cablevision"));
            json_decref(reply);
            if (!stored) sleep_ms(200);
        }
        CHECK_MSG(stored, "B or C did not take the stalled instance's poll over");
        code_requests seen = requests_for(code, stopped_at);
        kill(fleet[0].pid, SIGCONT);
        int status = await_poll(&fleet[0], 3, 3 * INTERVAL_MS, result, sizeof result);
        CHECK_MSG(status == PASSAUTH_OK && strstr(result, "Cablevision"), "A's callback after SIGCONT: %d %s", status, result);
        const char *by = last_requester(fleet, &fleet[0], 3);
        CHECK_MSG(same(by, "B") || same(by, "C"), "the finding request was made by %s", by);
        CHECK_MSG(seen.min_gap_ms >= 3000, "%d requests, two of them %.0f ms apart", seen.count, seen.min_gap_ms);
    }
    fleet_stop(fleet);
}

/* A newer code for the device started on B (a new session there) ends A's poll of the older one. */
static void test_newer_code_on_b_supersedes_a(void) {
    emulator_reset(&emu);
    instance fleet[3];
    fleet_start(fleet);
    char old_code[64], new_code[64], command[128], result[4096] = "";
    if (CHECK(create_session(&fleet[0], "tv-newer", old_code, sizeof old_code))) {
        snprintf(command, sizeof command, "poll tv-newer %s 4", old_code);
        CHECK(ask_status(&fleet[0], 5000, command) == PASSAUTH_OK);
        sleep_ms(300);
        CHECK(create_session(&fleet[1], "tv-newer", new_code, sizeof new_code));
        int status = await_poll(&fleet[0], 4, 3000, result, sizeof result);
        CHECK_MSG(status == PASSAUTH_E_CANCELLED && strstr(result, "newer authentication code"), "A's poll: %d %s", status, result);
    }
    fleet_stop(fleet);
}

/* A burst for one device from the three instances at once: the fleet's pacing (in Redis) keeps it
 * within the device's budget, so the service never answers 429. */
static void test_burst_across_instances_gets_no_429(void) {
    emulator_reset(&emu);
    instance fleet[3];
    fleet_start(fleet);
    CHECK(harness_login_device(&emu, "tv-burst", "Cablevision"));
    json_decref(emulator_post(&emu, "/_emulator/config", "{\"throttle\":true,\"throttleRatePerSecond\":1,\"throttleBurst\":10}"));
    long long started = mono_ms();
    for (int i = 0; i < 3; i++) {
        const char *line = "burst tv-burst 5\n";
        CHECK(write(fleet[i].in, line, strlen(line)) == (ssize_t)strlen(line));
    }
    for (int i = 0; i < 3; i++) {
        char reply[2048];
        size_t used = 0;
        while (used < sizeof reply - 1) {
            struct pollfd waiting = {.fd = fleet[i].out, .events = POLLIN};
            if (poll(&waiting, 1, 20000) <= 0 || read(fleet[i].out, reply + used, 1) != 1) break;
            if (reply[used] == '\n') break;
            used++;
        }
        reply[used] = 0;
        json_t *answer = harness_parse(reply);
        CHECK_MSG(answer && json_integer_value(json_object_get(answer, "failures")) == 0, "instance %c: %.300s", fleet[i].name, reply);
        json_decref(answer);
    }
    long throttled = emulator_stat(&emu, "throttled", NULL);
    json_decref(emulator_post(&emu, "/_emulator/config", "{\"throttle\":false}"));
    CHECK_MSG(throttled == 0, "the emulator answered 429 %ld time(s) to the paced fleet", throttled);
    /* 15 requests, 11 at once: the fleet waited about 4 s. */
    CHECK_MSG(mono_ms() - started >= 3000, "the burst took only %lld ms", mono_ms() - started);
    fleet_stop(fleet);
}

/* Redis restarted (its data lost) while a poll is pending, the login completed during the outage: A
 * polls its code by itself meanwhile (the profile it finds cannot be stored yet), writes its record
 * again when Redis is back, and the poll ends OK with the profile stored; still no two requests < 3 s
 * apart. */
static void test_redis_restart_mid_poll(void) {
    emulator_reset(&emu);
    instance fleet[3];
    fleet_start(fleet);
    char code[64], command[128], result[4096] = "";
    if (CHECK(create_session(&fleet[0], "tv-restart", code, sizeof code))) {
        snprintf(command, sizeof command, "poll tv-restart %s 5", code);
        CHECK(ask_status(&fleet[0], 5000, command) == PASSAUTH_OK);
        CHECK(await_requests(code, 1, 2 * INTERVAL_MS));
        redis_stop(&redis);
        sleep_ms(INTERVAL_MS + 1500);
        int during = requests_for(code, 0).count;
        CHECK(complete_login(code));
        sleep_ms(INTERVAL_MS);
        CHECK(redis_start(&redis, NULL));
        int status = await_poll(&fleet[0], 5, 5 * INTERVAL_MS, result, sizeof result);
        CHECK_MSG(status == PASSAUTH_OK && strstr(result, "Cablevision"), "A's poll after the restart: %d %s", status, result);
        json_t *stored = ask(&fleet[2], 5000, "stored tv-restart");
        CHECK_MSG(json_is_true(json_object_get(stored, "cablevision")), "the profile is not in the new Redis");
        json_decref(stored);
        code_requests seen = requests_for(code, 0);
        CHECK_MSG(seen.min_gap_ms >= 3000, "%d requests, two of them %.0f ms apart", seen.count, seen.min_gap_ms);
        CHECK_MSG(during >= 2, "A did not poll on while Redis was down (%d requests)", during);
        printf("    (restart: %d requests before the restart, %d in all, min gap %.0f ms)\n", during, seen.count, seen.min_gap_ms);
    }
    fleet_stop(fleet);
}

int main(int argc, char **argv) {
    ssize_t n = readlink("/proc/self/exe", self_path, sizeof self_path - 1);
    if (n > 0) self_path[n] = 0;
    if (argc == 5 && same(argv[1], "--instance")) return run_instance(argv[2], argv[3], argv[4]);
    signal(SIGPIPE, SIG_IGN);
    if (!emulator_start(&emu, "--no-throttle")) return 2;
    if (!redis_start_new(&redis, NULL)) {
        emulator_stop(&emu);
        return 2;
    }
    static const struct harness_case all[] = {
        {"one_registration", test_one_registration},
        {"journey_from_any_instance", test_journey_from_any_instance},
        {"poll_taken_over_after_sigkill", test_poll_taken_over_after_sigkill},
        {"waiter_gets_profile_found_elsewhere", test_waiter_gets_profile_found_elsewhere},
        {"newer_code_on_b_supersedes_a", test_newer_code_on_b_supersedes_a},
        {"burst_across_instances_gets_no_429", test_burst_across_instances_gets_no_429},
        {"redis_restart_mid_poll", test_redis_restart_mid_poll},
        {NULL, NULL},
    };
    struct harness_case cases[16] = {{NULL, NULL}};
    for (int i = 0, k = 0; all[i].name; i++)
        if (!getenv("FLEET_ONLY") || strstr(all[i].name, getenv("FLEET_ONLY"))) cases[k++] = all[i];
    int result = harness_run("fleet", cases);
    redis_stop(&redis);
    emulator_stop(&emu);
    return result;
}
