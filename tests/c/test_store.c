/* The application store (passauth_store callbacks) and per-device isolation, against the emulator. An
 * in-memory store stands in for a shared one (Redis, a database); its "outage" switch makes callbacks
 * fail so that a store failure can be shown to be a typed error that changes nothing. */
#include "harness.h"
#include "passauth.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static emulator emu;

typedef struct memory_store {
    pthread_mutex_t data_lock;   /* guards doc and the counters */
    pthread_mutex_t store_lock;  /* the store's exclusive lock */
    char *doc;
    int fail_load, fail_save, fail_lock;
    int loads, saves, locks, unlocks;
} memory_store;

static int mem_load(void *user, const char *sp, char **out) {
    memory_store *m = user;
    if (strcmp(sp, "REF30") != 0) return 7;
    pthread_mutex_lock(&m->data_lock);
    m->loads++;
    int failed = m->fail_load;
    *out = (!failed && m->doc) ? strdup(m->doc) : NULL;
    pthread_mutex_unlock(&m->data_lock);
    return failed ? 5 : 0;
}

static int mem_save(void *user, const char *sp, const char *json) {
    memory_store *m = user;
    (void)sp;
    pthread_mutex_lock(&m->data_lock);
    int failed = m->fail_save;
    if (!failed) { free(m->doc); m->doc = strdup(json); m->saves++; }
    pthread_mutex_unlock(&m->data_lock);
    return failed ? 6 : 0;
}

static int mem_lock(void *user, const char *sp, int timeout_ms, void **token) {
    memory_store *m = user;
    (void)sp;
    if (m->fail_lock) return 3;
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) { deadline.tv_sec++; deadline.tv_nsec -= 1000000000L; }
    if (pthread_mutex_timedlock(&m->store_lock, &deadline) != 0) return 4;
    __atomic_add_fetch(&m->locks, 1, __ATOMIC_SEQ_CST);
    *token = (void *)0x5eed;
    return 0;
}

static int mem_unlock(void *user, const char *sp, void *token) {
    memory_store *m = user;
    (void)sp;
    CHECK(token == (void *)0x5eed);
    __atomic_add_fetch(&m->unlocks, 1, __ATOMIC_SEQ_CST);
    pthread_mutex_unlock(&m->store_lock);
    return 0;
}

static memory_store *memory_store_new(void) {
    memory_store *m = calloc(1, sizeof *m);
    pthread_mutex_init(&m->data_lock, NULL);
    pthread_mutex_init(&m->store_lock, NULL);
    return m;
}

static void memory_store_free(memory_store *m) {
    free(m->doc);
    pthread_mutex_destroy(&m->data_lock);
    pthread_mutex_destroy(&m->store_lock);
    free(m);
}

static passauth_client *store_client(memory_store *m, const char *extra) {
    passauth_store store = {.user_data = m, .load = mem_load, .save = mem_save, .lock = mem_lock, .unlock = mem_unlock};
    char *config = harness_config(&emu, harness_temp_dir(), extra);
    passauth_client *client = NULL;
    CHECK_STATUS(passauth_client_new_with_store(config, &store, &client), PASSAUTH_OK);
    memset(&store, 0, sizeof store); /* the library copied it */
    free(config);
    return client;
}

static char *snapshot(memory_store *m) {
    pthread_mutex_lock(&m->data_lock);
    char *copy = m->doc ? strdup(m->doc) : NULL;
    pthread_mutex_unlock(&m->data_lock);
    return copy;
}

static void test_missing_callbacks_are_invalid(void) {
    memory_store *m = memory_store_new();
    passauth_store store = {.user_data = m, .load = mem_load, .save = mem_save, .lock = mem_lock, .unlock = NULL};
    char *config = harness_config(&emu, harness_temp_dir(), NULL);
    passauth_client *client = NULL;
    CHECK_STATUS(passauth_client_new_with_store(config, &store, &client), PASSAUTH_E_INVALID_ARGUMENT);
    CHECK_STATUS(passauth_client_new_with_store(config, NULL, &client), PASSAUTH_E_INVALID_ARGUMENT);
    CHECK(client == NULL);
    CHECK(m->loads == 0);
    free(config);
    memory_store_free(m);
}

