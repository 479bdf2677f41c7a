/* Registration phase and the C contract's core, against the local emulator. */
#include "harness.h"
#include "passauth.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static emulator emu;
static const char *self_path;

static passauth_client *new_client(const char *store, const char *extra) {
    char *config = harness_config(&emu, store, extra);
    passauth_client *client = NULL;
    CHECK_STATUS(passauth_client_new(config, &client), PASSAUTH_OK);
    free(config);
    return client;
}

static json_t *last_error(void) { return harness_parse(passauth_last_error()); }

static void test_version_and_status_names(void) {
    /* The loaded library is the one this header describes. */
    CHECK(strcmp(passauth_version(), PASSAUTH_VERSION_STRING) == 0);
    CHECK(passauth_version_number() == PASSAUTH_VERSION_NUMBER);
    CHECK(PASSAUTH_VERSION_NUMBER == PASSAUTH_VERSION_MAJOR * 1000000 + PASSAUTH_VERSION_MINOR * 1000 + PASSAUTH_VERSION_PATCH);
    CHECK(PASSAUTH_VERSION_CHECK(0, 1, 0));
    CHECK(!PASSAUTH_VERSION_CHECK(PASSAUTH_VERSION_MAJOR + 1, 0, 0));
    CHECK(strcmp(passauth_status_name(PASSAUTH_PENDING), "PASSAUTH_PENDING") == 0);
    char header_version[32];  /* the string agrees with the three numbers (all from VERSION) */
    snprintf(header_version, sizeof header_version, "%d.%d.%d", PASSAUTH_VERSION_MAJOR, PASSAUTH_VERSION_MINOR,
             PASSAUTH_VERSION_PATCH);
    CHECK(strcmp(PASSAUTH_VERSION_STRING, header_version) == 0);
    CHECK(strcmp(passauth_status_name(PASSAUTH_OK), "PASSAUTH_OK") == 0);
    CHECK(strcmp(passauth_status_name(PASSAUTH_E_REGISTRATION), "PASSAUTH_E_REGISTRATION") == 0);
    CHECK(strcmp(passauth_status_name(12345), "PASSAUTH_E_UNKNOWN") == 0);
    json_t *err = last_error();
    CHECK(err && json_integer_value(json_object_get(err, "status")) == 0);
    json_decref(err);
}

static void expect_invalid_config(const char *config, const char *key) {
    passauth_client *client = (passauth_client *)0x1;
    CHECK_STATUS(passauth_client_new(config, &client), PASSAUTH_E_INVALID_ARGUMENT);
    CHECK(client == (passauth_client *)0x1); /* out untouched on failure */
    json_t *err = last_error();
    const char *got = json_string_value(json_object_get(err, "key"));
    CHECK_MSG(got && strcmp(got, key) == 0, "config %s: expected key %s, got %s", config, key, passauth_last_error());
    CHECK(json_string_value(json_object_get(err, "message")) != NULL);
    json_decref(err);
}

static void test_bad_configs(void) {
    expect_invalid_config(NULL, "config_json");
    expect_invalid_config("{\"serviceProvider\":", "config_json");
    expect_invalid_config("[1,2]", "config");
    expect_invalid_config("{\"serviceProvider\":\"REF30\",\"softwareStatement\":\"x\",\"colour\":1}", "colour");
    expect_invalid_config("{\"serviceProvider\":42,\"softwareStatement\":\"x\"}", "serviceProvider");
    expect_invalid_config("{\"softwareStatement\":\"x\"}", "serviceProvider");
    expect_invalid_config("{\"serviceProvider\":\"REF30\"}", "softwareStatement");
    expect_invalid_config("{\"serviceProvider\":\"REF30\",\"softwareStatement\":\"x\",\"baseUrl\":\"http://auth.example.com\"}", "baseUrl");
    expect_invalid_config("{\"serviceProvider\":\"REF30\",\"softwareStatement\":\"x\",\"environment\":\"moon\"}", "environment");
    expect_invalid_config("{\"serviceProvider\":\"REF30\",\"softwareStatement\":\"x\",\"timeoutMs\":\"5\"}", "timeoutMs");
    expect_invalid_config("{\"serviceProvider\":\"REF30\",\"softwareStatement\":\"x\",\"pacing\":1}", "pacing");
    expect_invalid_config("{\"serviceProvider\":\"REF30\",\"softwareStatement\":\"x\",\"device\":{\"id\":\"a\\r\\nX-Evil: 1\"}}", "device.id");
    expect_invalid_config("{\"serviceProvider\":\"REF30\",\"softwareStatement\":\"x\",\"device\":{\"serial\":\"a\"}}", "device.serial");
    expect_invalid_config("{\"serviceProvider\":\"REF30\",\"softwareStatement\":\"x\",\"caFile\":\"/nonexistent/ca.pem\"}", "caFile");
    /* Invalid UTF-8 in the config text. */
    expect_invalid_config("{\"serviceProvider\":\"\xff\xfe\",\"softwareStatement\":\"x\"}", "config_json");

    /* Plain http to a non-loopback host is allowed only when asked for explicitly. */
    passauth_client *client = NULL;
    CHECK_STATUS(passauth_client_new("{\"serviceProvider\":\"REF30\",\"softwareStatement\":\"x\",\"store\":\"/tmp\","
                                     "\"baseUrl\":\"http://auth.example.com\",\"allowInsecureHttp\":true}", &client), PASSAUTH_OK);
    passauth_client_free(client);
    CHECK_STATUS(passauth_client_new("{\"serviceProvider\":\"REF30\",\"softwareStatement\":\"x\"}", NULL), PASSAUTH_E_INVALID_ARGUMENT);
}

