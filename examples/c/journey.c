/*
 * journey.c — the Adobe Pass journey with the passauth C API, as a player would run it.
 *
 *   journey <base-url> <store-dir>
 *
 * Every call returns a status; on failure passauth_last_error() says why (as JSON). Results are JSON
 * strings the caller releases with passauth_free().
 */
#include <passauth.h>
#include <stdio.h>
#include <stdlib.h>

static int fail(const char *what, int status) {
    fprintf(stderr, "%s failed: %s\n  %s\n", what, passauth_status_name(status), passauth_last_error());
    return 1;
}

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
    int status = passauth_client_new(config, &client);
    if (status != PASSAUTH_OK) return fail("passauth_client_new", status);

    /* 1. Registration: credentials and access token, reused from the store on the next run. */
    char *registration = NULL;
    status = passauth_register(client, &registration);
    if (status != PASSAUTH_OK) return fail("passauth_register", status);
    printf("[c] registered: %s\n", registration);
    passauth_free(registration);

    /* 2. Configuration: the TV providers the user can pick from. */
    char *configuration = NULL;
    status = passauth_configuration(client, NULL, &configuration);
    if (status != PASSAUTH_OK) return fail("passauth_configuration", status);
    printf("[c] configuration: %.160s...\n", configuration);
    passauth_free(configuration);

    char *stats = NULL;
    if (passauth_stats(client, &stats) == PASSAUTH_OK) printf("[c] stats: %s\n", stats);
    passauth_free(stats);

    passauth_client_free(client);
    return 0;
}
