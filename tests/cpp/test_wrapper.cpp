// The C++ wrapper (bindings/cpp/passauth.hpp) against the emulator: RAII handles, typed results read
// through the library's JSON Pointer getters, exceptions carrying passauth_error_last(), PENDING versus
// a poll's own timeout, the log callback, QR codes, move semantics.
#include "harness.h"
#include "passauth.hpp"

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

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

static long long now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

static void control(const char *path, const std::string &body) { json_decref(emulator_post(&emu, path, body.c_str())); }

static void login(const std::string &code) { control("/_emulator/login", "{\"code\":\"" + code + "\",\"userId\":\"cpp-user\"}"); }

static void test_version() {
    CHECK(passauth::version() == passauth_version());
    CHECK(passauth::version_number() == PASSAUTH_VERSION_NUMBER);
    CHECK(PASSAUTH_VERSION_CHECK(0, 2, 0));
    CHECK(passauth::status_name(PASSAUTH_E_TIMEOUT) == "PASSAUTH_E_TIMEOUT");
    CHECK(passauth::status_name(PASSAUTH_PENDING) == "PASSAUTH_PENDING");
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
        CHECK(error.http_status() == 0 && error.retry_after_ms() == -1 && error.code().empty());
        CHECK(passauth::get_int64(error.json(), "/status") == PASSAUTH_E_INVALID_ARGUMENT);
        CHECK(error.json() == passauth_last_error());
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
        CHECK(error.retry_after_ms() == -1);
        CHECK_MSG(error.endpoint() == "register", "endpoint '%s'", error.endpoint().c_str());
    }
}

static void test_journey_typed() {
    passauth::Client client(config("\"logLevel\":\"none\""));
    passauth::Registration registration = client.registration();
    CHECK(!registration.client_id.empty() && registration.registered && registration.token_fetched);
    CHECK(registration.access_token_expires_at > now_ms());
    CHECK(contains(registration.json, "\"clientId\""));
    CHECK(!client.registration().registered);

    passauth::Session session = client.session_create(SESSION);
    CHECK(session.action_name == "authenticate" && !session.code.empty());
    CHECK(session.url == client.authenticate_url(session.code));
    CHECK(session.url == std::string(emu.base_url) + "/api/v2/authenticate/REF30/" + session.code);
    CHECK(session.not_after.has_value() && *session.not_after > now_ms());
    CHECK(session.mvpd == "Cablevision");

    passauth::Poll poll = client.poll(session.code);
    CHECK(!poll.wait_for(10).has_value());  // still running: PASSAUTH_PENDING
    passauth::PollInfo info = poll.info();
    CHECK(info.pending && info.code == session.code && !info.status.has_value());
    CHECK(info.interval_ms >= 3000 && info.started_at > 0 && info.not_after == session.not_after);
    login(session.code);
    std::optional<passauth::Profiles> profiles = poll.wait_for(20000);  // bounded: a broken login fails, never hangs
    CHECK(profiles.has_value() && profiles->count("Cablevision") == 1);
    if (!profiles || profiles->count("Cablevision") == 0) return;
    const passauth::Profile &profile = profiles->at("Cablevision");
    CHECK(profile.mvpd == "Cablevision" && profile.not_after > now_ms() && !profile.type.empty());
    CHECK_MSG(profile.attributes.count("userID") && profile.attributes.at("userID").value == "cpp-user",
              "attributes: %s", profiles->json.c_str());
    info = poll.info();
    CHECK(!info.pending && info.status == PASSAUTH_OK && info.requests >= 1);

    passauth::Profiles all = client.profiles();
    std::optional<passauth::Profile> picked = client.profile_pick(all);
    CHECK(picked && picked->mvpd == "Cablevision");
    CHECK(passauth::profile_pick(client.profiles_stored())->mvpd == "Cablevision");

    passauth::Decisions decisions = client.authorize("Cablevision", R"(["REF30"])");
    CHECK(decisions.size() == 1);
    const passauth::Decision &permit = decisions.at(0);
    CHECK(permit.resource == "REF30" && permit.authorized && permit.mvpd == "Cablevision" && permit.source == "mvpd");
    CHECK(permit.media_token && !permit.media_token->serialized.empty() && permit.media_token->not_after > permit.media_token->not_before);
    CHECK(permit.error_code.empty());
    CHECK(contains(decisions.json, "\"serializedToken\""));

    passauth::Decisions pre = client.preauthorize("Cablevision", R"(["REF30", "REF40"])");
    CHECK(pre.size() == 2 && pre[1].resource == "REF40" && pre[1].authorized && !pre[1].media_token);
    CHECK(contains(client.logout("Cablevision", "https://adobe.com"), "\"logouts\""));
}

