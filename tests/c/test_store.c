/* The application store (struct passauth_store v1: versioned get, compare-and-set put, lock, unlock)
 * against the emulator. An in-memory versioned store written here stands in for a shared one (Redis, a
 * database): it checks the key layout, isolation per origin and per device, that conflicts are retried
 * without losing a write, and that an outage is a typed error that changes nothing and carries the
 * callback's reason (passauth_store_set_error). */
#include "harness.h"
#include "passauth.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static emulator emu;

enum { MAX_ENTRIES = 256 };

typedef struct entry {
    char *key, *value;
    unsigned long long version;
    long long ttl_ms;
} entry;

typedef struct memory_store {
    pthread_mutex_t data_lock;   /* guards entries and counters */
    pthread_mutex_t store_lock;  /* the store's exclusive lock */
    entry entries[MAX_ENTRIES];
    int count;
    unsigned long long sequence;
    int fail_get, fail_put, fail_lock;
    int gets, puts, conflicts, locks, unlocks;
    /* Before the first put whose key contains interfere_key, another writer stores interfere_value. */
    const char *interfere_key, *interfere_value;
} memory_store;

static entry *find(memory_store *m, const char *key) {
    for (int i = 0; i < m->count; i++)
        if (strcmp(m->entries[i].key, key) == 0) return &m->entries[i];
    return NULL;
}

/* Sets a value as another writer would (new version). */
static void store_set(memory_store *m, const char *key, const char *value) {
    pthread_mutex_lock(&m->data_lock);
    entry *e = find(m, key);
    if (!e && m->count < MAX_ENTRIES) {
        e = &m->entries[m->count++];
        e->key = strdup(key);
        e->value = NULL;
    }
    if (e) {
        free(e->value);
        e->value = strdup(value);
        e->version = ++m->sequence;
    }
    pthread_mutex_unlock(&m->data_lock);
}

static int mem_get(void *user, const char *key, char **out_value, unsigned long long *out_version) {
    memory_store *m = user;
    pthread_mutex_lock(&m->data_lock);
    m->gets++;
    if (m->fail_get) {
        pthread_mutex_unlock(&m->data_lock);
        passauth_store_set_error("connection refused by db.example:5432");
        return 5;
    }
    entry *e = find(m, key);
    *out_value = e && e->value ? strdup(e->value) : NULL;
    *out_version = e && e->value ? e->version : 0;
    pthread_mutex_unlock(&m->data_lock);
    return 0;
}

static int mem_put(void *user, const char *key, const char *value, unsigned long long expected, long long ttl_ms,
                   unsigned long long *out_version) {
    memory_store *m = user;
    if (m->interfere_key && strstr(key, m->interfere_key)) {
        const char *other = m->interfere_value;
        m->interfere_key = NULL;
        store_set(m, key, other);
    }
    pthread_mutex_lock(&m->data_lock);
    if (m->fail_put) {
        pthread_mutex_unlock(&m->data_lock);
        passauth_store_set_error("disk quota exceeded");
        return 6;
    }
    entry *e = find(m, key);
    unsigned long long current = e && e->value ? e->version : 0;
    if (current != expected) {
        m->conflicts++;
        pthread_mutex_unlock(&m->data_lock);
        return PASSAUTH_STORE_CONFLICT;
    }
    if (!e && m->count < MAX_ENTRIES) {
        e = &m->entries[m->count++];
        e->key = strdup(key);
        e->value = NULL;
    }
    free(e->value);
    e->value = value ? strdup(value) : NULL;
    e->version = ++m->sequence;
    e->ttl_ms = ttl_ms;
    *out_version = e->version;
    m->puts++;
    pthread_mutex_unlock(&m->data_lock);
    return 0;
}

