/*
 * player.c — a player's whole Adobe Pass journey with the passauth C API, in the order a set-top box
 * runs it: register, list TV providers, log in on a second screen (code, URL and QR code), wait for the
 * profile, filter the catalogue (preauthorize), authorize playback, log out.
 *
 *   player <base-url> <store-dir> [mvpd]        (mvpd defaults to Cablevision)
 *   player --version
 *
 * Build:  cc player.c $(pkg-config --cflags --libs passauth) -o player
 *
 * Conventions of the API: every call returns a status (PASSAUTH_OK or a negative PASSAUTH_E_*;
 * passauth_poll_wait may also say PASSAUTH_PENDING); on failure passauth_error_last() describes it.
 * Results are JSON strings the caller frees with passauth_free(); this player reads the few values it
 * needs with passauth_json_get_* (RFC 6901 pointers), so it needs no JSON library.
 */
#include <passauth.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int fail(const char *what, int status) {
    const passauth_error *e = passauth_error_last();
    fprintf(stderr, "%s failed: %s: %s\n", what, passauth_status_name(status), e->message);
    if (e->code) fprintf(stderr, "  code %s, action %s\n", e->code, e->action ? e->action : "-");
    if (e->http_status) fprintf(stderr, "  HTTP %d\n", e->http_status);
    if (e->trace) fprintf(stderr, "  trace %s\n", e->trace);
    return 1;
}

/* Reads one value of a result; "" / 0 when it is not there (the library checked the answer's shape). */
static char text[512];
static const char *get(const char *json, const char *pointer) {
    char *value = NULL;
    text[0] = 0;
    if (passauth_json_get_string(json, pointer, &value) == PASSAUTH_OK) snprintf(text, sizeof text, "%s", value);
    passauth_free(value);
    return text;
}

static long long number(const char *json, const char *pointer) {
    long long value = 0;
    return passauth_json_get_int64(json, pointer, &value) == PASSAUTH_OK ? value : 0;
}

/* Prints decisions: permit or deny per resource, and the media token's validity, never the token. */
static void print_decisions(const char *title, const char *answer) {
    printf("%s\n", title);
    size_t count = 0;
    passauth_json_count(answer, "/decisions", &count);
    for (size_t i = 0; i < count; i++) {
        char at[96], resource[128];
        snprintf(at, sizeof at, "/decisions/%zu/resource", i);
        snprintf(resource, sizeof resource, "%s", get(answer, at));
        int authorized = 0;
        snprintf(at, sizeof at, "/decisions/%zu/authorized", i);
        passauth_json_get_bool(answer, at, &authorized);
        if (authorized) {
            char before[96];
            snprintf(at, sizeof at, "/decisions/%zu/token/notAfter", i);
            snprintf(before, sizeof before, "/decisions/%zu/token/notBefore", i);
            if (number(answer, at))
                printf("  %s: permitted, media token valid for %lld s\n", resource, (number(answer, at) - number(answer, before)) / 1000);
            else
                printf("  %s: permitted\n", resource);
        } else {
            snprintf(at, sizeof at, "/decisions/%zu/error/code", i);
            printf("  %s: denied (%s)", resource, get(answer, at));
            snprintf(at, sizeof at, "/decisions/%zu/error/message", i);
            printf(": %s\n", get(answer, at));
        }
    }
}

/*
 * The login URL's QR code beside the code, two module rows per text line with half blocks. On a
 * terminal the colours are set (dark modules on white); through a pipe the blocks draw the light
 * modules, for a light-on-dark terminal (as `qrencode -t UTF8` does).
 */