static void test_deny_is_a_decision() {
    passauth::Client client(config("\"logLevel\":\"none\""));
    CHECK(harness_login_device(&emu, "device-1", "Spectrum"));
    control("/_emulator/config",
            R"({"denyRules": [{"resource": "DENIED", "decision": "authorize", "details": "Not in your package."}]})");
    try {
        passauth::Decisions decisions = client.authorize("Spectrum", R"(["REF30", "DENIED"])");
        CHECK(decisions.size() == 2);
        if (decisions.size() == 2) {
            CHECK(decisions[0].authorized && decisions[0].media_token.has_value());
            const passauth::Decision &deny = decisions[1];
            CHECK(deny.resource == "DENIED" && !deny.authorized && !deny.media_token.has_value());
            CHECK_MSG(deny.error_code == "authorization_denied_by_mvpd", "code '%s'", deny.error_code.c_str());
            CHECK(contains(deny.error_message, "Deny"));
            CHECK(deny.error_details == "Not in your package." && deny.error_action == "none");
        }
    } catch (const passauth::Error &error) {
        CHECK_MSG(false, "a deny threw: %s", error.what());
    }
    control("/_emulator/config", R"({"denyRules": []})");
}

static void test_service_error_fields() {
    passauth::Client client(config("\"logLevel\":\"none\""));
    try {
        client.authorize("Spectrum", R"(["REF30"])", R"({"id": "never-logged-in"})");
        CHECK_MSG(false, "authorize without a profile succeeded");
    } catch (const passauth::Error &error) {
        CHECK(error.status() == PASSAUTH_E_SERVICE && error.status_name() == "PASSAUTH_E_SERVICE");
        CHECK_MSG(error.code() == "authenticated_profile_missing", "code '%s'", error.code().c_str());
        CHECK(error.action() == "authentication");
        CHECK(error.http_status() == 403);
        CHECK(error.endpoint() == "decisions.authorize");
        CHECK(!error.trace().empty() && !error.help_url().empty());
        CHECK(passauth::get_string(error.json(), "/code") == "authenticated_profile_missing");
    }
}

// PASSAUTH_PENDING (std::nullopt: the wait ended, the poll goes on) against the poll's own timeoutMs
// (an Error with PASSAUTH_E_TIMEOUT: the poll ended).
static void test_pending_versus_poll_timeout() {
    passauth::Client client(config("\"logLevel\":\"none\""));
    passauth::Session session = client.session_create(SESSION);
    passauth::Poll poll = client.poll(session.code, R"({"timeoutMs": 1500})");
    auto started = std::chrono::steady_clock::now();
    CHECK(!poll.wait_for(100).has_value());
    CHECK(!poll.wait_for(100).has_value());
    CHECK(poll.info().pending);
    try {
        poll.wait_for(15000);
        CHECK_MSG(false, "the poll did not end at its timeoutMs");
    } catch (const passauth::Error &error) {
        CHECK_MSG(error.status() == PASSAUTH_E_TIMEOUT, "status %s", error.status_name().c_str());
    }
    auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
    CHECK_MSG(elapsed >= 1300 && elapsed < 5000, "the poll ended after %lld ms", static_cast<long long>(elapsed));
    passauth::PollInfo info = poll.info();
    CHECK(!info.pending && info.status == PASSAUTH_E_TIMEOUT);
    try {  // once ended, the same outcome at once
        poll.wait_for(0);
        CHECK(false);
    } catch (const passauth::Error &error) {
        CHECK(error.status() == PASSAUTH_E_TIMEOUT);
    }
}