static int mem_lock(void *user, const char *name, int timeout_ms, void **token) {
    memory_store *m = user;
    if (m->fail_lock) {
        passauth_store_set_error("lease service unavailable");
        return 3;
    }
    CHECK(strstr(name, "passauth:{") == name);
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

static int mem_unlock(void *user, const char *name, void *token) {
    memory_store *m = user;
    (void)name;
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
    for (int i = 0; i < m->count; i++) { free(m->entries[i].key); free(m->entries[i].value); }
    pthread_mutex_destroy(&m->data_lock);
    pthread_mutex_destroy(&m->store_lock);
    free(m);
}

/* A copy of the value of `key` (NULL when absent), and its version. */
static char *value_of(memory_store *m, const char *key, unsigned long long *version, long long *ttl) {
    pthread_mutex_lock(&m->data_lock);
    entry *e = find(m, key);
    char *copy = e && e->value ? strdup(e->value) : NULL;
    if (version) *version = e && e->value ? e->version : 0;
    if (ttl) *ttl = e ? e->ttl_ms : 0;
    pthread_mutex_unlock(&m->data_lock);
    return copy;
}

/* Every key=value, to compare the whole store before and after. */
static char *dump(memory_store *m) {
    pthread_mutex_lock(&m->data_lock);
    size_t size = 1;
    for (int i = 0; i < m->count; i++) size += strlen(m->entries[i].key) + (m->entries[i].value ? strlen(m->entries[i].value) : 0) + 40;
    char *text = calloc(1, size), *at = text;
    for (int i = 0; i < m->count; i++)
        at += sprintf(at, "%s=%s@%llu\n", m->entries[i].key, m->entries[i].value ? m->entries[i].value : "-", m->entries[i].version);
    pthread_mutex_unlock(&m->data_lock);
    return text;
}

static passauth_store store_of(memory_store *m) {
    passauth_store store = {.version = PASSAUTH_STORE_VERSION, .user_data = m, .get = mem_get, .put = mem_put,
                            .lock = mem_lock, .unlock = mem_unlock};
    return store;
}

static passauth_client *store_client_at(memory_store *m, const char *base_url, const char *extra) {
    passauth_store store = store_of(m);
    emulator at = emu;
    snprintf(at.base_url, sizeof at.base_url, "%s", base_url);
    char *config = harness_config(&at, harness_temp_dir(), extra);
    passauth_client *client = NULL;
    CHECK_STATUS(passauth_client_new_with_store(config, &store, &client), PASSAUTH_OK);
    memset(&store, 0, sizeof store); /* the library copied it */
    free(config);
    return client;
}

static passauth_client *store_client(memory_store *m, const char *extra) { return store_client_at(m, emu.base_url, extra); }

/* "passauth:{<base>|REF30}:registration" or "...|<device>}:<kind>" for the emulator's origin. */
static char *key_for(const char *base_url, const char *device, const char *kind) {
    char *key = NULL;
    if (device) {
        if (asprintf(&key, "passauth:{%s|REF30|%s}:%s", base_url, device, kind) < 0) return NULL;
    } else if (asprintf(&key, "passauth:{%s|REF30}:registration", base_url) < 0) {
        return NULL;
    }
    return key;
}

static const char *last_message(void) {
    static char message[2048];
    json_t *err = harness_parse(passauth_last_error());
    snprintf(message, sizeof message, "%s", json_string_value(json_object_get(err, "message")) ? json_string_value(json_object_get(err, "message")) : "");
    json_decref(err);
    return message;
}

static void test_missing_callbacks_or_version_are_invalid(void) {
    memory_store *m = memory_store_new();
    passauth_store store = store_of(m);
    store.unlock = NULL;
    char *config = harness_config(&emu, harness_temp_dir(), NULL);
    passauth_client *client = NULL;
    CHECK_STATUS(passauth_client_new_with_store(config, &store, &client), PASSAUTH_E_INVALID_ARGUMENT);
    store = store_of(m);
    store.version = 2;
    CHECK_STATUS(passauth_client_new_with_store(config, &store, &client), PASSAUTH_E_INVALID_ARGUMENT);
    CHECK_MSG(strstr(last_message(), "PASSAUTH_STORE_VERSION") != NULL, "%s", passauth_last_error());
    CHECK_STATUS(passauth_client_new_with_store(config, NULL, &client), PASSAUTH_E_INVALID_ARGUMENT);
    CHECK(client == NULL);
    CHECK(m->gets == 0 && m->puts == 0);
    free(config);
    memory_store_free(m);
}

/* Two clients (two "service instances") on one store: one registration, one token, shared profiles,
 * under the documented keys. */
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
    char *key = key_for(emu.base_url, NULL, NULL);
    char *registration = value_of(m, key, NULL, NULL);
    CHECK_MSG(registration && strstr(registration, "\"client\"") && strstr(registration, "\"accessToken\""), "%s: %s", key,
              registration ? registration : "(absent)");
    free(registration);
    free(key);

    CHECK(harness_login_device(&emu, "store-dev-1", "Cablevision"));
    CHECK_STATUS(passauth_profiles(a, "{\"id\":\"store-dev-1\"}", &out), PASSAUTH_OK);
    passauth_free(out);
    CHECK_STATUS(passauth_profiles_stored(b, "{\"id\":\"store-dev-1\"}", &out), PASSAUTH_OK);
    CHECK_MSG(strstr(out, "Cablevision") != NULL, "b sees a's profile: %s", out);
    passauth_free(out);
    key = key_for(emu.base_url, "store-dev-1", "profiles");
    long long ttl = 0;
    char *profiles = value_of(m, key, NULL, &ttl);
    CHECK_MSG(profiles && strstr(profiles, "Cablevision"), "%s", key);
    CHECK_MSG(ttl > 0, "the profiles key carries the latest notAfter as a TTL hint (got %lld)", ttl);
    free(profiles);
    free(key);
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
    char *key2 = key_for(emu.base_url, "iso-dev-2", "profiles");
    char *stored2 = value_of(m, key2, NULL, NULL);
    CHECK_MSG(stored2 == NULL, "device 2 has a profiles key: %s", stored2);
    free(stored2);
    free(key2);

    /* A permit cached for device 1 is not an answer for device 2 (who has no profile: an error). */
    CHECK_STATUS(passauth_preauthorize(c, dev1, "Cablevision", "[\"REF30\"]", &out), PASSAUTH_OK);
    int authorized = 0;
    CHECK_MSG(passauth_json_get_bool(out, "/decisions/0/authorized", &authorized) == PASSAUTH_OK && authorized, "%s", out);
    passauth_free(out);
    long before = emulator_stat(&emu, "requests", "decisions.preauthorize");
    out = NULL;
    int status = passauth_preauthorize(c, dev2, "Cablevision", "[\"REF30\"]", &out);
    authorized = 0;
    if (status == PASSAUTH_OK) passauth_json_get_bool(out, "/decisions/0/authorized", &authorized);
    CHECK_MSG(!authorized,
              "device 2 got device 1's permit: %d %s", status, out ? out : "");
    passauth_free(out);
    CHECK(emulator_stat(&emu, "requests", "decisions.preauthorize") == before + 1);
    passauth_client_free(c);
    memory_store_free(m);
}

