/*
 * journey.c — the whole Adobe Pass journey with the passauth C API, as a player runs it:
 * register, pick a TV provider, authenticate (a code and URL for a second screen, then poll for the
 * profile), preauthorize the catalogue, authorize playback, log out.
 *
 *   journey <base-url> <store-dir>
 *
 * Every call returns a status; on failure passauth_last_error() says why, as JSON. Results are JSON
 * strings the caller releases with passauth_free(); this example reads them with jansson.
 */
#include <jansson.h>
#include <passauth.h>
#include <stdio.h>
#include <stdlib.h>

static void check(const char *what, int status) {
    if (status != PASSAUTH_OK) {
        fprintf(stderr, "[c] %s failed: %s\n    %s\n", what, passauth_status_name(status), passauth_last_error());
        exit(1);
    }
}

/* Takes ownership of a library string and returns it parsed. */
static json_t *take(char *text) {
    json_t *doc = json_loads(text, 0, NULL);
    passauth_free(text);
    return doc;
}

static const char *field(json_t *doc, const char *key) { return json_string_value(json_object_get(doc, key)); }

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s <base-url> <store-dir>\n", argv[0]);
        return 2;
    }
    char config[2048];
    snprintf(config, sizeof config,
             "{\"baseUrl\": \"%s\", \"serviceProvider\": \"REF30\", \"store\": \"%s\","
             " \"softwareStatement\": \"eyJhbGciOiJSUzI1NiJ9.eyJzb2Z0d2FyZV9pZCI6ImRlbW8ifQ.c2lnbmF0dXJl\","
             " \"device\": {\"id\": \"living-room-tv\", \"info\": {\"primaryHardwareType\": \"SetTopBox\","
             " \"model\": \"Demo\", \"vendor\": \"passauth\", \"osName\": \"Linux\", \"osVersion\": \"6.1\"}}}",
             argv[1], argv[2]);
    passauth_client *client = NULL;
    check("passauth_client_new", passauth_client_new(config, &client));
    char *out = NULL;

    /* 1. Registration: client credentials and an access token, kept in the store for the next run. */
    check("register", passauth_register(client, &out));
    json_t *registration = take(out);
    printf("[c] registered as %s (new registration: %s)\n", field(registration, "clientId"),
           json_is_true(json_object_get(registration, "registered")) ? "yes" : "no, reused the store");
    json_decref(registration);

    /* 2. Configuration: providers for the picker (no TempPass ones); remember the user's choice. */
    check("mvpds", passauth_mvpds(client, NULL, "{\"tempPass\": false}", &out));
    json_t *configuration = take(out);
    json_t *mvpds = json_object_get(configuration, "mvpds");
    size_t i;
    json_t *mvpd, *chosen = NULL;
    printf("[c] providers:");
    json_array_foreach(mvpds, i, mvpd) {
        printf(" %s", field(mvpd, "displayName"));
        if (!chosen) chosen = mvpd;
    }
    printf("\n");
    char *choice = json_dumps(chosen, 0);
    check("select", passauth_mvpd_select(client, NULL, choice));
    free(choice);
    const char *mvpd_id = field(chosen, "id");

    /* 3. Authentication: the session's code and URL go to a second screen; we poll for the profile. */
    char params[512];
    snprintf(params, sizeof params,
             "{\"mvpd\": \"%s\", \"domainName\": \"adobe.com\", \"redirectUrl\": \"https://adobe.com\"}", mvpd_id);
    check("session", passauth_session_create(client, NULL, params, &out));
    json_t *session = take(out);
    printf("[c] to log in, open %s  (code %s)\n", field(session, "url"), field(session, "code"));
    fflush(stdout);
    passauth_poll *poll = NULL;
    check("poll", passauth_poll_start(client, NULL, field(session, "code"), NULL, NULL, NULL, &poll));
    check("login", passauth_poll_wait(poll, 120000, &out));
    passauth_poll_free(poll);
    json_t *profiles = take(out);
    json_t *profile = json_object_get(json_object_get(profiles, "profiles"), mvpd_id);
    printf("[c] logged in with %s until %lld\n", mvpd_id, (long long)json_integer_value(json_object_get(profile, "notAfter")));
    json_decref(profiles);
    json_decref(session);

    /* 4. Preauthorization: which titles to show (content filtering only, never for playback). */
    check("preauthorize", passauth_preauthorize(client, NULL, mvpd_id, "[\"REF30\", \"REF40\"]", &out));
    json_t *answer = take(out);
    json_t *decision;
    json_array_foreach(json_object_get(answer, "decisions"), i, decision)
        printf("[c] may show %s: %s\n", field(decision, "resource"), json_is_true(json_object_get(decision, "authorized")) ? "yes" : "no");
    json_decref(answer);

    /* 5. Authorization: before every playback; the media token goes to the player, never to a log. */
    check("authorize", passauth_authorize(client, NULL, mvpd_id, "[\"REF30\"]", &out));
    answer = take(out);
    json_array_foreach(json_object_get(answer, "decisions"), i, decision) {
        json_t *token = json_object_get(decision, "token");
        printf("[c] play %s: %s (source %s, media token valid until %lld)\n", field(decision, "resource"),
               json_is_true(json_object_get(decision, "authorized")) ? "authorized" : "denied", field(decision, "source"),
               (long long)json_integer_value(json_object_get(token, "notAfter")));
    }
    json_decref(answer);

    /* 6. Logout, when the user asks for it: the answer says whether a browser must open a URL. */
    check("logout", passauth_logout(client, NULL, mvpd_id, "https://adobe.com", &out));
    json_t *logout = take(out);
    json_t *action = json_object_get(json_object_get(logout, "logouts"), mvpd_id);
    printf("[c] logged out: %s (%s)\n", field(action, "actionName"), field(action, "actionType"));
    json_decref(logout);
    json_decref(configuration);

    check("stats", passauth_stats(client, &out));
    printf("[c] stats: %s\n", out);
    passauth_free(out);
    passauth_client_free(client);
    return 0;
}