static void test_log_callback() {
    json_decref(emulator_post(&emu, "/_emulator/reset", nullptr));
    passauth::Client client(config("\"logLevel\":\"trace\",\"pacing\":false"));
    std::mutex lock;
    std::vector<std::pair<int, std::string>> lines;
    client.on_log([&](int level, std::string_view message) {
        std::lock_guard<std::mutex> guard(lock);
        lines.emplace_back(level, std::string(message));
    });
    client.registration();
    CHECK(harness_login_device(&emu, "device-1", "Cablevision"));
    passauth::Decisions decisions = client.authorize("Cablevision", R"(["REF30"])");
    std::string media_token = decisions.empty() || !decisions[0].media_token ? "" : decisions[0].media_token->serialized;
    CHECK(!media_token.empty());

    std::vector<std::string> secrets{media_token};
    json_t *log = emulator_get(&emu, "/_emulator/requests");
    size_t i;
    json_t *request;
    json_array_foreach(json_object_get(log, "requests"), i, request) {
        const char *auth = json_string_value(json_object_get(json_object_get(request, "headers"), "authorization"));
        if (auth && std::strncmp(auth, "Bearer ", 7) == 0) secrets.emplace_back(auth + 7);
        const char *body = json_string_value(json_object_get(request, "body"));
        if (const char *secret = body ? std::strstr(body, "client_secret=") : nullptr) {
            std::string value = secret + std::strlen("client_secret=");
            secrets.push_back(value.substr(0, value.find('&')));
        }
    }
    json_decref(log);
    CHECK_MSG(secrets.size() >= 3, "only %zu secrets collected", secrets.size());

    std::size_t before = 0;
    {
        std::lock_guard<std::mutex> guard(lock);
        CHECK_MSG(lines.size() >= 4, "%zu log lines", lines.size());
        bool debug = false, trace = false, authorize = false;
        for (const auto &[level, text] : lines) {
            CHECK_MSG(level >= PASSAUTH_LOG_ERROR && level <= PASSAUTH_LOG_TRACE, "level %d", level);
            CHECK(!text.empty() && text.back() != '\n');
            debug |= level == PASSAUTH_LOG_DEBUG;
            trace |= level == PASSAUTH_LOG_TRACE;
            authorize |= contains(text, "decisions.authorize");
            for (const std::string &secret : secrets)
                CHECK_MSG(secret.size() < 6 || !contains(text, secret), "a secret (%.6s...) in: %s", secret.c_str(), text.c_str());
        }
        CHECK(debug && trace && authorize);
        before = lines.size();
    }

    client.on_log(nullptr);  // back to stderr: the callback gets nothing more
    std::fflush(stderr);
    int saved = dup(2);
    int quiet = open("/dev/null", O_WRONLY);
    dup2(quiet, 2);  // the library writes its lines to fd 2: keep them off the test's output
    close(quiet);
    client.authorize("Cablevision", R"(["REF30"])");
    dup2(saved, 2);
    close(saved);
    std::lock_guard<std::mutex> guard(lock);
    CHECK(lines.size() == before);
}

static void test_qr_code() {
    passauth::QrCode qr = passauth::qr_code(std::string(emu.base_url) + "/api/v2/authenticate/REF30/ABC1234");
    CHECK(qr.version >= 1 && qr.version <= 40 && qr.size == 17 + 4 * qr.version);
    CHECK(qr.error_correction == "M");
    CHECK(qr.rows.size() == static_cast<std::size_t>(qr.size));
    bool square = true;
    for (const std::string &row : qr.rows) square &= row.size() == static_cast<std::size_t>(qr.size);
    CHECK(square);
    // The finder patterns: dark corners, a light ring inside them.
    CHECK(qr.dark(0, 0) && qr.dark(qr.size - 1, 0) && qr.dark(0, qr.size - 1) && !qr.dark(1, 1) && qr.dark(3, 3));
    CHECK(!qr.dark(-1, 0) && !qr.dark(qr.size, 0));
    CHECK(passauth::qr_code(std::string(200, 'x')).size > passauth::qr_code("x").size);
    for (const std::string &bad : {std::string(), std::string(3000, 'x')}) {
        try {
            passauth::qr_code(bad);
            CHECK_MSG(false, "a QR code of %zu bytes", bad.size());
        } catch (const passauth::Error &error) {
            CHECK(error.status() == PASSAUTH_E_INVALID_ARGUMENT);
        }
    }
}