/* Does any request the emulator received with this Host carry `needle` (in a header or the body)? */
static bool sent_to_host(const char *host_prefix, const char *needle) {
    json_t *log = emulator_get(&emu, "/_emulator/requests");
    bool found = false;
    size_t i;
    json_t *request;
    json_array_foreach(json_object_get(log, "requests"), i, request) {
        json_t *headers = json_object_get(request, "headers");
        const char *host = json_string_value(json_object_get(headers, "host"));
        if (!host || strncmp(host, host_prefix, strlen(host_prefix)) != 0) continue;
        char *text = json_dumps(request, JSON_COMPACT);
        if (text && strstr(text, needle)) found = true;
        free(text);
    }
    json_decref(log);
    return found;
}

/* One store, two base URLs (the emulator as 127.0.0.1 and as localhost): two registrations under two
 * keys, and the second host never receives the first host's client secret or bearer token. */
static void test_origins_are_isolated(void) {
    json_decref(emulator_post(&emu, "/_emulator/reset", "{}"));
    memory_store *m = memory_store_new();
    char localhost[160];
    snprintf(localhost, sizeof localhost, "http://localhost:%s", strrchr(emu.base_url, ':') + 1);
    passauth_client *a = store_client_at(m, emu.base_url, "\"pacing\":false");
    passauth_client *b = store_client_at(m, localhost, "\"pacing\":false");
    char *out = NULL;
    CHECK_STATUS(passauth_configuration(a, NULL, &out), PASSAUTH_OK);
    passauth_free(out);
    char *key_a = key_for(emu.base_url, NULL, NULL), *key_b = key_for(localhost, NULL, NULL);
    unsigned long long version_a = 0;
    char *record_a = value_of(m, key_a, &version_a, NULL);
    json_t *doc = harness_parse(record_a);
    const char *secret = json_string_value(json_object_get(json_object_get(doc, "client"), "clientSecret"));
    const char *token = json_string_value(json_object_get(json_object_get(doc, "accessToken"), "value"));
    CHECK(secret && token);

    CHECK_STATUS(passauth_configuration(b, NULL, &out), PASSAUTH_OK);
    passauth_free(out);
    CHECK(emulator_stat(&emu, "registrations", NULL) == 2);
    char *record_b = value_of(m, key_b, NULL, NULL);
    CHECK_MSG(record_b && strstr(record_b, "\"origin\":\"http://localhost:"), "%s", record_b ? record_b : "(absent)");
    CHECK(secret && token && !sent_to_host("localhost", secret) && !sent_to_host("localhost", token));
    CHECK(secret && token && sent_to_host("127.0.0.1", token));  /* the check does see what it looks for */
    /* B did not overwrite A's registration. */
    unsigned long long version_after = 0;
    char *record_after = value_of(m, key_a, &version_after, NULL);
    CHECK(record_after && record_a && strcmp(record_after, record_a) == 0 && version_after == version_a);
    free(record_after);
    free(record_b);
    json_decref(doc);
    free(record_a);
    free(key_a);
    free(key_b);
    passauth_client_free(a);
    passauth_client_free(b);
    memory_store_free(m);
}

