// The C++ wrapper (bindings/cpp/passauth.hpp) against the emulator: RAII handles, std::string in and
// out, exceptions carrying the error fields, polls with callbacks, move semantics.
#include "harness.h"
#include "passauth.hpp"

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

static emulator emu;
static const char *SESSION = R"({"mvpd":"Cablevision","domainName":"adobe.com","redirectUrl":"https://adobe.com"})";

static std::string config(const char *extra = nullptr) {
    char *text = harness_config(&emu, harness_temp_dir(), extra);
    std::string out = text;
    std::free(text);
    return out;
}

static bool contains(const std::string &haystack, const std::string &needle) {
    return haystack.find(needle) != std::string::npos;
}

static void test_version() {
    CHECK(passauth::version() == passauth_version());
    CHECK(passauth::status_name(PASSAUTH_E_TIMEOUT) == "PASSAUTH_E_TIMEOUT");
}

static void test_invalid_config_throws() {
    try {
        passauth::Client client(R"({"softwareStatement": "x"})");
        CHECK_MSG(false, "no exception for a config without serviceProvider");
    } catch (const passauth::Error &error) {
        CHECK(error.status() == PASSAUTH_E_INVALID_ARGUMENT);
        CHECK(error.status_name() == "PASSAUTH_E_INVALID_ARGUMENT");
        CHECK(error.key() == "serviceProvider");
        CHECK(contains(error.what(), "serviceProvider"));
        CHECK(contains(error.json(), "\"status\":"));
    }
}

static void test_registration_error_fields() {
    std::string bad = "{\"baseUrl\":\"" + std::string(emu.base_url) +
                      "\",\"serviceProvider\":\"REF30\",\"softwareStatement\":\"not-a-statement\",\"store\":\"" +
                      harness_temp_dir() + "\"}";
    passauth::Client client(bad);
    try {
        client.registration();
        CHECK_MSG(false, "registration with a bad software statement succeeded");
    } catch (const passauth::Error &error) {
        CHECK_MSG(error.status() == PASSAUTH_E_REGISTRATION, "status %d", error.status());
        CHECK_MSG(error.code() == "invalid_software_statement", "code '%s'", error.code().c_str());
        CHECK(error.http_status() == 400);
        CHECK(error.retry_after_ms() == 0);
    }
}

static void test_journey() {
    passauth::Client client(config());
    CHECK(contains(client.registration(), "\"clientId\""));
    CHECK(contains(client.mvpds(R"({"search": "cablevision"})"), "\"Cablevision\""));
    std::string session = client.session_create(SESSION);
    auto code = passauth::string_field(session, "code");
    CHECK(code.has_value());
    if (!code) return;
    CHECK(client.authenticate_url(*code) == std::string(emu.base_url) + "/api/v2/authenticate/REF30/" + *code);

    passauth::Poll poll = client.poll(*code);
    CHECK(!poll.wait_for(10).has_value());  // still running
    std::string body = "{\"code\":\"" + *code + "\"}";
    json_t *done = emulator_post(&emu, "/_emulator/login", body.c_str());
    CHECK(done != nullptr);
    json_decref(done);
    std::optional<std::string> profiles = poll.wait_for(20000);  // bounded: a broken login fails, never hangs
    CHECK(profiles.has_value() && contains(*profiles, "\"Cablevision\""));
    CHECK(passauth::string_field(passauth::profile_pick(client.profiles()), "mvpd") == std::string("Cablevision"));

    std::string decisions = client.authorize("Cablevision", R"(["REF30"])");
    CHECK(contains(decisions, "\"authorized\":true") || contains(decisions, "\"authorized\": true"));  // the service's text, passed through
    CHECK(contains(decisions, "\"serializedToken\""));
    CHECK(contains(client.preauthorize("Cablevision", R"(["REF30", "REF40"])"), "\"REF40\""));
    CHECK(contains(client.logout("Cablevision", "https://adobe.com"), "\"logouts\""));
}

static void test_service_error_fields() {
    passauth::Client client(config());
    try {
        client.authorize("Spectrum", R"(["REF30"])", R"({"id": "never-logged-in"})");
        CHECK_MSG(false, "authorize without a profile succeeded");
    } catch (const passauth::Error &error) {
        CHECK(error.status() == PASSAUTH_E_SERVICE);
        CHECK_MSG(error.code() == "authenticated_profile_missing", "code '%s'", error.code().c_str());
        CHECK(error.action() == "authentication");
        CHECK(error.http_status() == 403);
    }
}

static void test_poll_callback_and_cancel() {
    passauth::Client client(config());
    auto code = passauth::string_field(client.session_create(SESSION), "code");
    CHECK(code.has_value());
    if (!code) return;
    std::atomic<int> calls{0};
    std::atomic<int> final_status{1};
    passauth::Poll poll = client.poll(*code, R"({"intervalMs": 3000})", "", [&](int status, const std::string &result) {
        final_status = status;
        if (!result.empty()) ++calls;
    });
    passauth::Poll moved = std::move(poll);
    CHECK(poll.get() == nullptr);
    moved.cancel();
    try {
        moved.wait();
        CHECK_MSG(false, "a cancelled poll returned a profile");
    } catch (const passauth::Error &error) {
        CHECK(error.status() == PASSAUTH_E_CANCELLED);
    }
    CHECK(calls == 1);
    CHECK(final_status == PASSAUTH_E_CANCELLED);
}

static void test_destroying_poll_cancels() {
    passauth::Client client(config());
    auto code = passauth::string_field(client.session_create(SESSION), "code");
    std::atomic<int> status{1};
    {
        passauth::Poll poll = client.poll(*code, "", "", [&](int s, const std::string &) { status = s; });
    }
    CHECK(status == PASSAUTH_E_CANCELLED);
}

static void test_move_client() {
    passauth::Client first(config());
    passauth_client *handle = first.get();
    passauth::Client second = std::move(first);
    CHECK(first.get() == nullptr);
    CHECK(second.get() == handle);
    CHECK(contains(second.stats(), "\"requestsTotal\""));
}

static void test_error_json_reader() {
    passauth::Error error(PASSAUTH_E_THROTTLED,
                          R"({"status":-7,"statusName":"PASSAUTH_E_THROTTLED","message":"caf\u00e9 \"slow\" \ud83d\ude00",)"
                          R"("details":{"nested":"x"},"httpStatus":429,"retryAfterMs":1500,"code":"too_many_requests"})");
    CHECK(std::string(error.what()) == "caf\xc3\xa9 \"slow\" \xf0\x9f\x98\x80");
    CHECK(error.http_status() == 429);
    CHECK(error.retry_after_ms() == 1500);
    CHECK(error.code() == "too_many_requests");
    CHECK(error.action().empty());
}

int main() {
    if (!emulator_start(&emu, "--no-throttle")) return 2;
    static const harness_case cases[] = {
        {"version", test_version},
        {"invalid_config_throws", test_invalid_config_throws},
        {"registration_error_fields", test_registration_error_fields},
        {"journey", test_journey},
        {"service_error_fields", test_service_error_fields},
        {"poll_callback_and_cancel", test_poll_callback_and_cancel},
        {"destroying_poll_cancels", test_destroying_poll_cancels},
        {"move_client", test_move_client},
        {"error_json_reader", test_error_json_reader},
        {nullptr, nullptr},
    };
    int rc = harness_run("cpp_wrapper", cases);
    emulator_stop(&emu);
    return rc;
}
