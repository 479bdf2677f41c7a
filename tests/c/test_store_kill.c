/* Durability (issue 11): a writer process saves two alternating complete states of the store
 * (passauth_mvpd_select with MVPD "Alpha" or "Bravo", each with its own displayName and a large
 * logoUrl, so that a write takes several database pages); the test SIGKILLs it at random moments,
 * PASSAUTH_KILLS times (default 200; `make soak` runs more), and after every kill checks that the
 * store (passauth.sqlite3 and its WAL) holds one of the two complete states, through the library
 * (passauth_mvpd_selected) and raw (the key's value read with SQLite and parsed as JSON), and every
 * 25 kills that SQLite's integrity check passes. No network is involved. The writer is this program
 * re-executed with "--writer DIR" (no fork of a process that runs library threads). */
#include "harness.h"
#include "passauth.h"

#include <dirent.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DEVICE "{\"id\":\"tv-durable-1\"}"
#define KEY "passauth:{http://127.0.0.1:9|REF30|tv-durable-1}:mvpd"

static char *state_json(int which) {
    static char logo[40001];
    memset(logo, which ? 'b' : 'a', sizeof logo - 1);
    logo[sizeof logo - 1] = 0;
    char *doc = NULL;
    if (asprintf(&doc, "{\"id\":\"%s\",\"displayName\":\"%s\",\"logoUrl\":\"https://logo.example/%s\"}",
                 which ? "Bravo" : "Alpha", which ? "Bravo TV" : "Alpha TV", logo) < 0)
        return NULL;
    return doc;
}

static char *config_for(const char *store) {
    char *config = NULL;
    if (asprintf(&config, "{\"baseUrl\":\"http://127.0.0.1:9\",\"serviceProvider\":\"REF30\",\"softwareStatement\":\"%s\","
                          "\"store\":\"%s\",\"logLevel\":\"none\"}",
                 HARNESS_SOFTWARE_STATEMENT, store) < 0)
        return NULL;
    return config;
}

static int writer(const char *store) {
    char *config = config_for(store);
    passauth_client *client = NULL;
    if (passauth_client_new(config, &client) != PASSAUTH_OK) return 3;
    char *states[2] = {state_json(0), state_json(1)};
    for (unsigned long i = 0;; i++) {
        if (passauth_mvpd_select(client, DEVICE, states[i % 2]) != PASSAUTH_OK) {
            fprintf(stderr, "writer: %s\n", passauth_last_error());
            return 4;
        }
    }
}

/* Checks the state the library loads: one of the two, complete. Returns 0/1 or -1. */
static int loaded_state(passauth_client *client) {
    char *out = NULL;
    int status = passauth_mvpd_selected(client, DEVICE, &out);
    CHECK_MSG(status == PASSAUTH_OK, "the store does not load: %s", passauth_last_error());
    json_t *doc = harness_parse(out);
    passauth_free(out);
    json_t *mvpd = json_object_get(doc, "mvpd") ? json_object_get(doc, "mvpd") : doc;
    const char *id = json_string_value(json_object_get(mvpd, "id"));
    const char *name = json_string_value(json_object_get(mvpd, "displayName"));
    const char *logo = json_string_value(json_object_get(mvpd, "logoUrl"));
    int which = -1;
    if (id && name && logo && strlen(logo) == strlen("https://logo.example/") + 40000) {
        char expected = 0;
        if (!strcmp(id, "Alpha") && !strcmp(name, "Alpha TV")) which = 0, expected = 'a';
        if (!strcmp(id, "Bravo") && !strcmp(name, "Bravo TV")) which = 1, expected = 'b';
        if (which >= 0 && logo[strlen(logo) - 1] != expected) which = -1;
    }
    if (which < 0) {
        char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
        CHECK_MSG(false, "the store holds neither state: %.200s", text ? text : "(not JSON)");
        free(text);
    }
    json_decref(doc);
    return which;
}

/* The raw value of KEY, read with SQLite (while other connections may be open: WAL readers are never
 * blocked), checked like the library's; every 25th call also runs PRAGMA integrity_check. */