/* A store outage fails calls with PASSAUTH_E_STORE, names the callback and key, carries the callback's
 * reason, and changes nothing; the state works again after it. */
static void test_store_outage_is_typed_and_harmless(void) {
    json_decref(emulator_post(&emu, "/_emulator/reset", "{}"));
    memory_store *m = memory_store_new();
    passauth_client *c = store_client(m, "\"pacing\":false");
    CHECK_STATUS(passauth_mvpd_select(c, NULL, "{\"id\":\"Cablevision\",\"displayName\":\"Optimum\"}"), PASSAUTH_OK);
    char *before = dump(m);
    int puts = m->puts;

    const char *other = "{\"id\":\"Comcast_SSO\",\"displayName\":\"Xfinity\"}";
    m->fail_get = 1;
    CHECK_STATUS(passauth_mvpd_select(c, NULL, other), PASSAUTH_E_STORE);
    const char *message = last_message();
    CHECK_MSG(strstr(message, "get callback") && strstr(message, "returned 5") && strstr(message, ":mvpd'")
              && strstr(message, "connection refused by db.example:5432"), "%s", passauth_last_error());
    char *out = NULL;
    CHECK_STATUS(passauth_mvpd_selected(c, NULL, &out), PASSAUTH_E_STORE);
    m->fail_get = 0;

    m->fail_put = 1;
    CHECK_STATUS(passauth_mvpd_select(c, NULL, other), PASSAUTH_E_STORE);
    CHECK_MSG(strstr(last_message(), "put callback") && strstr(last_message(), "disk quota exceeded"), "%s", passauth_last_error());
    m->fail_put = 0;

    /* A client with no token in memory needs the lock to register. */
    passauth_client *fresh = store_client(m, "\"pacing\":false");
    m->fail_lock = 1;
    CHECK_STATUS(passauth_register(fresh, &out), PASSAUTH_E_STORE);
    CHECK_MSG(strstr(last_message(), "lock callback") && strstr(last_message(), "lease service unavailable"), "%s", passauth_last_error());
    m->fail_lock = 0;
    CHECK(emulator_stat(&emu, "registrations", NULL) == 0);
    char *after = dump(m);
    CHECK_MSG(strcmp(before, after) == 0, "before:\n%s\nafter:\n%s", before, after);
    CHECK(m->puts == puts);
    CHECK(m->locks == m->unlocks);
    free(after);

    /* A value that is not what the library writes is an error, and is never overwritten. */
    char *key = key_for(emu.base_url, "device-1", "mvpd");
    store_set(m, key, "{\"not\": \"ours\"");
    CHECK_STATUS(passauth_mvpd_select(c, NULL, other), PASSAUTH_E_STORE);
    CHECK_MSG(strstr(last_message(), key) != NULL, "%s", passauth_last_error());
    char *value = value_of(m, key, NULL, NULL);
    CHECK(value && strcmp(value, "{\"not\": \"ours\"") == 0);
    free(value);

    /* Back in service: usable again. */
    store_set(m, key, "{\"id\":\"Cablevision\"}");
    CHECK_STATUS(passauth_mvpd_selected(c, NULL, &out), PASSAUTH_OK);
    CHECK(out && strstr(out, "Cablevision"));
    passauth_free(out);
    CHECK_STATUS(passauth_mvpd_select(c, NULL, other), PASSAUTH_OK);
    CHECK_STATUS(passauth_mvpd_selected(c, NULL, &out), PASSAUTH_OK);
    CHECK(out && strstr(out, "Comcast_SSO"));
    passauth_free(out);
    free(key);
    free(before);
    passauth_client_free(fresh);
    passauth_client_free(c);
    memory_store_free(m);
}

