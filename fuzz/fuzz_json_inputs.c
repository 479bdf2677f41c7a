/* libFuzzer harness over every JSON input the C ABI decodes without touching the network:
 * config_json (passauth_client_new), profiles_json (passauth_profile_pick), device_json
 * (passauth_profiles_stored, passauth_mvpd_selected: store reads only), params_json (passauth_session_create)
 * and resources_json (passauth_authorize, passauth_preauthorize): with a device without "id" these
 * calls validate their inputs and then stop at the device-id check, before registration or any
 * request. The input also goes in as a code (passauth_authenticate_url) and as an mvpd.
 * Not covered: mvpd_json (passauth_mvpd_select writes the store: an fsync per execution) and
 * filter_json / options_json (decoded only on the way to a request).
 * Built by `make fuzz` (clang -fsanitize=fuzzer,address, linking build/lib/libpassauth.so). The
 * library itself is not coverage-instrumented (it is Swift built by SwiftPM); guidance comes from
 * the harness and the crash/leak detection from ASan over the whole process. */
#include "passauth.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static passauth_client *client;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    char dir[] = "/tmp/passauth-fuzz-XXXXXX";
    if (!mkdtemp(dir)) abort();
    char config[512];
    snprintf(config, sizeof config,
             "{\"baseUrl\":\"http://127.0.0.1:9\",\"serviceProvider\":\"REF30\",\"softwareStatement\":\"a.eyJ9.c\","
             "\"store\":\"%s\",\"logLevel\":\"none\",\"device\":{}}", dir);
    if (passauth_client_new(config, &client) != PASSAUTH_OK) abort();
    return 0;
}

static void check(int status, char *out) {
    /* a status from the enum, and an output only on success */
    if (status > 0 || status < PASSAUTH_E_NOT_FOUND) abort();
    if (status != PASSAUTH_OK && out) abort();
    if (status != PASSAUTH_OK && !passauth_last_error()) abort();
    passauth_free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = 0;
    char *out = NULL;

    passauth_client *made = NULL;
    int s = passauth_client_new(text, &made);
    if (s > 0 || s < PASSAUTH_E_NOT_FOUND) abort();
    passauth_client_free(made);

    out = NULL; s = passauth_profile_pick(text, &out); check(s, out);
    out = NULL; s = passauth_profiles_stored(client, text, &out); check(s, out);
    out = NULL; s = passauth_mvpd_selected(client, text, &out); check(s, out);
    out = NULL; s = passauth_authenticate_url(client, text, &out); check(s, out);
    /* device without id: validated inputs, then refused before any request */
    out = NULL; s = passauth_session_create(client, "{}", text, &out); check(s, out); if (s == PASSAUTH_OK) abort();
    out = NULL; s = passauth_authorize(client, "{}", "Cablevision", text, &out); check(s, out); if (s == PASSAUTH_OK) abort();
    out = NULL; s = passauth_preauthorize(client, "{}", text, "[\"r\"]", &out); check(s, out); if (s == PASSAUTH_OK) abort();
    free(text);
    return 0;
}
