#include "harness.h"

#include <curl/curl.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int harness_failed_checks;

const char *HARNESS_SOFTWARE_STATEMENT =
    "eyJhbGciOiJSUzI1NiJ9."
    "eyJzb2Z0d2FyZV9pZCI6IjROUkIxLTBYWkFCWkk5RTYtNVNNM1IiLCJjbGllbnRfbmFtZSI6IkV4YW1wbGUgU3RhdGVtZW50LWJhc2VkIENsaWVudCIsImNsaWVudF91cmkiOiJodHRwczovL2NsaWVudC5leGFtcGxlLm5ldC8ifQ."
    "GHfL4QNIrQwL18BSRdE595T9jbzqa06R9BT8w409x9oIcKaZo";

bool harness_check(bool ok, const char *expr, const char *file, int line, const char *message) {
    if (!ok) {
        harness_failed_checks++;
        fprintf(stderr, "    check failed at %s:%d: %s%s%s\n", file, line, expr, message ? "\n      " : "", message ? message : "");
    }
    return ok;
}

static char temp_root[] = "/tmp/passauth-ctest-XXXXXX";
static bool temp_made;
static int temp_counter;

static void remove_temp_root(void) {
    if (temp_made) {
        char cmd[600];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", temp_root);
        if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", temp_root);
    }
}

const char *harness_temp_dir(void) {
    static char path[600];
    if (!temp_made) {
        if (!mkdtemp(temp_root)) { perror("mkdtemp"); exit(2); }
        temp_made = true;
        atexit(remove_temp_root);
    }
    snprintf(path, sizeof path, "%s/store-%d", temp_root, ++temp_counter);
    return path;
}