/* Two clients (two "service instances") on one store: one registration, one token, shared profiles. */
static void test_clients_share_one_registration_and_profiles(void) {
    json_decref(emulator_post(&emu, "/_emulator/reset", "{}"));
    memory_store *m = memory_store_new();
    passauth_client *a = store_client(m, "\"pacing\":false");
    passauth_client *b = store_client(m, "\"pacing\":false");
    char *out = NULL;
    CHECK_STATUS(passauth_register(a, &out), PASSAUTH_OK);
    passauth_free(out);
    CHECK_STATUS(passauth_register(b, &out), PASSAUTH_OK);
    json_t *second = harness_parse(out);
    CHECK(json_is_false(json_object_get(second, "registered")) && json_is_false(json_object_get(second, "tokenFetched")));
    json_decref(second);
    passauth_free(out);
    CHECK(emulator_stat(&emu, "registrations", NULL) == 1);
    CHECK(emulator_stat(&emu, "tokensIssued", NULL) == 1);
    CHECK(m->locks == m->unlocks && m->locks >= 1);
    CHECK(m->doc && strstr(m->doc, "\"client\"") && strstr(m->doc, "\"accessToken\""));

    CHECK(harness_login_device(&emu, "store-dev-1", "Cablevision"));
    CHECK_STATUS(passauth_profiles(a, "{\"id\":\"store-dev-1\"}", &out), PASSAUTH_OK);
    passauth_free(out);
    CHECK_STATUS(passauth_profiles_stored(b, "{\"id\":\"store-dev-1\"}", &out), PASSAUTH_OK);
    CHECK_MSG(strstr(out, "Cablevision") != NULL, "b sees a's profile: %s", out);
    passauth_free(out);
    passauth_client_free(a);
    passauth_client_free(b);
    memory_store_free(m);
}

/* Devices never see each other's profiles (stored or fetched) or cached preauthorizations. */
static void test_devices_are_isolated(void) {
    json_decref(emulator_post(&emu, "/_emulator/reset", "{}"));
    memory_store *m = memory_store_new();
    passauth_client *c = store_client(m, "\"pacing\":false");
    const char *dev1 = "{\"id\":\"iso-dev-1\",\"ip\":\"203.0.113.1\"}", *dev2 = "{\"id\":\"iso-dev-2\",\"ip\":\"203.0.113.2\"}";
    CHECK(harness_login_device(&emu, "iso-dev-1", "Cablevision"));
    char *out = NULL;
    CHECK_STATUS(passauth_profiles(c, dev1, &out), PASSAUTH_OK);
    CHECK(strstr(out, "Cablevision") != NULL);
    passauth_free(out);
    CHECK_STATUS(passauth_profiles(c, dev2, &out), PASSAUTH_OK);
    CHECK_MSG(strstr(out, "Cablevision") == NULL, "device 2 fetched: %s", out);
    passauth_free(out);
    CHECK_STATUS(passauth_profiles_stored(c, dev2, &out), PASSAUTH_OK);
    CHECK_MSG(strstr(out, "Cablevision") == NULL, "device 2 stored: %s", out);
    passauth_free(out);

    /* A permit cached for device 1 is not an answer for device 2 (who has no profile: an error). */
    CHECK_STATUS(passauth_preauthorize(c, dev1, "Cablevision", "[\"REF30\"]", &out), PASSAUTH_OK);
    CHECK(strstr(out, "\"authorized\":true") != NULL);
    passauth_free(out);
    long before = emulator_stat(&emu, "requests", "decisions.preauthorize");
    out = NULL;
    int status = passauth_preauthorize(c, dev2, "Cablevision", "[\"REF30\"]", &out);
    CHECK_MSG(status != PASSAUTH_OK || (out && strstr(out, "\"authorized\":true") == NULL),
              "device 2 got device 1's permit: %d %s", status, out ? out : "");
    passauth_free(out);
    CHECK(emulator_stat(&emu, "requests", "decisions.preauthorize") == before + 1);
    passauth_client_free(c);
    memory_store_free(m);
}

