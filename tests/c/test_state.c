/* The state layer with the default SQLite store, against the emulator: credentials belong to their host
 * (two base URLs on one store directory), passauth 0.1 files are refused with instructions, malformed or
 * corrupt state is an error that changes nothing, symlinks stay symlinks, a read-only store still
 * serves reads, a stale lock never stalls readers, secrets are encrypted at rest, and re-registration is
 * governed ("reregister", old credentials kept until new ones are stored, exactly one across processes).
 * Child processes are this program re-executed ("--child-...") so no process forks library threads. */
#include "harness.h"
#include "passauth.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static emulator emu;
static char self_path[4096];
#define KEY_32 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define OTHER_KEY_32 "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc="

static long long now_ms(void) {
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static passauth_client *client_at(const char *base_url, const char *store, const char *extra) {
    emulator at = emu;
    snprintf(at.base_url, sizeof at.base_url, "%s", base_url);
    char *config = harness_config(&at, store, extra);
    passauth_client *client = NULL;
    CHECK_STATUS(passauth_client_new(config, &client), PASSAUTH_OK);
    free(config);
    return client;
}

static const char *last_message(void) {
    static char message[4096];
    json_t *err = harness_parse(passauth_last_error());
    const char *text = json_string_value(json_object_get(err, "message"));
    snprintf(message, sizeof message, "%s", text ? text : "");
    json_decref(err);
    return message;
}

static char *db_path(const char *store) {
    static char path[800];
    snprintf(path, sizeof path, "%s/passauth.sqlite3", store);
    return path;
}

/* The value of `key` in the store's database (read with SQLite directly), or NULL. */
static char *db_get(const char *store, const char *key) {
    sqlite3 *db = NULL;
    char *value = NULL;
    if (sqlite3_open_v2(db_path(store), &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_stmt *statement = NULL;
        if (sqlite3_prepare_v2(db, "SELECT value FROM kv WHERE key = ?1", -1, &statement, NULL) == SQLITE_OK) {
            sqlite3_bind_text(statement, 1, key, -1, SQLITE_TRANSIENT);
            if (sqlite3_step(statement) == SQLITE_ROW) value = strdup((const char *)sqlite3_column_text(statement, 0));
        }
        sqlite3_finalize(statement);
    }
    sqlite3_close(db);
    return value;
}

/* Replaces the value of `key` as another writer would. */
static bool db_set(const char *store, const char *key, const char *value) {
    sqlite3 *db = NULL;
    bool ok = false;
    if (sqlite3_open(db_path(store), &db) == SQLITE_OK) {
        sqlite3_stmt *statement = NULL;
        if (sqlite3_prepare_v2(db, "UPDATE kv SET value = ?2, version = version + 1000 WHERE key = ?1", -1, &statement, NULL) == SQLITE_OK) {
            sqlite3_bind_text(statement, 1, key, -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(statement, 2, value, -1, SQLITE_TRANSIENT);
            ok = sqlite3_step(statement) == SQLITE_DONE && sqlite3_changes(db) == 1;
        }
        sqlite3_finalize(statement);
    }
    sqlite3_close(db);
    return ok;
}

static char *registration_key(const char *base_url) {
    static char key[400];
    snprintf(key, sizeof key, "passauth:{%s|REF30}:registration", base_url);
    return key;
}

/* A member of the stored registration of `base_url` ("client", "clientId"), copied; NULL if absent. */
static char *stored_member(const char *store, const char *base_url, const char *object, const char *member) {
    char *text = db_get(store, registration_key(base_url));
    json_t *doc = harness_parse(text);
    const char *value = json_string_value(json_object_get(json_object_get(doc, object), member));
    char *copy = value ? strdup(value) : NULL;
    json_decref(doc);
    free(text);
    return copy;
}

static char *file_bytes(const char *path, size_t *length) {
    FILE *f = fopen(path, "rb");
    if (!f) { *length = 0; return NULL; }
    size_t size = 0, capacity = 65536;
    char *data = malloc(capacity);
    size_t n;
    while ((n = fread(data + size, 1, capacity - size, f)) > 0) {
        size += n;
        if (size == capacity) data = realloc(data, capacity *= 2);
    }
    fclose(f);
    *length = size;
    return data;
}

static bool contains(const char *data, size_t length, const char *needle) {
    return needle && memmem(data, length, needle, strlen(needle)) != NULL;
}

/* Does any request the emulator received with this Host carry `needle` (in a header or the body)? */
static bool sent_to_host(const char *host_prefix, const char *needle) {
    json_t *log = emulator_get(&emu, "/_emulator/requests");
    bool found = false;
    size_t i;
    json_t *request;
    json_array_foreach(json_object_get(log, "requests"), i, request) {
        const char *host = json_string_value(json_object_get(json_object_get(request, "headers"), "host"));
        if (!host || strncmp(host, host_prefix, strlen(host_prefix)) != 0) continue;
        char *text = json_dumps(request, JSON_COMPACT);
        if (text && strstr(text, needle)) found = true;
        free(text);
    }
    json_decref(log);
    return found;
}

/* Runs `self --<mode> args...` and waits; returns its exit status (or -1). */
static int run_child(uid_t uid, const char *mode, const char *a, const char *b) {
    pid_t pid = fork();
    if (pid == 0) {
        if (uid != 0 && (setgid(uid) != 0 || setuid(uid) != 0)) _exit(126);
        execl(self_path, self_path, mode, a, b, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* ---------------------------------------------------------------------------------------------- */

/* Two base URLs (the emulator as 127.0.0.1 and as localhost) on one store directory: two registrations
 * under two keys; the second host never receives the first host's client secret or bearer token, and
 * neither overwrites the other. */
static void test_two_base_urls_never_share_credentials(void) {
    json_decref(emulator_post(&emu, "/_emulator/reset", NULL));
    const char *store = harness_temp_dir();
    char localhost[160];
    snprintf(localhost, sizeof localhost, "http://localhost:%s", strrchr(emu.base_url, ':') + 1);
    passauth_client *a = client_at(emu.base_url, store, "\"pacing\":false");
    char *out = NULL;
    CHECK_STATUS(passauth_configuration(a, NULL, &out), PASSAUTH_OK);
    passauth_free(out);
    char *record_a = db_get(store, registration_key(emu.base_url));
    char *secret = stored_member(store, emu.base_url, "client", "clientSecret");
    char *token = stored_member(store, emu.base_url, "accessToken", "value");
    CHECK(secret && token && record_a);

    passauth_client *b = client_at(localhost, store, "\"pacing\":false");
    CHECK_STATUS(passauth_configuration(b, NULL, &out), PASSAUTH_OK);
    passauth_free(out);
    CHECK(emulator_stat(&emu, NULL, "register") == 2);
    CHECK(secret && !sent_to_host("localhost", secret));
    CHECK(token && !sent_to_host("localhost", token));
    CHECK(token && sent_to_host("127.0.0.1", token));  /* the check sees what it looks for */
    char *record_b = db_get(store, registration_key(localhost));
    CHECK_MSG(record_b && strstr(record_b, "\"origin\":\"http://localhost:"), "%s", record_b ? record_b : "(absent)");
    char *record_a_after = db_get(store, registration_key(emu.base_url));
    CHECK(record_a && record_a_after && strcmp(record_a, record_a_after) == 0);

    /* Restarted, each reuses its own. */
    passauth_client_free(a);
    passauth_client_free(b);
    a = client_at(emu.base_url, store, "\"pacing\":false");
    b = client_at(localhost, store, "\"pacing\":false");
    CHECK_STATUS(passauth_register(a, &out), PASSAUTH_OK);
    CHECK(strstr(out, "\"registered\":false") != NULL);
    passauth_free(out);
    CHECK_STATUS(passauth_register(b, &out), PASSAUTH_OK);
    CHECK(strstr(out, "\"registered\":false") != NULL);
    passauth_free(out);
    CHECK(emulator_stat(&emu, NULL, "register") == 2);
    free(record_a);
    free(record_a_after);
    free(record_b);
    free(secret);
    free(token);
    passauth_client_free(a);
    passauth_client_free(b);
}

/* A passauth 0.1 state file (no origin recorded) is never used: calls fail with a message naming the
 * file and what to do, the file is left as it is, and nothing is sent. */
static void test_legacy_file_is_refused_with_instructions(void) {
    json_decref(emulator_post(&emu, "/_emulator/reset", NULL));
    const char *store = harness_temp_dir();
    mkdir(store, 0700);
    char path[800];
    snprintf(path, sizeof path, "%s/REF30.json", store);
    const char *legacy = "{\"format\":1,\"client\":{\"clientId\":\"old-client\",\"clientSecret\":\"old-secret-123\","
                         "\"softwareStatement\":\"fnv1a64:0\"},\"accessToken\":{\"value\":\"old-token-123\","
                         "\"obtainedAt\":1,\"expiresAt\":99999999999999}}";
    FILE *f = fopen(path, "w");
    fputs(legacy, f);
    fclose(f);
    passauth_client *client = client_at(emu.base_url, store, NULL);
    char *out = NULL;
    CHECK_STATUS(passauth_configuration(client, NULL, &out), PASSAUTH_E_STORE);
    const char *message = last_message();
    CHECK_MSG(strstr(message, path) && strstr(message, "passauth 0.1") && strstr(message, "move it away") &&
              strstr(message, "passauth import-state") && strstr(message, emu.base_url), "%s", message);
    CHECK_STATUS(passauth_register(client, &out), PASSAUTH_E_STORE);
    json_t *requests = emulator_get(&emu, "/_emulator/requests");
    CHECK(json_array_size(json_object_get(requests, "requests")) == 0);
    json_decref(requests);
    size_t length = 0;
    char *after = file_bytes(path, &length);
    CHECK(after && length == strlen(legacy) && memcmp(after, legacy, length) == 0);
    free(after);
    passauth_client_free(client);

    /* Moved away: a new registration, as the message says. */
    char moved[820];
    snprintf(moved, sizeof moved, "%s.old", path);
    CHECK(rename(path, moved) == 0);
    client = client_at(emu.base_url, store, NULL);
    CHECK_STATUS(passauth_register(client, &out), PASSAUTH_OK);
    CHECK(out && strstr(out, "\"registered\":true"));
    passauth_free(out);
    passauth_client_free(client);
}

/* A client entry whose fields are not strings: PASSAUTH_E_STORE naming the file, the database left as
 * it was, and no register request (never a silent re-registration). */
static void test_malformed_client_entry_is_a_store_error(void) {
    json_decref(emulator_post(&emu, "/_emulator/reset", NULL));
    const char *store = harness_temp_dir();
    passauth_client *client = client_at(emu.base_url, store, NULL);
    char *out = NULL;
    CHECK_STATUS(passauth_register(client, &out), PASSAUTH_OK);
    passauth_free(out);
    passauth_client_free(client);
    char *record = db_get(store, registration_key(emu.base_url));
    json_t *doc = harness_parse(record);
    json_object_set_new(json_object_get(doc, "client"), "clientSecret", json_integer(42));
    char *malformed = json_dumps(doc, JSON_COMPACT);
    CHECK(db_set(store, registration_key(emu.base_url), malformed));
    size_t before_length = 0, after_length = 0;
    char *before = file_bytes(db_path(store), &before_length);

    client = client_at(emu.base_url, store, NULL);
    CHECK_STATUS(passauth_configuration(client, NULL, &out), PASSAUTH_E_STORE);
    const char *message = last_message();
    CHECK_MSG(strstr(message, db_path(store)) && strstr(message, "clientSecret") && strstr(message, "left untouched"), "%s", message);
    passauth_client_free(client);
    CHECK(emulator_stat(&emu, NULL, "register") == 1);
    char *after = file_bytes(db_path(store), &after_length);
    CHECK(before && after && before_length == after_length && memcmp(before, after, before_length) == 0);
    char *value = db_get(store, registration_key(emu.base_url));
    CHECK(value && strcmp(value, malformed) == 0);
    free(value);
    free(before);
    free(after);
    free(malformed);
    json_decref(doc);
    free(record);
}

/* A store directory that is a symlink, and a database file that is a symlink, stay symlinks. */
static void test_symlinked_store_stays_a_symlink(void) {
    json_decref(emulator_post(&emu, "/_emulator/reset", NULL));
    char real[800], link_dir[800], files[800], link_file[900], target[900];
    snprintf(real, sizeof real, "%s", harness_temp_dir());
    snprintf(link_dir, sizeof link_dir, "%s", harness_temp_dir());
    CHECK(mkdir(real, 0700) == 0 && symlink(real, link_dir) == 0);
    passauth_client *client = client_at(emu.base_url, link_dir, NULL);
    char *out = NULL;
    CHECK_STATUS(passauth_register(client, &out), PASSAUTH_OK);
    passauth_free(out);
    CHECK_STATUS(passauth_mvpd_select(client, NULL, "{\"id\":\"Cablevision\"}"), PASSAUTH_OK);
    passauth_client_free(client);
    struct stat st;
    CHECK(lstat(link_dir, &st) == 0 && S_ISLNK(st.st_mode));

    snprintf(files, sizeof files, "%s", harness_temp_dir());
    CHECK(mkdir(files, 0700) == 0);
    snprintf(link_file, sizeof link_file, "%s/passauth.sqlite3", files);
    snprintf(target, sizeof target, "%s/passauth.sqlite3", real);
    CHECK(symlink(target, link_file) == 0);
    client = client_at(emu.base_url, files, NULL);
    CHECK_STATUS(passauth_register(client, &out), PASSAUTH_OK);
    CHECK(out && strstr(out, "\"registered\":false"));
    passauth_free(out);
    CHECK_STATUS(passauth_mvpd_select(client, NULL, "{\"id\":\"Dish\"}"), PASSAUTH_OK);
    passauth_client_free(client);
    CHECK(lstat(link_file, &st) == 0 && S_ISLNK(st.st_mode));
    client = client_at(emu.base_url, link_dir, NULL);
    CHECK_STATUS(passauth_mvpd_selected(client, NULL, &out), PASSAUTH_OK);
    CHECK(out && strstr(out, "Dish"));
    passauth_free(out);
    passauth_client_free(client);
    CHECK(emulator_stat(&emu, NULL, "register") == 1);
}

/* In a child (as a user the permissions apply to): reads work, a write fails clearly. */
static int child_read_only(const char *store, const char *base_url) {
    passauth_client *client = client_at(base_url, store, "\"pacing\":false");
    char *out = NULL;
    CHECK_STATUS(passauth_authorize(client, "{\"id\":\"ro-dev\"}", "Cablevision", "[\"REF30\"]", &out), PASSAUTH_OK);
    int authorized = 0;
    CHECK_MSG(out && passauth_json_get_bool(out, "/decisions/0/authorized", &authorized) == PASSAUTH_OK && authorized,
              "%s", out ? out : "");
    passauth_free(out);
    CHECK_STATUS(passauth_mvpd_selected(client, "{\"id\":\"ro-dev\"}", &out), PASSAUTH_OK);
    CHECK(out && strstr(out, "Cablevision"));
    passauth_free(out);
    CHECK_STATUS(passauth_profiles_stored(client, "{\"id\":\"ro-dev\"}", &out), PASSAUTH_OK);
    CHECK(out && strstr(out, "Cablevision"));
    passauth_free(out);
    CHECK_STATUS(passauth_mvpd_select(client, "{\"id\":\"ro-dev\"}", "{\"id\":\"Dish\"}"), PASSAUTH_E_STORE);
    CHECK_MSG(strstr(last_message(), "read-only") && strstr(last_message(), "passauth.sqlite3"), "%s", last_message());
    passauth_client_free(client);
    return harness_failed_checks == 0 ? 0 : 1;
}

/* A read-only store directory holding a valid token (and a read-only database file, in a second round)
 * still serves calls that only read; a call that must write fails with PASSAUTH_E_STORE saying so. As
 * root (whom permissions do not stop) the reads run in a child as "nobody". */
static void test_read_only_store_serves_reads(void) {
    json_decref(emulator_post(&emu, "/_emulator/reset", NULL));
    const char *store = harness_temp_dir();
    passauth_client *client = client_at(emu.base_url, store, "\"pacing\":false");
    CHECK(harness_login_device(&emu, "ro-dev", "Cablevision"));
    char *out = NULL;
    CHECK_STATUS(passauth_profiles(client, "{\"id\":\"ro-dev\"}", &out), PASSAUTH_OK);
    passauth_free(out);
    CHECK_STATUS(passauth_mvpd_select(client, "{\"id\":\"ro-dev\"}", "{\"id\":\"Cablevision\"}"), PASSAUTH_OK);
    passauth_client_free(client);  /* the last connection checkpoints: no WAL files are left */
    uid_t uid = geteuid() == 0 ? 65534 : 0;
    char root[800], command[1800];
    snprintf(root, sizeof root, "%s", store);
    *strrchr(root, '/') = 0;
    if (uid) {
        chmod(root, 0711);
        snprintf(command, sizeof command, "chown -R %u:%u '%s'", (unsigned)uid, (unsigned)uid, store);
        CHECK(system(command) == 0);
    }
    CHECK(chmod(store, 0500) == 0);
    CHECK_MSG(run_child(uid, "--child-read-only", store, emu.base_url) == 0, "round 1 (read-only directory) failed");
    CHECK(chmod(db_path(store), 0400) == 0);
    CHECK_MSG(run_child(uid, "--child-read-only", store, emu.base_url) == 0, "round 2 (read-only directory and file) failed");
    CHECK(emulator_stat(&emu, NULL, "register") == 1 && emulator_stat(&emu, NULL, "token") == 1);
    chmod(store, 0700);
    chmod(db_path(store), 0600);
    if (uid) {
        snprintf(command, sizeof command, "chown -R 0:0 '%s'", store);
        CHECK(system(command) == 0);
        chmod(root, 0700);
    }
}

/* In a child: holds the registration lock (flock) until killed. */
static int child_hold_lock(const char *store) {
    char path[800];
    snprintf(path, sizeof path, "%s/passauth.sqlite3.lock", store);
    int fd = open(path, O_RDWR | O_CREAT, 0600);
    if (fd < 0 || flock(fd, LOCK_EX) != 0) return 3;
    printf("locked\n");
    fflush(stdout);
    for (;;) pause();
}

/* A process holding the lock (stuck, then killed) never stalls readers; once it is killed the next
 * writer takes the lock at once (the kernel released it). */
static void test_stale_lock_never_stalls_readers(void) {
    json_decref(emulator_post(&emu, "/_emulator/reset", NULL));
    const char *store = harness_temp_dir();
    passauth_client *client = client_at(emu.base_url, store, "\"pacing\":false,\"configurationCacheMs\":0");
    CHECK(harness_login_device(&emu, "lock-dev", "Cablevision"));
    char *out = NULL;
    CHECK_STATUS(passauth_profiles(client, "{\"id\":\"lock-dev\"}", &out), PASSAUTH_OK);
    passauth_free(out);
    passauth_client_free(client);

    int fds[2];
    CHECK(pipe(fds) == 0);
    pid_t holder = fork();
    if (holder == 0) {
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        execl(self_path, self_path, "--child-hold-lock", store, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    char line[16] = {0};
    CHECK(read(fds[0], line, sizeof line - 1) > 0 && strncmp(line, "locked", 6) == 0);
    long long started = now_ms();
    client = client_at(emu.base_url, store, "\"pacing\":false,\"configurationCacheMs\":0");
    CHECK_STATUS(passauth_register(client, &out), PASSAUTH_OK);  /* a fresh stored token: no lock needed */
    passauth_free(out);
    CHECK_STATUS(passauth_authorize(client, "{\"id\":\"lock-dev\"}", "Cablevision", "[\"REF30\"]", &out), PASSAUTH_OK);
    passauth_free(out);
    CHECK_STATUS(passauth_profiles_stored(client, "{\"id\":\"lock-dev\"}", &out), PASSAUTH_OK);
    passauth_free(out);
    CHECK_STATUS(passauth_mvpd_select(client, "{\"id\":\"lock-dev\"}", "{\"id\":\"Cablevision\"}"), PASSAUTH_OK);
    long long elapsed = now_ms() - started;
    CHECK_MSG(elapsed < 2000, "reads and device writes took %lld ms while another process held the lock", elapsed);

    kill(holder, SIGKILL);
    waitpid(holder, NULL, 0);
    close(fds[0]);
    json_decref(emulator_post(&emu, "/_emulator/expire-tokens", NULL));
    started = now_ms();
    CHECK_STATUS(passauth_configuration(client, NULL, &out), PASSAUTH_OK);  /* 401: a new token, under the lock */
    passauth_free(out);
    elapsed = now_ms() - started;
    CHECK_MSG(elapsed < 2000, "the token renewal took %lld ms after the lock holder died", elapsed);
    CHECK(emulator_stat(&emu, NULL, "token") == 2);
    passauth_client_free(client);
}

/* storeEncryptionKey: the client secret and access token are sealed (AES-256-GCM); neither is in the
 * database's bytes; a wrong key is PASSAUTH_E_STORE, never a new registration; a bad key is invalid. */
static void test_secrets_are_encrypted_at_rest(void) {
    json_decref(emulator_post(&emu, "/_emulator/reset", NULL));
    const char *store = harness_temp_dir();
    passauth_client *client = client_at(emu.base_url, store, "\"storeEncryptionKey\":\"" KEY_32 "\",\"configurationCacheMs\":0");
    char *out = NULL;
    CHECK_STATUS(passauth_configuration(client, NULL, &out), PASSAUTH_OK);
    passauth_free(out);
    /* The secrets, as the emulator received them. */
    char *secret = NULL, *token = NULL;
    json_t *log = emulator_get(&emu, "/_emulator/requests");
    size_t i;
    json_t *request;
    json_array_foreach(json_object_get(log, "requests"), i, request) {
        const char *body = json_string_value(json_object_get(request, "body"));
        const char *authorization = json_string_value(json_object_get(json_object_get(request, "headers"), "authorization"));
        const char *at = body ? strstr(body, "client_secret=") : NULL;
        if (at) secret = strndup(at + 14, strcspn(at + 14, "&"));
        if (authorization && !strncmp(authorization, "Bearer ", 7)) token = strdup(authorization + 7);
    }
    json_decref(log);
    CHECK(secret && token && strlen(secret) > 8 && strlen(token) > 8);
    char wal[820];
    snprintf(wal, sizeof wal, "%s-wal", db_path(store));
    size_t db_length = 0, wal_length = 0;
    char *db = file_bytes(db_path(store), &db_length), *wal_data = file_bytes(wal, &wal_length);
    CHECK(db_length + wal_length > 0);
    CHECK(!contains(db, db_length, secret) && !contains(db, db_length, token));
    CHECK(!contains(wal_data, wal_length, secret) && !contains(wal_data, wal_length, token));
    char *record = db_get(store, registration_key(emu.base_url));
    CHECK_MSG(record && strstr(record, "A256GCM") && !strstr(record, secret), "%s", record ? record : "(absent)");
    free(record);
    free(db);
    free(wal_data);
    passauth_client_free(client);

    client = client_at(emu.base_url, store, "\"storeEncryptionKey\":\"" KEY_32 "\"");
    CHECK_STATUS(passauth_register(client, &out), PASSAUTH_OK);
    CHECK(out && strstr(out, "\"registered\":false") && strstr(out, "\"tokenFetched\":false"));
    passauth_free(out);
    passauth_client_free(client);
    client = client_at(emu.base_url, store, "\"storeEncryptionKey\":\"" OTHER_KEY_32 "\"");
    CHECK_STATUS(passauth_register(client, &out), PASSAUTH_E_STORE);
    CHECK_MSG(strstr(last_message(), "cannot decrypt") && strstr(last_message(), "wrong storeEncryptionKey?"), "%s", last_message());
    passauth_client_free(client);
    CHECK(emulator_stat(&emu, NULL, "register") == 1 && emulator_stat(&emu, NULL, "token") == 1);

    emulator at = emu;
    char *config = harness_config(&at, store, "\"storeEncryptionKey\":\"c2hvcnQ=\"");
    client = NULL;
    CHECK_STATUS(passauth_client_new(config, &client), PASSAUTH_E_INVALID_ARGUMENT);
    json_t *err = harness_parse(passauth_last_error());
    CHECK(json_string_value(json_object_get(err, "key")) && !strcmp(json_string_value(json_object_get(err, "key")), "storeEncryptionKey"));
    CHECK(!strstr(passauth_last_error(), "c2hvcnQ="));
    json_decref(err);
    free(config);
    free(secret);
    free(token);
}

/* "reregister": "never" — an invalid_client answer fails the call with PASSAUTH_E_REGISTRATION, code
 * reregistration_refused; the stored credentials stay. */
static void test_reregister_never_refuses(void) {
    json_decref(emulator_post(&emu, "/_emulator/reset", NULL));
    const char *store = harness_temp_dir();
    passauth_client *client = client_at(emu.base_url, store, "\"reregister\":\"never\",\"configurationCacheMs\":0");
    char *out = NULL;
    CHECK_STATUS(passauth_register(client, &out), PASSAUTH_OK);
    passauth_free(out);
    char *before = db_get(store, registration_key(emu.base_url));
    json_decref(emulator_post(&emu, "/_emulator/revoke-clients", NULL));
    json_decref(emulator_post(&emu, "/_emulator/expire-tokens", NULL));
    CHECK_STATUS(passauth_configuration(client, NULL, &out), PASSAUTH_E_REGISTRATION);
    json_t *err = harness_parse(passauth_last_error());
    const char *code = json_string_value(json_object_get(err, "code"));
    CHECK_MSG(code && !strcmp(code, "reregistration_refused"), "%s", passauth_last_error());
    CHECK_MSG(strstr(last_message(), "re-registration is disabled"), "%s", last_message());
    json_decref(err);
    CHECK(emulator_stat(&emu, NULL, "register") == 1);
    char *after = db_get(store, registration_key(emu.base_url));
    CHECK(before && after && !strcmp(before, after));
    free(before);
    free(after);
    passauth_client_free(client);
}

/* Captures what the library writes to stderr (its log) during `fn`. */
static char *captured_stderr(void (*fn)(void *), void *arg) {
    char path[] = "/tmp/passauth-stderr-XXXXXX";
    int fd = mkstemp(path);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    fn(arg);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    size_t length = 0;
    char *text = file_bytes(path, &length);
    if (text) text[length < 65535 ? length : 65535] = 0;
    close(fd);
    unlink(path);
    return text;
}

struct call { passauth_client *client; int status; };

static void configuration_call(void *p) {
    struct call *c = p;
    char *out = NULL;
    c->status = passauth_configuration(c->client, NULL, &out);
    passauth_free(out);
}

/* The service answers action application-registration and the DCR call then fails (503): the call
 * fails and the old credentials and token stay stored. When DCR works again, one re-registration
 * replaces the client, with a warning that names the old client id. */
static void test_failing_dcr_keeps_the_old_credentials(void) {
    json_decref(emulator_post(&emu, "/_emulator/reset", NULL));
    const char *store = harness_temp_dir();
    passauth_client *client = client_at(emu.base_url, store, "\"configurationCacheMs\":0,\"pacing\":false");
    char *out = NULL;
    CHECK_STATUS(passauth_register(client, &out), PASSAUTH_OK);
    passauth_free(out);
    char *before = db_get(store, registration_key(emu.base_url));
    char *old_id = stored_member(store, emu.base_url, "client", "clientId");
    json_decref(emulator_post(&emu, "/_emulator/faults",
        "{\"faults\":[{\"kind\":\"enhanced\",\"endpoint\":\"configuration\",\"count\":1,\"status\":403,"
        "\"code\":\"invalid_access_token_client_application\",\"action\":\"application-registration\"},"
        "{\"kind\":\"http503\",\"endpoint\":\"register\",\"count\":1}]}"));
    CHECK(passauth_configuration(client, NULL, &out) != PASSAUTH_OK);
    char *after = db_get(store, registration_key(emu.base_url));
    CHECK_MSG(before && after && !strcmp(before, after), "before %s\nafter %s", before ? before : "", after ? after : "");
    free(after);
    CHECK(emulator_stat(&emu, "registrations", NULL) == 1);

    /* DCR works again: the application-registration answer now leads to one re-registration. */
    json_decref(emulator_post(&emu, "/_emulator/faults",
        "{\"faults\":[{\"kind\":\"enhanced\",\"endpoint\":\"configuration\",\"count\":1,\"status\":403,"
        "\"code\":\"invalid_access_token_client_application\",\"action\":\"application-registration\"}]}"));
    struct call call = {client, -99};
    char *log = captured_stderr(configuration_call, &call);
    CHECK_MSG(call.status == PASSAUTH_OK, "%d %s", call.status, passauth_last_error());
    char *new_id = stored_member(store, emu.base_url, "client", "clientId");
    CHECK(new_id && old_id && strcmp(new_id, old_id) != 0);
    CHECK_MSG(log && old_id && strstr(log, old_id) && strstr(log, "re-registered") && strstr(log, "passauth[warn]"),
              "log: %s", log ? log : "(none)");
    CHECK(emulator_stat(&emu, "registrations", NULL) == 2);
    free(log);
    free(new_id);
    free(old_id);
    free(before);
    passauth_client_free(client);
}

/* In a child: waits until start_at (ms), makes one configuration call (which needs a new token, and the
 * client turns out revoked), prints the client id it ends with. */
static int child_configuration(const char *store, const char *start_at) {
    passauth_client *client = client_at(emu.base_url, store, "\"pacing\":false,\"logLevel\":\"none\"");
    long long wait = atoll(start_at) - now_ms();
    if (wait > 0) usleep((useconds_t)wait * 1000);
    char *out = NULL;
    int status = passauth_configuration(client, NULL, &out);
    passauth_free(out);
    if (status == PASSAUTH_OK) status = passauth_register(client, &out);
    if (status == PASSAUTH_OK) printf("%s\n", out);
    else fprintf(stderr, "child: %s\n", passauth_last_error());
    passauth_free(out);
    passauth_client_free(client);
    return status == PASSAUTH_OK ? 0 : 1;
}

/* Four processes find their client revoked at the same moment: exactly one re-registration; all
 * adopt the same new client. */
static void test_one_reregistration_across_processes(void) {
    json_decref(emulator_post(&emu, "/_emulator/reset", NULL));
    const char *store = harness_temp_dir();
    passauth_client *client = client_at(emu.base_url, store, NULL);
    char *out = NULL;
    CHECK_STATUS(passauth_register(client, &out), PASSAUTH_OK);
    passauth_free(out);
    passauth_client_free(client);
    json_decref(emulator_post(&emu, "/_emulator/revoke-clients", NULL));
    json_decref(emulator_post(&emu, "/_emulator/expire-tokens", NULL));
    enum { N = 4 };
    char start_at[32];
    snprintf(start_at, sizeof start_at, "%lld", now_ms() + 700);
    FILE *children[N];
    for (int i = 0; i < N; i++) {
        char command[8192];
        snprintf(command, sizeof command, "'%s' --child-configuration '%s' '%s' '%s'", self_path, store, start_at, emu.base_url);
        children[i] = popen(command, "r");
    }
    char ids[N][128];
    for (int i = 0; i < N; i++) {
        char line[2048] = {0};
        ids[i][0] = 0;
        if (children[i] && fgets(line, sizeof line, children[i])) {
            json_t *doc = harness_parse(line);
            const char *id = json_string_value(json_object_get(doc, "clientId"));
            snprintf(ids[i], sizeof ids[i], "%s", id ? id : "");
            json_decref(doc);
        }
        CHECK(children[i] && pclose(children[i]) == 0);
    }
    CHECK_MSG(emulator_stat(&emu, NULL, "register") == 2, "%ld registrations", emulator_stat(&emu, NULL, "register"));
    for (int i = 1; i < N; i++) CHECK_MSG(ids[i][0] && !strcmp(ids[i], ids[0]), "%s vs %s", ids[i], ids[0]);
}

int main(int argc, char **argv) {
    ssize_t n = readlink("/proc/self/exe", self_path, sizeof self_path - 1);
    if (n <= 0) return 2;
    self_path[n] = 0;
    if (argc == 4 && !strcmp(argv[1], "--child-read-only")) {
        snprintf(emu.base_url, sizeof emu.base_url, "%s", argv[3]);
        return child_read_only(argv[2], argv[3]);
    }
    if (argc == 3 && !strcmp(argv[1], "--child-hold-lock")) return child_hold_lock(argv[2]);
    if (argc == 5 && !strcmp(argv[1], "--child-configuration")) {
        snprintf(emu.base_url, sizeof emu.base_url, "%s", argv[4]);
        return child_configuration(argv[2], argv[3]);
    }
    if (!emulator_start(&emu, "--no-throttle")) return 2;
    static const struct harness_case cases[] = {
        {"two_base_urls_never_share_credentials", test_two_base_urls_never_share_credentials},
        {"legacy_file_is_refused_with_instructions", test_legacy_file_is_refused_with_instructions},
        {"malformed_client_entry_is_a_store_error", test_malformed_client_entry_is_a_store_error},
        {"symlinked_store_stays_a_symlink", test_symlinked_store_stays_a_symlink},
        {"read_only_store_serves_reads", test_read_only_store_serves_reads},
        {"stale_lock_never_stalls_readers", test_stale_lock_never_stalls_readers},
        {"secrets_are_encrypted_at_rest", test_secrets_are_encrypted_at_rest},
        {"reregister_never_refuses", test_reregister_never_refuses},
        {"failing_dcr_keeps_the_old_credentials", test_failing_dcr_keeps_the_old_credentials},
        {"one_reregistration_across_processes", test_one_reregistration_across_processes},
        {NULL, NULL},
    };
    int rc = harness_run("state", cases);
    emulator_stop(&emu);
    return rc;
}