static void test_null_arguments(void) {
    char *out = NULL;
    CHECK_STATUS(passauth_register(NULL, &out), PASSAUTH_E_INVALID_ARGUMENT);
    CHECK_STATUS(passauth_stats(NULL, &out), PASSAUTH_E_INVALID_ARGUMENT);
    CHECK_STATUS(passauth_configuration(NULL, NULL, &out), PASSAUTH_E_INVALID_ARGUMENT);
    passauth_client *client = new_client(harness_temp_dir(), NULL);
    CHECK_STATUS(passauth_register(client, NULL), PASSAUTH_E_INVALID_ARGUMENT);
    CHECK_STATUS(passauth_stats(client, NULL), PASSAUTH_E_INVALID_ARGUMENT);
    CHECK_STATUS(passauth_configuration(client, "{\"id\":", &out), PASSAUTH_E_INVALID_ARGUMENT);
    CHECK_STATUS(passauth_configuration(client, "{\"id\":\"x\",\"ip\":\"1.2.3.4\\n\"}", &out), PASSAUTH_E_INVALID_ARGUMENT);
    CHECK(out == NULL);
    passauth_client_free(client);
    passauth_client_free(NULL);
    passauth_free(NULL);
}

/* Runs in a separate process: `test_registration --child-register STORE BASEURL`. Prints the register JSON. */
static int child_register(const char *store, const char *base_url) {
    snprintf(emu.base_url, sizeof emu.base_url, "%s", base_url);
    passauth_client *client = new_client(store, NULL);
    char *out = NULL;
    int status = passauth_register(client, &out);
    if (status == PASSAUTH_OK) printf("%s\n", out);
    else fprintf(stderr, "child: %s\n", passauth_last_error());
    passauth_free(out);
    passauth_client_free(client);
    return status == PASSAUTH_OK ? 0 : 1;
}