/* A store outage fails calls with PASSAUTH_E_STORE and changes nothing; the state works again after it. */
static void test_store_outage_is_typed_and_harmless(void) {
    json_decref(emulator_post(&emu, "/_emulator/reset", "{}"));
    memory_store *m = memory_store_new();
    passauth_client *c = store_client(m, "\"pacing\":false");
    CHECK_STATUS(passauth_mvpd_select(c, NULL, "{\"id\":\"Cablevision\",\"displayName\":\"Optimum\"}"), PASSAUTH_OK);
    char *before = snapshot(m);
    CHECK(before != NULL);
    int saves = m->saves;

    const char *other = "{\"id\":\"Comcast_SSO\",\"displayName\":\"Xfinity\"}";
    m->fail_load = 1;
    CHECK_STATUS(passauth_mvpd_select(c, NULL, other), PASSAUTH_E_STORE);
    json_t *err = harness_parse(passauth_last_error());
    const char *message = json_string_value(json_object_get(err, "message"));
    CHECK_MSG(message && strstr(message, "load callback") && strstr(message, "returned 5"), "%s", passauth_last_error());
    json_decref(err);
    char *out = NULL;
    CHECK_STATUS(passauth_mvpd_selected(c, NULL, &out), PASSAUTH_E_STORE);
    m->fail_load = 0;

    m->fail_save = 1;
    CHECK_STATUS(passauth_mvpd_select(c, NULL, other), PASSAUTH_E_STORE);
    m->fail_save = 0;
    m->fail_lock = 1;
    CHECK_STATUS(passauth_mvpd_select(c, NULL, other), PASSAUTH_E_STORE);
    m->fail_lock = 0;
    char *after = snapshot(m);
    CHECK(after && strcmp(before, after) == 0);
    CHECK(m->saves == saves);
    CHECK(m->locks == m->unlocks);
    free(after);

    /* A document that is not a passauth state is an error, and is never overwritten. */
    pthread_mutex_lock(&m->data_lock);
    free(m->doc);
    m->doc = strdup("{\"not\": \"ours\"");
    pthread_mutex_unlock(&m->data_lock);
    CHECK_STATUS(passauth_mvpd_select(c, NULL, other), PASSAUTH_E_STORE);
    CHECK(strcmp(m->doc, "{\"not\": \"ours\"") == 0);

    /* Back in service: the state is intact and usable. */
    pthread_mutex_lock(&m->data_lock);
    free(m->doc);
    m->doc = before;
    pthread_mutex_unlock(&m->data_lock);
    CHECK_STATUS(passauth_mvpd_selected(c, NULL, &out), PASSAUTH_OK);
    CHECK(out && strstr(out, "Cablevision"));
    passauth_free(out);
    CHECK_STATUS(passauth_mvpd_select(c, NULL, other), PASSAUTH_OK);
    CHECK_STATUS(passauth_mvpd_selected(c, NULL, &out), PASSAUTH_OK);
    CHECK(out && strstr(out, "Comcast_SSO"));
    passauth_free(out);
    passauth_client_free(c);
    memory_store_free(m);
}

int main(void) {
    if (!emulator_start(&emu, "--no-throttle")) return 2;
    static const struct harness_case cases[] = {
        {"missing_callbacks_are_invalid", test_missing_callbacks_are_invalid},
        {"clients_share_one_registration_and_profiles", test_clients_share_one_registration_and_profiles},
        {"devices_are_isolated", test_devices_are_isolated},
        {"store_outage_is_typed_and_harmless", test_store_outage_is_typed_and_harmless},
        {NULL, NULL},
    };
    int rc = harness_run("store", cases);
    emulator_stop(&emu);
    return rc;
}