/* Another instance writes the device's profiles between this client's read and its write: the put
 * conflicts, the client re-reads and merges, and neither profile is lost. */
static void test_conflicts_are_retried_without_losing_a_write(void) {
    json_decref(emulator_post(&emu, "/_emulator/reset", "{}"));
    memory_store *m = memory_store_new();
    passauth_client *c = store_client(m, "\"pacing\":false");
    CHECK(harness_login_device(&emu, "cas-dev", "Cablevision"));
    char other[256];
    snprintf(other, sizeof other, "{\"Dish\":{\"type\":\"regular\",\"notAfter\":%lld}}", (long long)time(NULL) * 1000 + 3600000);
    m->interfere_key = "|cas-dev}:profiles";
    m->interfere_value = other;
    char *out = NULL;
    CHECK_STATUS(passauth_profile_for_mvpd(c, "{\"id\":\"cas-dev\"}", "Cablevision", &out), PASSAUTH_OK);
    passauth_free(out);
    CHECK(m->conflicts >= 1);
    CHECK_STATUS(passauth_profiles_stored(c, "{\"id\":\"cas-dev\"}", &out), PASSAUTH_OK);
    CHECK_MSG(out && strstr(out, "Cablevision") && strstr(out, "Dish"), "%s", out ? out : "");
    passauth_free(out);
    passauth_client_free(c);
    memory_store_free(m);
}

struct profile_thread { passauth_client *client; const char *mvpd; int status; };

static void *fetch_profile(void *p) {
    struct profile_thread *t = p;
    char *out = NULL;
    t->status = passauth_profile_for_mvpd(t->client, "{\"id\":\"crowd-dev\"}", t->mvpd, &out);
    passauth_free(out);
    return NULL;
}

/* Threads of two instances store one device's profiles for four MVPDs at once: all four end up stored. */
static void test_concurrent_writers_never_lose_a_write(void) {
    json_decref(emulator_post(&emu, "/_emulator/reset", "{}"));
    memory_store *m = memory_store_new();
    passauth_client *a = store_client(m, "\"pacing\":false");
    passauth_client *b = store_client(m, "\"pacing\":false");
    char *out = NULL;
    CHECK_STATUS(passauth_register(a, &out), PASSAUTH_OK);
    passauth_free(out);
    static const char *mvpds[] = {"Cablevision", "Spectrum", "Dish", "ATTOTT"};
    for (int i = 0; i < 4; i++) CHECK(harness_login_device(&emu, "crowd-dev", mvpds[i]));
    pthread_t threads[4];
    struct profile_thread args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (struct profile_thread){i % 2 ? a : b, mvpds[i], -99};
        pthread_create(&threads[i], NULL, fetch_profile, &args[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(threads[i], NULL);
        CHECK_MSG(args[i].status == PASSAUTH_OK, "%s: %d", mvpds[i], args[i].status);
    }
    CHECK_STATUS(passauth_profiles_stored(a, "{\"id\":\"crowd-dev\"}", &out), PASSAUTH_OK);
    for (int i = 0; i < 4; i++) CHECK_MSG(out && strstr(out, mvpds[i]), "%s missing from %s", mvpds[i], out ? out : "");
    passauth_free(out);
    passauth_client_free(a);
    passauth_client_free(b);
    memory_store_free(m);
}

int main(void) {
    if (!emulator_start(&emu, "--no-throttle")) return 2;
    static const struct harness_case cases[] = {
        {"missing_callbacks_or_version_are_invalid", test_missing_callbacks_or_version_are_invalid},
        {"clients_share_one_registration_and_profiles", test_clients_share_one_registration_and_profiles},
        {"devices_are_isolated", test_devices_are_isolated},
        {"origins_are_isolated", test_origins_are_isolated},
        {"store_outage_is_typed_and_harmless", test_store_outage_is_typed_and_harmless},
        {"conflicts_are_retried_without_losing_a_write", test_conflicts_are_retried_without_losing_a_write},
        {"concurrent_writers_never_lose_a_write", test_concurrent_writers_never_lose_a_write},
        {NULL, NULL},
    };
    int rc = harness_run("store", cases);
    emulator_stop(&emu);
    return rc;
}
