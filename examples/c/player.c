/*
 * player.c — a player's whole Adobe Pass journey with the passauth C API, in the order a set-top box
 * runs it: register, list TV providers, log in on a second screen, wait for the profile, filter the
 * catalogue (preauthorize), authorize playback, log out.
 *
 *   player <base-url> <store-dir> [mvpd]        (mvpd defaults to Cablevision)
 *   player --version
 *
 * Build:  cc player.c $(pkg-config --cflags --libs passauth jansson) -o player
 *
 * Conventions of the API: every call returns a status (PASSAUTH_OK or a negative PASSAUTH_E_*);
 * on failure passauth_last_error() describes it as JSON. Results are JSON strings the caller frees
 * with passauth_free(). This example reads them with jansson.
 */
#include <jansson.h>
#include <passauth.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char *what, int status) {
    fprintf(stderr, "%s failed: %s\n  %s\n", what, passauth_status_name(status), passauth_last_error());
    return 1;
}

/* Parses a result and releases the library's string. */
static json_t *take_json(char *text) {
    json_t *document = json_loads(text, 0, NULL);
    passauth_free(text);
    return document;
}

/* Prints decisions: permit or deny per resource, and the media token's validity, never the token. */
static void print_decisions(const char *title, json_t *answer) {
    printf("%s\n", title);
    size_t i;
    json_t *decision;
    json_array_foreach(json_object_get(answer, "decisions"), i, decision) {
        const char *resource = json_string_value(json_object_get(decision, "resource"));
        if (json_is_true(json_object_get(decision, "authorized"))) {
            json_t *token = json_object_get(decision, "token");
            if (token)
                printf("  %s: permitted, media token valid for %lld s\n", resource,
                       (json_integer_value(json_object_get(token, "notAfter")) -
                        json_integer_value(json_object_get(token, "notBefore"))) / 1000);
            else
                printf("  %s: permitted\n", resource);
        } else {
            printf("  %s: denied (%s)\n", resource,
                   json_string_value(json_object_get(json_object_get(decision, "error"), "code")));
        }
    }
}