static int raw_state(const char *store, int kill_number) {
    char path[700];
    snprintf(path, sizeof path, "%s/passauth.sqlite3", store);
    sqlite3 *db = NULL;
    int which = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_stmt *statement = NULL;
        if (sqlite3_prepare_v2(db, "SELECT value FROM kv WHERE key = ?1", -1, &statement, NULL) == SQLITE_OK) {
            sqlite3_bind_text(statement, 1, KEY, -1, SQLITE_TRANSIENT);
            if (sqlite3_step(statement) == SQLITE_ROW) {
                json_t *doc = harness_parse((const char *)sqlite3_column_text(statement, 0));
                const char *id = json_string_value(json_object_get(doc, "id"));
                const char *logo = json_string_value(json_object_get(doc, "logoUrl"));
                if (id && logo && strlen(logo) == strlen("https://logo.example/") + 40000)
                    which = !strcmp(id, "Alpha") && logo[strlen(logo) - 1] == 'a' ? 0
                          : !strcmp(id, "Bravo") && logo[strlen(logo) - 1] == 'b' ? 1 : -1;
                json_decref(doc);
            }
        }
        sqlite3_finalize(statement);
        if (kill_number % 25 == 0) {
            const char *verdict = NULL;
            if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &statement, NULL) == SQLITE_OK &&
                sqlite3_step(statement) == SQLITE_ROW)
                verdict = (const char *)sqlite3_column_text(statement, 0);
            CHECK_MSG(verdict && strcmp(verdict, "ok") == 0, "integrity_check after kill %d: %s", kill_number, verdict ? verdict : "(failed)");
            sqlite3_finalize(statement);
        }
    }
    sqlite3_close(db);
    CHECK_MSG(which >= 0, "the raw value of %s is neither state after kill %d", KEY, kill_number);
    return which;
}

static int count_files(const char *dir) {
    DIR *d = opendir(dir);
    int n = 0;
    if (!d) return -1;
    for (struct dirent *e; (e = readdir(d));) if (e->d_name[0] != '.') n++;
    closedir(d);
    return n;
}

static void test_sigkill_while_writing(void) {
    const char *env = getenv("PASSAUTH_KILLS");
    int kills = env ? atoi(env) : 200;
    const char *store = harness_temp_dir();
    char *config = config_for(store);
    passauth_client *client = NULL;
    CHECK_STATUS(passauth_client_new(config, &client), PASSAUTH_OK);
    free(config);
    char *first = state_json(0);
    CHECK_STATUS(passauth_mvpd_select(client, DEVICE, first), PASSAUTH_OK);
    free(first);

    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (!CHECK(n > 0)) return;
    self[n] = 0;
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    int seen[2] = {0, 0}, bad = 0;
    for (int k = 0; k < kills; k++) {
        pid_t pid = fork();
        if (pid == 0) {
            execl(self, self, "--writer", store, (char *)NULL);
            _exit(127);
        }
        /* let it start (load the library, open the store) and write a random while */
        usleep((useconds_t)(20000 + rand() % 60000));
        kill(pid, SIGKILL);
        int wstatus = 0;
        waitpid(pid, &wstatus, 0);
        if (!WIFSIGNALED(wstatus)) {
            CHECK_MSG(false, "the writer exited on its own (status %d) before the kill", WEXITSTATUS(wstatus));
            break;
        }
        int which = loaded_state(client);
        if (which >= 0 && raw_state(store, k) != which) which = -1;
        if (which >= 0) seen[which]++;
        else if (++bad > 3) break;
    }
    int files = count_files(store);
    printf("  %d kills: store held Alpha %d times, Bravo %d times, torn %d times; %d files left in the store directory\n",
           kills, seen[0], seen[1], bad, files);
    CHECK(seen[0] + seen[1] == kills);
    /* Killed writers leave nothing behind but the database, its WAL files and the lock file. */
    CHECK_MSG(files <= 4, "%d files left in %s", files, store);
    passauth_client_free(client);
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "--writer") == 0) return writer(argv[2]);
    struct harness_case tests[] = {
        {"sigkill_while_writing", test_sigkill_while_writing},
        {NULL, NULL},
    };
    return harness_run("store_kill", tests);
}