static void test_json_getters() {
    std::string doc = R"({"a/b": {"m~n": "x", "n": 7, "t": true}, "list": [1, "two", {"k\"q": {"deep": 1}}], "o": {"p": 1, "q\u00e9": [], "r": {"s": "}"}}})";
    CHECK(passauth::get_string(doc, "/a~1b/m~0n") == "x");
    CHECK(passauth::get_int64(doc, "/a~1b/n") == 7);
    CHECK(passauth::get_bool(doc, "/a~1b/t"));
    CHECK(passauth::count(doc, "/list") == 3 && passauth::count(doc, "") == 3);
    CHECK(passauth::escape_token("a/b~c") == "a~1b~0c");
    CHECK((passauth::member_names(doc, "/o") == std::vector<std::string>{"p", "q\xc3\xa9", "r"}));
    CHECK((passauth::member_names(doc, "/list/2") == std::vector<std::string>{"k\"q"}));
    CHECK((passauth::member_names(doc, "") == std::vector<std::string>{"a/b", "list", "o"}));
    CHECK(passauth::member_names(doc, "/list").empty() && passauth::member_names(doc, "/missing").empty());
    CHECK(passauth::string_field(doc, "a/b") == std::nullopt);
    try {
        passauth::get_string(doc, "/a~1b/n");
        CHECK(false);
    } catch (const passauth::Error &error) {
        CHECK(error.status() == PASSAUTH_E_INVALID_ARGUMENT && contains(error.what(), "number"));
    }
    try {
        passauth::get_int64(doc, "/nothing/here");
        CHECK(false);
    } catch (const passauth::Error &error) {
        CHECK(error.status() == PASSAUTH_E_NOT_FOUND);
    }
}

static void test_poll_callback_and_cancel() {
    passauth::Client client(config("\"logLevel\":\"none\""));
    std::string code = client.session_create(SESSION).code;
    CHECK(!code.empty());
    std::atomic<int> calls{0};
    std::atomic<int> final_status{1};
    passauth::Poll poll = client.poll(code, R"({"intervalMs": 3000})", "", [&](int status, const std::string &result) {
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
    passauth::Client client(config("\"logLevel\":\"none\""));
    std::string code = client.session_create(SESSION).code;
    std::atomic<int> status{1};
    {
        passauth::Poll poll = client.poll(code, "", "", [&](int s, const std::string &) { status = s; });
    }
    CHECK(status == PASSAUTH_E_CANCELLED);
}

static void test_move_client() {
    passauth::Client first(config("\"logLevel\":\"none\""));
    std::atomic<int> lines{0};
    first.on_log([&](int, std::string_view) { ++lines; });
    passauth_client *handle = first.get();
    passauth::Client second = std::move(first);
    CHECK(first.get() == nullptr);
    CHECK(second.get() == handle);
    CHECK(contains(second.stats(), "\"requestsTotal\""));
}

static void test_error_from_document() {
    passauth::Error error(PASSAUTH_E_THROTTLED,
                          R"({"status":-7,"statusName":"PASSAUTH_E_THROTTLED","message":"caf\u00e9 \"slow\" \ud83d\ude00",)"
                          R"("details":{"nested":"x"},"httpStatus":429,"retryAfterMs":1500,"code":"too_many_requests"})");
    CHECK(std::string(error.what()) == "caf\xc3\xa9 \"slow\" \xf0\x9f\x98\x80");
    CHECK(error.http_status() == 429);
    CHECK(error.retry_after_ms() == 1500);
    CHECK(error.code() == "too_many_requests");
    CHECK(error.action().empty() && error.details().empty());
}

int main() {
    if (!emulator_start(&emu, "--no-throttle")) return 2;
    static const harness_case cases[] = {
        {"version", test_version},
        {"invalid_config_throws", test_invalid_config_throws},
        {"registration_error_fields", test_registration_error_fields},
        {"journey_typed", test_journey_typed},
        {"deny_is_a_decision", test_deny_is_a_decision},
        {"service_error_fields", test_service_error_fields},
        {"pending_versus_poll_timeout", test_pending_versus_poll_timeout},
        {"qr_code", test_qr_code},
        {"json_getters", test_json_getters},
        {"poll_callback_and_cancel", test_poll_callback_and_cancel},
        {"destroying_poll_cancels", test_destroying_poll_cancels},
        {"move_client", test_move_client},
        {"error_from_document", test_error_from_document},
        {"log_callback", test_log_callback},
        {nullptr, nullptr},
    };
    int rc = harness_run("cpp_wrapper", cases);
    emulator_stop(&emu);
    return rc;
}