static void test_first_run_registers_second_process_reuses(void) {
    json_decref(emulator_post(&emu, "/_emulator/reset", NULL));
    const char *store = harness_temp_dir();
    passauth_client *client = new_client(store, NULL);
    char *out = NULL;
    CHECK_STATUS(passauth_register(client, &out), PASSAUTH_OK);
    json_t *result = harness_parse(out);
    CHECK(json_is_true(json_object_get(result, "registered")));
    CHECK(json_is_true(json_object_get(result, "tokenFetched")));
    CHECK(json_string_value(json_object_get(result, "clientId")) != NULL);
    CHECK(json_integer_value(json_object_get(result, "accessTokenExpiresAt")) > 0);
    CHECK(strstr(out, "secret") == NULL && strstr(out, "access_token") == NULL);
    json_decref(result);
    passauth_free(out);
    CHECK(emulator_stat(&emu, NULL, "register") == 1);
    CHECK(emulator_stat(&emu, NULL, "token") == 1);

    /* Same client again: nothing to do, no request. */
    CHECK_STATUS(passauth_register(client, &out), PASSAUTH_OK);
    result = harness_parse(out);
    CHECK(json_is_false(json_object_get(result, "registered")) && json_is_false(json_object_get(result, "tokenFetched")));
    json_decref(result);
    passauth_free(out);
    passauth_client_free(client);

    /* The store database: 0600, and the secret is persisted (that is its job). */
    char path[700];
    snprintf(path, sizeof path, "%s/passauth.sqlite3", store);
    struct stat st;
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);

    /* A second process with the same store: zero register and token calls. */
    char cmd[1500];
    snprintf(cmd, sizeof cmd, "'%s' --child-register '%s' '%s'", self_path, store, emu.base_url);
    FILE *child = popen(cmd, "r");
    char line[2048] = {0};
    CHECK(child && fgets(line, sizeof line, child));
    CHECK(child && pclose(child) == 0);
    json_t *child_result = harness_parse(line);
    CHECK_MSG(json_is_false(json_object_get(child_result, "registered")), "child said: %s", line);
    CHECK(json_is_false(json_object_get(child_result, "tokenFetched")));
    json_decref(child_result);
    CHECK(emulator_stat(&emu, NULL, "register") == 1);
    CHECK(emulator_stat(&emu, NULL, "token") == 1);
}

static void test_expired_token_is_refreshed_before_use(void) {
    json_decref(emulator_post(&emu, "/_emulator/reset", NULL));
    json_decref(emulator_post(&emu, "/_emulator/config", "{\"tokenTtlSeconds\": 1}"));
    passauth_client *client = new_client(harness_temp_dir(), NULL);
    char *out = NULL;
    CHECK_STATUS(passauth_register(client, &out), PASSAUTH_OK);
    passauth_free(out);
    usleep(1100 * 1000);
    CHECK_STATUS(passauth_configuration(client, NULL, &out), PASSAUTH_OK);
    passauth_free(out);
    CHECK(emulator_stat(&emu, NULL, "register") == 1);
    CHECK(emulator_stat(&emu, NULL, "token") == 2);
    CHECK(emulator_stat(&emu, NULL, "configuration") == 1); /* refreshed ahead of time: no 401 round trip */
    passauth_client_free(client);
    json_decref(emulator_post(&emu, "/_emulator/config", "{\"tokenTtlSeconds\": 3600}"));
}

static void test_401_refreshes_once_and_retries_once(void) {
    json_decref(emulator_post(&emu, "/_emulator/reset", NULL));
    passauth_client *client = new_client(harness_temp_dir(), "\"configurationCacheMs\":0");
    char *out = NULL;
    CHECK_STATUS(passauth_register(client, &out), PASSAUTH_OK);
    passauth_free(out);
    json_decref(emulator_post(&emu, "/_emulator/expire-tokens", NULL));
    CHECK_STATUS(passauth_configuration(client, NULL, &out), PASSAUTH_OK);
    json_t *config = harness_parse(out);
    CHECK(json_object_get(config, "requestor") != NULL);
    json_decref(config);
    passauth_free(out);
    CHECK(emulator_stat(&emu, NULL, "token") == 2);
    CHECK(emulator_stat(&emu, NULL, "configuration") == 2);

    /* 401 twice in a row: one refresh, one retry, then the caller hears PASSAUTH_E_UNAUTHORIZED. */
    json_decref(emulator_post(&emu, "/_emulator/faults", "{\"faults\":[{\"kind\":\"http401\",\"count\":2,\"endpoint\":\"configuration\"}]}"));
    out = NULL;
    CHECK_STATUS(passauth_configuration(client, NULL, &out), PASSAUTH_E_UNAUTHORIZED);
    CHECK(out == NULL);
    json_t *err = last_error();
    CHECK(json_integer_value(json_object_get(err, "httpStatus")) == 401);
    json_decref(err);
    CHECK(emulator_stat(&emu, NULL, "configuration") == 4);
    CHECK(emulator_stat(&emu, NULL, "token") == 3);
    passauth_client_free(client);
}