int harness_run(const char *suite, const struct harness_case *cases) {
    int passed = 0, failed = 0;
    for (const struct harness_case *c = cases; c->name; c++) {
        int before = harness_failed_checks;
        c->fn();
        bool ok = harness_failed_checks == before;
        printf("%s/%s: %s\n", suite, c->name, ok ? "ok" : "FAILED");
        fflush(stdout);
        if (ok) passed++; else failed++;
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}

bool emulator_start(emulator *emu, const char *extra_args) {
    memset(emu, 0, sizeof *emu);
    int fds[2];
    if (pipe(fds) != 0) return false;
    char command[1024];
    snprintf(command, sizeof command, "exec python3 -m passauth_emulator --host 127.0.0.1 --port 0 %s </dev/null",
             extra_args ? extra_args : "");
    pid_t pid = fork();
    if (pid < 0) return false;
    if (pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        execl("/bin/sh", "sh", "-c", command, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    emu->pid = pid;
    FILE *out = fdopen(fds[0], "r");
    char line[1024];
    bool ready = false;
    while (fgets(line, sizeof line, out)) {
        line[strcspn(line, "\r\n")] = 0;
        if (sscanf(line, "PASSAUTH_EMULATOR_READY %127s", emu->base_url) == 1) {
            ready = true;
            if (!strstr(extra_args ? extra_args : "", "--tls")) break;
        } else if (sscanf(line, "PASSAUTH_EMULATOR_CA %511s", emu->ca_file) == 1) {
            break;
        }
    }
    /* Keep reading the pipe in the background would be overkill: the emulator prints nothing else to stdout. */
    fclose(out);
    if (!ready) { emulator_stop(emu); fprintf(stderr, "emulator did not start (does PYTHONPATH reach emulator/?)\n"); }
    return ready;
}

void emulator_stop(emulator *emu) {
    if (emu->pid > 0) {
        kill(emu->pid, SIGTERM);
        waitpid(emu->pid, NULL, 0);
        emu->pid = 0;
    }
}

struct buffer { char *data; size_t len; };

static size_t collect(char *ptr, size_t size, size_t n, void *userdata) {
    struct buffer *b = userdata;
    char *grown = realloc(b->data, b->len + size * n + 1);
    if (!grown) return 0;
    b->data = grown;
    memcpy(b->data + b->len, ptr, size * n);
    b->len += size * n;
    b->data[b->len] = 0;
    return size * n;
}

static json_t *control(const emulator *emu, const char *path, const char *body) {
    CURL *h = curl_easy_init();
    struct buffer b = {0};
    char url[512];
    snprintf(url, sizeof url, "%s%s", emu->base_url, path);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
    if (emu->ca_file[0]) curl_easy_setopt(h, CURLOPT_CAINFO, emu->ca_file);
    struct curl_slist *headers = NULL;
    if (body) {
        headers = curl_slist_append(headers, "Content-Type: application/json");
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    }
    CURLcode rc = curl_easy_perform(h);
    curl_slist_free_all(headers);
    curl_easy_cleanup(h);
    json_t *doc = rc == CURLE_OK && b.data ? json_loads(b.data, 0, NULL) : NULL;
    free(b.data);
    return doc;
}

json_t *emulator_get(const emulator *emu, const char *path) { return control(emu, path, NULL); }
json_t *emulator_post(const emulator *emu, const char *path, const char *json_body) { return control(emu, path, json_body ? json_body : "{}"); }

long emulator_stat(const emulator *emu, const char *key, const char *endpoint) {
    json_t *stats = emulator_get(emu, "/_emulator/stats");
    long value = -1;
    if (stats) {
        json_t *node = endpoint ? json_object_get(json_object_get(stats, "requests"), endpoint) : json_object_get(stats, key);
        value = node ? (long)json_integer_value(node) : 0;
        json_decref(stats);
    }
    return value;
}

void emulator_reset(const emulator *emu) { json_decref(emulator_post(emu, "/_emulator/reset", NULL)); }

bool emulator_configure(const emulator *emu, const char *json_body) {
    json_t *answer = emulator_post(emu, "/_emulator/config", json_body);
    bool ok = answer != NULL && json_object_get(answer, "error") == NULL;
    json_decref(answer);
    return ok;
}

bool emulator_add_fault(const emulator *emu, const char *fault_json) {
    char *body = NULL;
    if (asprintf(&body, "{\"faults\":[%s]}", fault_json) < 0) return false;
    json_t *answer = emulator_post(emu, "/_emulator/faults", body);
    free(body);
    bool ok = answer != NULL;
    json_decref(answer);
    return ok;
}

bool harness_login_device(const emulator *emu, const char *device_id, const char *mvpd) {
    json_t *body = json_pack("{s:s, s:s}", "deviceId", device_id, "mvpd", mvpd);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    json_t *answer = text ? emulator_post(emu, "/_emulator/profiles", text) : NULL;
    free(text);
    bool ok = answer && json_object_get(answer, "profile") != NULL;
    json_decref(answer);
    return ok;
}

char *harness_config(const emulator *emu, const char *store, const char *extra) {
    char *config = NULL;
    if (asprintf(&config,
                 "{\"baseUrl\":\"%s\",\"serviceProvider\":\"REF30\",\"softwareStatement\":\"%s\",\"store\":\"%s\","
                 "\"device\":{\"id\":\"device-1\",\"info\":{\"primaryHardwareType\":\"SetTopBox\",\"model\":\"Test\","
                 "\"vendor\":\"passauth\",\"osName\":\"Linux\",\"osVendor\":\"Google\",\"osVersion\":\"1\",\"version\":\"1.0\",\"connectionType\":\"WiFi\"}}%s%s}",
                 emu->base_url, HARNESS_SOFTWARE_STATEMENT, store, extra ? "," : "", extra ? extra : "") < 0)
        return NULL;
    return config;
}

json_t *harness_parse(const char *text) { return text ? json_loads(text, 0, NULL) : NULL; }

bool harness_checkf(bool ok, const char *expr, const char *file, int line, const char *format, ...) {
    char message[1024];
    va_list args;
    va_start(args, format);
    vsnprintf(message, sizeof message, format, args);
    va_end(args);
    return harness_check(ok, expr, file, line, message);
}

long long mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {}
}

bool same(const char *a, const char *b) { return a && b && strcmp(a, b) == 0; }