static void print_qr_beside(const char *url, const char *code) {
    char *qr = NULL;
    if (passauth_qr_code(url, &qr) != PASSAUTH_OK) return;  /* too long for a QR code: the URL is printed anyway */
    long long size = number(qr, "/size");
    const int quiet = 4, colours = isatty(STDOUT_FILENO);
    long long span = size + 2 * quiet;
    char **rows = calloc((size_t)size, sizeof *rows);
    for (long long y = 0; y < size; y++) {
        char at[32];
        snprintf(at, sizeof at, "/rows/%lld", y);
        passauth_json_get_string(qr, at, &rows[y]);
    }
    passauth_free(qr);
    for (long long line = 0; line * 2 < span; line++) {
        printf("  %s", colours ? "\x1b[30;107m" : "");
        for (long long x = 0; x < span; x++) {
            int dark[2];
            for (int half = 0; half < 2; half++) {
                long long y = line * 2 + half - quiet, c = x - quiet;
                dark[half] = y >= 0 && y < size && c >= 0 && c < size && rows[y] && rows[y][c] == '1';
            }
            if (!colours) { dark[0] = !dark[0]; dark[1] = !dark[1]; }  /* blocks draw the light modules */
            fputs(dark[0] && dark[1] ? "\xe2\x96\x88" : dark[0] ? "\xe2\x96\x80" : dark[1] ? "\xe2\x96\x84" : " ", stdout);
        }
        printf("%s", colours ? "\x1b[0m" : "");
        if (line == span / 4) printf("   code: %s", code);
        if (line == span / 4 + 1) printf("   scan it, or open the URL above");
        printf("\n");
    }
    for (long long y = 0; y < size; y++) passauth_free(rows[y]);
    free(rows);
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
    /* The library this process loaded must be at least the one this player was compiled against. */
    if (passauth_version_number() < PASSAUTH_VERSION_NUMBER) {
        fprintf(stderr, "libpassauth %s is older than the header (%s)\n", passauth_version(), PASSAUTH_VERSION_STRING);
        return 1;
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
    printf("registered: client %s\n", get(out, "/clientId"));
    passauth_free(out);

    /* 2. The TV-provider picker: MVPDs without TempPass ones; remember the user's choice. */
    if ((status = passauth_mvpds(client, NULL, "{\"tempPass\": false}", &out)) != PASSAUTH_OK)
        return fail("passauth_mvpds", status);
    size_t providers = 0;
    passauth_json_count(out, "/mvpds", &providers);
    printf("%zu TV providers; the user picks %s\n", providers, mvpd);
    passauth_free(out);
    char selection[256];
    snprintf(selection, sizeof selection, "{\"id\": \"%s\"}", mvpd);
    if ((status = passauth_mvpd_select(client, NULL, selection)) != PASSAUTH_OK) return fail("passauth_mvpd_select", status);

    /* 3. Authentication session: a code the user types (or a URL they open) on a second screen. */
    char params[512];
    snprintf(params, sizeof params,
             "{\"mvpd\": \"%s\", \"domainName\": \"adobe.com\", \"redirectUrl\": \"https://adobe.com\"}", mvpd);
    if ((status = passauth_session_create(client, NULL, params, &out)) != PASSAUTH_OK)
        return fail("passauth_session_create", status);
    char *session = out;
    if (strcmp(get(session, "/actionName"), "authenticate") == 0) {
        char code[80], url[512];
        snprintf(code, sizeof code, "%s", get(session, "/code"));
        snprintf(url, sizeof url, "%s", get(session, "/url"));
        printf("open %s on a phone or computer to log in\n", url);
        print_qr_beside(url, code);
        fflush(stdout);

        /* 4. Wait for the profile: the library polls every few seconds on its own threads until the user
         *    finishes, the code expires, or the poll is cancelled. The player waits in one-second slices
         *    (PASSAUTH_PENDING: the poll goes on) so that its UI stays alive meanwhile. */
        passauth_poll *poll = NULL;
        if ((status = passauth_poll_start(client, NULL, code, NULL, NULL, NULL, &poll)) != PASSAUTH_OK)
            return fail("passauth_poll_start", status);
        int slices = 0;
        while ((status = passauth_poll_wait(poll, 1000, &out)) == PASSAUTH_PENDING) {
            if (++slices % 15 == 0) {  /* here a player redraws its screen, reads the remote's Back key... */
                char *info = NULL;
                if (passauth_poll_info(poll, &info) == PASSAUTH_OK)
                    printf("still waiting for the login (%lld requests so far)\n", number(info, "/requests"));
                passauth_free(info);
                fflush(stdout);
            }
        }
        passauth_poll_free(poll);
        if (status != PASSAUTH_OK) return fail("passauth_poll_wait", status);
        passauth_free(out);
    }
    passauth_free(session);

    /* The profile: the valid one with the longest validity, judged at the service's time. */
    if ((status = passauth_profiles(client, NULL, &out)) != PASSAUTH_OK) return fail("passauth_profiles", status);
    char *picked = NULL;
    status = passauth_profile_pick_for(client, out, &picked);
    passauth_free(out);
    if (status != PASSAUTH_OK) return fail("passauth_profile_pick_for", status);
    printf("logged in with %s\n", get(picked, "/mvpd"));
    passauth_free(picked);

    /* 5. Preauthorization: which titles to show as playable (content filtering only). */
    if ((status = passauth_preauthorize(client, NULL, mvpd, "[\"REF30\", \"REF40\"]", &out)) != PASSAUTH_OK)
        return fail("passauth_preauthorize", status);
    print_decisions("preauthorization:", out);
    passauth_free(out);

    /* 6. Authorization before playback: hand the media token to the Media Token Verifier (not shown). */
    if ((status = passauth_authorize(client, NULL, mvpd, "[\"REF30\"]", &out)) != PASSAUTH_OK)
        return fail("passauth_authorize", status);
    print_decisions("authorization:", out);
    passauth_free(out);

    /* 7. Logout: when actionType is "interactive", open the returned URL to finish at the MVPD. An MVPD
     *    id goes into a pointer with "~" written "~0" and "/" written "~1" (none here). */
    if ((status = passauth_logout(client, NULL, mvpd, "https://adobe.com", &out)) != PASSAUTH_OK)
        return fail("passauth_logout", status);
    char at[256];
    snprintf(at, sizeof at, "/logouts/%s/actionName", mvpd);
    printf("logged out: %s", get(out, at));
    snprintf(at, sizeof at, "/logouts/%s/actionType", mvpd);
    printf(" / %s\n", get(out, at));
    passauth_free(out);

    passauth_client_free(client);
    return 0;
}