static void test_registration_errors(void) {
    json_decref(emulator_post(&emu, "/_emulator/reset", NULL));
    char config[4096];
    snprintf(config, sizeof config,
             "{\"baseUrl\":\"%s\",\"serviceProvider\":\"REF30\",\"softwareStatement\":\"not-a-statement\",\"store\":\"%s\"}",
             emu.base_url, harness_temp_dir());
    passauth_client *client = NULL;
    CHECK_STATUS(passauth_client_new(config, &client), PASSAUTH_OK);
    char *out = NULL;
    CHECK_STATUS(passauth_register(client, &out), PASSAUTH_E_REGISTRATION);
    json_t *err = last_error();
    CHECK_MSG(json_string_value(json_object_get(err, "code")) &&
              strcmp(json_string_value(json_object_get(err, "code")), "invalid_software_statement") == 0, "%s", passauth_last_error());
    CHECK(json_integer_value(json_object_get(err, "httpStatus")) == 400);
    json_decref(err);
    passauth_client_free(client);

    char body[2048];
    snprintf(body, sizeof body, "{\"unapprovedSoftwareStatements\":[\"%s\"]}", HARNESS_SOFTWARE_STATEMENT);
    json_decref(emulator_post(&emu, "/_emulator/config", body));
    client = new_client(harness_temp_dir(), NULL);
    CHECK_STATUS(passauth_register(client, &out), PASSAUTH_E_REGISTRATION);
    err = last_error();
    CHECK(json_string_value(json_object_get(err, "code")) &&
          strcmp(json_string_value(json_object_get(err, "code")), "unapproved_software_statement") == 0);
    json_decref(err);
    passauth_client_free(client);
    json_decref(emulator_post(&emu, "/_emulator/config", "{\"unapprovedSoftwareStatements\":[]}"));
}

static void test_invalid_client_registers_again_once(void) {
    json_decref(emulator_post(&emu, "/_emulator/reset", NULL));
    const char *store = harness_temp_dir();
    passauth_client *client = new_client(store, NULL);
    char *out = NULL;
    CHECK_STATUS(passauth_register(client, &out), PASSAUTH_OK);
    passauth_free(out);
    json_decref(emulator_post(&emu, "/_emulator/revoke-clients", NULL));
    json_decref(emulator_post(&emu, "/_emulator/expire-tokens", NULL));
    CHECK_STATUS(passauth_configuration(client, NULL, &out), PASSAUTH_OK);
    passauth_free(out);
    CHECK(emulator_stat(&emu, NULL, "register") == 2);
    CHECK(emulator_stat(&emu, NULL, "token") == 3); /* ok, invalid_client, ok */
    passauth_client_free(client);
}

struct thread_arg { passauth_client *client; int status; };

static void *register_thread(void *p) {
    struct thread_arg *arg = p;
    char *out = NULL;
    arg->status = passauth_register(arg->client, &out);
    passauth_free(out);
    return NULL;
}

static void test_concurrent_threads_register_once(void) {
    json_decref(emulator_post(&emu, "/_emulator/reset", NULL));
    passauth_client *client = new_client(harness_temp_dir(), NULL);
    enum { N = 16 };
    pthread_t threads[N];
    struct thread_arg args[N];
    for (int i = 0; i < N; i++) {
        args[i] = (struct thread_arg){client, -99};
        pthread_create(&threads[i], NULL, register_thread, &args[i]);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(threads[i], NULL);
        CHECK(args[i].status == PASSAUTH_OK);
    }
    CHECK(emulator_stat(&emu, NULL, "register") == 1);
    CHECK(emulator_stat(&emu, NULL, "token") == 1);
    passauth_client_free(client);
}

/* A store database that is not one (garbage bytes): PASSAUTH_E_STORE naming the file, the file left
 * as it was, and no registration request (a silent new registration would log every user out). */
static void test_corrupt_store_is_an_error_and_left_untouched(void) {
    json_decref(emulator_post(&emu, "/_emulator/reset", NULL));
    const char *store = harness_temp_dir();
    mkdir(store, 0700);
    char path[700];
    snprintf(path, sizeof path, "%s/passauth.sqlite3", store);
    char garbage[8192];
    for (size_t i = 0; i < sizeof garbage; i++) garbage[i] = (char)(i * 31 + 7);
    FILE *f = fopen(path, "wb");
    fwrite(garbage, 1, sizeof garbage, f);
    fclose(f);
    passauth_client *client = new_client(store, NULL);
    char *out = NULL;
    CHECK_STATUS(passauth_register(client, &out), PASSAUTH_E_STORE);
    CHECK_MSG(strstr(passauth_last_error(), path) != NULL, "%s", passauth_last_error());
    passauth_client_free(client);
    f = fopen(path, "rb");
    char back[sizeof garbage + 1];
    size_t n = f ? fread(back, 1, sizeof back, f) : 0;
    if (f) fclose(f);
    CHECK(n == sizeof garbage && memcmp(back, garbage, sizeof garbage) == 0);
    CHECK(emulator_stat(&emu, NULL, "register") == 0);
}