int main(int argc, char **argv) {
    if (argc == 2 && strcmp(argv[1], "--version") == 0) {
        printf("player with libpassauth %s\n", passauth_version());
        return 0;
    }
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: %s <base-url> <store-dir> [mvpd]\n       %s --version\n", argv[0], argv[0]);
        return 2;
    }
    const char *mvpd = argc == 4 ? argv[3] : "Cablevision";

    /* The client: one service provider, its software statement, where to keep state, and this device. */
    char config[2048];
    snprintf(config, sizeof config,
             "{\"baseUrl\": \"%s\", \"serviceProvider\": \"REF30\", \"store\": \"%s\", \"logLevel\": \"error\","
             " \"softwareStatement\": \"eyJhbGciOiJSUzI1NiJ9.eyJzb2Z0d2FyZV9pZCI6ImRlbW8ifQ.c2lnbmF0dXJl\","
             " \"device\": {\"id\": \"living-room-player\", \"info\": {\"primaryHardwareType\": \"SetTopBox\","
             " \"model\": \"Player\", \"vendor\": \"passauth\", \"osName\": \"Linux\", \"osVersion\": \"6.1\"}}}",
             argv[1], argv[2]);
    passauth_client *client = NULL;
    int status = passauth_client_new(config, &client);
    if (status != PASSAUTH_OK) return fail("passauth_client_new", status);

    /* 1. Registration (DCR): done once, then reused from the store. */
    char *out = NULL;
    if ((status = passauth_register(client, &out)) != PASSAUTH_OK) return fail("passauth_register", status);
    json_t *registration = take_json(out);
    printf("registered: client %s\n", json_string_value(json_object_get(registration, "clientId")));
    json_decref(registration);

    /* 2. The TV-provider picker: MVPDs without TempPass ones; remember the user's choice. */
    if ((status = passauth_mvpds(client, NULL, "{\"tempPass\": false}", &out)) != PASSAUTH_OK)
        return fail("passauth_mvpds", status);
    json_t *mvpds = take_json(out);
    printf("%zu TV providers; the user picks %s\n", json_array_size(json_object_get(mvpds, "mvpds")), mvpd);
    json_decref(mvpds);
    char selection[256];
    snprintf(selection, sizeof selection, "{\"id\": \"%s\"}", mvpd);
    if ((status = passauth_mvpd_select(client, NULL, selection)) != PASSAUTH_OK) return fail("passauth_mvpd_select", status);

    /* 3. Authentication session: a code the user types (or a URL they open) on a second screen. */
    char params[512];
    snprintf(params, sizeof params,
             "{\"mvpd\": \"%s\", \"domainName\": \"adobe.com\", \"redirectUrl\": \"https://adobe.com\"}", mvpd);
    if ((status = passauth_session_create(client, NULL, params, &out)) != PASSAUTH_OK)
        return fail("passauth_session_create", status);
    json_t *session = take_json(out);
    const char *action = json_string_value(json_object_get(session, "actionName"));
    if (action && strcmp(action, "authenticate") == 0) {
        const char *code = json_string_value(json_object_get(session, "code"));
        char *url = NULL;
        if ((status = passauth_authenticate_url(client, code, &url)) != PASSAUTH_OK)
            return fail("passauth_authenticate_url", status);
        printf("code: %s\nopen %s on a phone or computer to log in\n", code, url);
        fflush(stdout);
        passauth_free(url);

        /* 4. Wait for the profile: the library polls every few seconds until the user finishes,
         *    the code expires, or the poll is cancelled. */
        passauth_poll *poll = NULL;
        if ((status = passauth_poll_start(client, NULL, code, NULL, NULL, NULL, &poll)) != PASSAUTH_OK)
            return fail("passauth_poll_start", status);
        status = passauth_poll_wait(poll, -1, &out);
        passauth_poll_free(poll);
        if (status != PASSAUTH_OK) return fail("passauth_poll_wait", status);
        passauth_free(out);
    }
    json_decref(session);

    /* The profile: pick the valid one with the longest validity. */
    if ((status = passauth_profiles(client, NULL, &out)) != PASSAUTH_OK) return fail("passauth_profiles", status);
    char *picked = NULL;
    status = passauth_profile_pick(out, &picked);
    passauth_free(out);
    if (status != PASSAUTH_OK) return fail("passauth_profile_pick", status);
    json_t *profile = take_json(picked);
    printf("logged in with %s\n", json_string_value(json_object_get(profile, "mvpd")));
    json_decref(profile);

    /* 5. Preauthorization: which titles to show as playable (content filtering only). */
    if ((status = passauth_preauthorize(client, NULL, mvpd, "[\"REF30\", \"REF40\"]", &out)) != PASSAUTH_OK)
        return fail("passauth_preauthorize", status);
    json_t *preauthorization = take_json(out);
    print_decisions("preauthorization:", preauthorization);
    json_decref(preauthorization);

    /* 6. Authorization before playback: hand the media token to the Media Token Verifier (not shown). */
    if ((status = passauth_authorize(client, NULL, mvpd, "[\"REF30\"]", &out)) != PASSAUTH_OK)
        return fail("passauth_authorize", status);
    json_t *authorization = take_json(out);
    print_decisions("authorization:", authorization);
    json_decref(authorization);

    /* 7. Logout: when actionType is "interactive", open the returned URL to finish at the MVPD. */
    if ((status = passauth_logout(client, NULL, mvpd, "https://adobe.com", &out)) != PASSAUTH_OK)
        return fail("passauth_logout", status);
    json_t *logout = take_json(out);
    json_t *entry = json_object_get(json_object_get(logout, "logouts"), mvpd);
    printf("logged out: %s / %s\n", json_string_value(json_object_get(entry, "actionName")),
           json_string_value(json_object_get(entry, "actionType")));
    json_decref(logout);

    passauth_client_free(client);
    return 0;
}
