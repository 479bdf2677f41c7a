/* A tiny test harness for the C tests: checks that count instead of abort, and a handle on the local
 * Adobe Pass emulator (started as a child process on a free loopback port, driven over its control API). */
#ifndef PASSAUTH_TEST_HARNESS_H
#define PASSAUTH_TEST_HARNESS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

extern int harness_failed_checks;

#define CHECK(cond) harness_check((cond), #cond, __FILE__, __LINE__, NULL)
#define CHECK_MSG(cond, ...) do { char _m[512]; snprintf(_m, sizeof _m, __VA_ARGS__); \
    harness_check((cond), #cond, __FILE__, __LINE__, _m); } while (0)
#define CHECK_STATUS(expr, expected) do { int _s = (expr); \
    CHECK_MSG(_s == (expected), "%s returned %d (%s), expected %d; last error: %s", #expr, _s, \
              passauth_status_name(_s), (expected), passauth_last_error()); } while (0)

bool harness_check(bool ok, const char *expr, const char *file, int line, const char *message);
/* harness_check with a printf-style message; ENSURE is CHECK_MSG as an expression (the check's outcome). */
__attribute__((format(printf, 5, 6)))
bool harness_checkf(bool ok, const char *expr, const char *file, int line, const char *format, ...);
#define ENSURE(cond, ...) harness_checkf((cond), #cond, __FILE__, __LINE__, __VA_ARGS__)

/* CLOCK_MONOTONIC in ms; a sleep that EINTR does not cut short; NULL-safe string equality. */
long long mono_ms(void);
void sleep_ms(long ms);
bool same(const char *a, const char *b);

typedef void (*test_fn)(void);
struct harness_case { const char *name; test_fn fn; };
/* Runs each test (the list ends with {NULL, NULL}), prints "suite/name: ok|FAILED" and the closing
 * "N passed, N failed" line; returns the process exit code. */
int harness_run(const char *suite, const struct harness_case *cases);

typedef struct emulator {
    pid_t pid;
    char base_url[128];
    char ca_file[512];
} emulator;

/* Starts `python3 -m passauth_emulator --port 0 <extra_args>`; PYTHONPATH must reach emulator/ (the package). */
bool emulator_start(emulator *emu, const char *extra_args);
void emulator_stop(emulator *emu);

/* Control API helpers: return the parsed JSON response (caller decrefs) or NULL. */
json_t *emulator_get(const emulator *emu, const char *path);
json_t *emulator_post(const emulator *emu, const char *path, const char *json_body);
/* The emulator's counter `stats.<key>` (or stats.requests.<endpoint> when endpoint != NULL). */
long emulator_stat(const emulator *emu, const char *key, const char *endpoint);
/* POST /_emulator/reset: back to the emulator's start-up state (no faults, default config, no clients). */
void emulator_reset(const emulator *emu);
/* POST /_emulator/config with `json_body`; true when the emulator answered without an "error" member. */
bool emulator_configure(const emulator *emu, const char *json_body);
/* POST /_emulator/faults {"faults":[fault_json]}; true when the emulator answered (a refused fault is
 * answered too, with an "error" member: this only tells that the request got through). */
bool emulator_add_fault(const emulator *emu, const char *fault_json);

/* Gives `device_id` (the raw id, as in device_json "id") an authenticated profile for `mvpd` through the
 * emulator's POST /_emulator/profiles, as a completed MVPD login would. Returns false on failure. */
bool harness_login_device(const emulator *emu, const char *device_id, const char *mvpd);

/* A fresh private store directory under /tmp (rm -rf'd by harness at exit). */
const char *harness_temp_dir(void);

/* A JWT-shaped software statement the emulator accepts. */
extern const char *HARNESS_SOFTWARE_STATEMENT;

/* A config JSON for the emulator with the given store dir; extra is spliced in (e.g. "\"logLevel\":\"none\"") or NULL. */
char *harness_config(const emulator *emu, const char *store, const char *extra);

/* Parses a JSON string or returns NULL. */
json_t *harness_parse(const char *text);

#ifdef __cplusplus
}
#endif

#endif