/* The stored registration (JSON) of the emulator's origin, read with SQLite directly. */
static json_t *stored_registration(const char *store) {
    char path[700], key[300];
    snprintf(path, sizeof path, "%s/passauth.sqlite3", store);
    snprintf(key, sizeof key, "passauth:{%s|REF30}:registration", emu.base_url);
    sqlite3 *db = NULL;
    json_t *doc = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_stmt *statement = NULL;
        if (sqlite3_prepare_v2(db, "SELECT value FROM kv WHERE key = ?1", -1, &statement, NULL) == SQLITE_OK) {
            sqlite3_bind_text(statement, 1, key, -1, SQLITE_TRANSIENT);
            if (sqlite3_step(statement) == SQLITE_ROW) doc = harness_parse((const char *)sqlite3_column_text(statement, 0));
        }
        sqlite3_finalize(statement);
    }
    sqlite3_close(db);
    return doc;
}

static void test_secrets_never_in_errors_or_stats(void) {
    json_decref(emulator_post(&emu, "/_emulator/reset", NULL));
    const char *store = harness_temp_dir();
    passauth_client *client = new_client(store, NULL);
    char *out = NULL;
    CHECK_STATUS(passauth_register(client, &out), PASSAUTH_OK);
    passauth_free(out);
    json_t *state = stored_registration(store);
    const char *secret = json_string_value(json_object_get(json_object_get(state, "client"), "clientSecret"));
    const char *token = json_string_value(json_object_get(json_object_get(state, "accessToken"), "value"));
    CHECK(secret && token);
    /* A hostile answer echoing the bearer token back in a non-JSON error body. */
    json_decref(emulator_post(&emu, "/_emulator/faults", "{\"faults\":[{\"kind\":\"echo-request\",\"endpoint\":\"configuration\",\"count\":3}]}"));
    CHECK(passauth_configuration(client, NULL, &out) != PASSAUTH_OK);
    const char *err = passauth_last_error();
    CHECK_MSG(secret && token && !strstr(err, secret) && !strstr(err, token), "%s", err);
    CHECK_STATUS(passauth_stats(client, &out), PASSAUTH_OK);
    CHECK(secret && token && !strstr(out, secret) && !strstr(out, token));
    json_t *stats = harness_parse(out);
    CHECK(json_integer_value(json_object_get(stats, "registrations")) == 1);
    CHECK(json_integer_value(json_object_get(stats, "tokenFetches")) == 1);
    CHECK(json_integer_value(json_object_get(stats, "connectionsOpened")) == 1);
    json_decref(stats);
    passauth_free(out);
    json_decref(state);
    passauth_client_free(client);
}

int main(int argc, char **argv) {
    self_path = argv[0];
    if (argc == 4 && strcmp(argv[1], "--child-register") == 0) return child_register(argv[2], argv[3]);
    if (!emulator_start(&emu, "--no-throttle")) return 2;
    static const struct harness_case cases[] = {
        {"version_and_status_names", test_version_and_status_names},
        {"bad_configs", test_bad_configs},
        {"null_arguments", test_null_arguments},
        {"first_run_registers_second_process_reuses", test_first_run_registers_second_process_reuses},
        {"expired_token_is_refreshed_before_use", test_expired_token_is_refreshed_before_use},
        {"401_refreshes_once_and_retries_once", test_401_refreshes_once_and_retries_once},
        {"registration_errors", test_registration_errors},
        {"invalid_client_registers_again_once", test_invalid_client_registers_again_once},
        {"concurrent_threads_register_once", test_concurrent_threads_register_once},
        {"corrupt_store_is_an_error_and_left_untouched", test_corrupt_store_is_an_error_and_left_untouched},
        {"secrets_never_in_errors_or_stats", test_secrets_never_in_errors_or_stats},
        {NULL, NULL},
    };
    int rc = harness_run("registration", cases);
    emulator_stop(&emu);
    return rc;
}
