// passauth.hpp — a header-only C++17 wrapper over the passauth C API (passauth.h, 0.2).
//
//   passauth::Client client(R"({"serviceProvider": "REF30", "softwareStatement": "...", ...})");
//   passauth::Session session = client.session_create(R"({"mvpd": "Spectrum", ...})");
//   std::cout << session.code << "  " << session.url << "\n";
//   passauth::Poll poll = client.poll(session.code);
//   passauth::Profiles profiles = poll.wait();                   // throws passauth::Error on failure
//   for (const passauth::Decision &d : client.authorize("Spectrum", R"(["REF30"])"))
//       d.authorized ? play(d.media_token->serialized) : show(d.error_message);
//
// - RAII: Client and Poll own their C handle (move-only).
// - Typed results where the API guarantees the fields (Registration, Session, Profiles, Decisions,
//   PollInfo, QrCode), read with the library's own JSON Pointer getters (passauth_json_get_*); each
//   keeps the raw JSON text in `json`. Other results are the JSON text (std::string).
// - Errors: every failing call throws passauth::Error, a copy of passauth_error_last() taken at the
//   failure: status(), status_name(), code(), action(), http_status(), retry_after_ms(), key(),
//   endpoint(), details(), trace(), json(). what() is the message.
// - Devices: `device_json` comes last in each method and defaults to "" = the client's default device
//   (NULL in the C API). Likewise "" means NULL for params/filter/options documents.
// - Thread-safety is that of the C API: a Client may be used from several threads at once (on_log
//   excepted: set it up before sharing the client).
//
// Link with -lpassauth (pkg-config --cflags --libs passauth). Nothing else: no JSON library is needed.
#ifndef PASSAUTH_HPP
#define PASSAUTH_HPP

#include <passauth.h>

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace passauth {

namespace detail {

// "" means NULL (the default) for optional JSON inputs.
inline const char *optional(const std::string &text) { return text.empty() ? nullptr : text.c_str(); }

inline std::string text_of(const char *text) { return text ? text : ""; }

// Takes ownership of a library-allocated string.
inline std::string take(char *text) {
    std::string out = text_of(text);
    passauth_free(text);
    return out;
}

// Lenient reads for the typed results: a missing member or one of another type is "absent" (the
// library already checked the answer against the reference page). Each read parses `json` once.
inline std::optional<std::string> read_string(const std::string &json, const std::string &pointer) {
    char *out = nullptr;
    if (passauth_json_get_string(json.c_str(), pointer.c_str(), &out) != PASSAUTH_OK) return std::nullopt;
    return take(out);
}
inline std::optional<long long> read_int64(const std::string &json, const std::string &pointer) {
    long long out = 0;
    if (passauth_json_get_int64(json.c_str(), pointer.c_str(), &out) != PASSAUTH_OK) return std::nullopt;
    return out;
}
inline std::optional<bool> read_bool(const std::string &json, const std::string &pointer) {
    int out = 0;
    if (passauth_json_get_bool(json.c_str(), pointer.c_str(), &out) != PASSAUTH_OK) return std::nullopt;
    return out != 0;
}
inline std::size_t read_count(const std::string &json, const std::string &pointer) {
    std::size_t out = 0;
    return passauth_json_count(json.c_str(), pointer.c_str(), &out) == PASSAUTH_OK ? out : 0;
}

// The member names of the object at `pointer`, in document order, read by the library
// (passauth_json_count, then passauth_json_get_key for each member); {} for anything but an object,
// or when a read fails.
struct Names {
    static std::vector<std::string> of(const std::string &json, const std::string &pointer) {
        std::size_t count = 0;
        if (passauth_json_count(json.c_str(), pointer.c_str(), &count) != PASSAUTH_OK) return {};
        std::vector<std::string> names;
        names.reserve(count);
        for (std::size_t i = 0; i < count; ++i) {
            char *name = nullptr;
            if (passauth_json_get_key(json.c_str(), pointer.c_str(), i, &name) != PASSAUTH_OK) return {};
            names.push_back(take(name));
        }
        return names;
    }
};

}  // namespace detail

// A failed call: a copy of passauth_error_last() taken when the call failed.
class Error : public std::runtime_error {
public:
    // From the C struct (copied: the struct is only valid until the thread's next failure).
    explicit Error(const passauth_error &error)
        : std::runtime_error(detail::text_of(error.message)), status_(error.status),
          status_name_(detail::text_of(error.name)), code_(detail::text_of(error.code)),
          action_(detail::text_of(error.action)), endpoint_(detail::text_of(error.endpoint)),
          key_(detail::text_of(error.key)), details_(detail::text_of(error.details)),
          help_url_(detail::text_of(error.help_url)), trace_(detail::text_of(error.trace)),
          http_status_(error.http_status), retry_after_ms_(error.retry_after_ms), json_(detail::text_of(error.json)) {}

    // From an error document (the result_json of a poll callback that failed, or a saved
    // passauth_last_error()).
    Error(int status, const std::string &json)
        : std::runtime_error(detail::read_string(json, "/message").value_or("passauth error")), status_(status),
          status_name_(detail::read_string(json, "/statusName").value_or(passauth_status_name(status))),
          code_(detail::read_string(json, "/code").value_or("")),
          action_(detail::read_string(json, "/action").value_or("")),
          endpoint_(detail::read_string(json, "/endpoint").value_or("")),
          key_(detail::read_string(json, "/key").value_or("")),
          details_(detail::read_string(json, "/details").value_or("")),
          help_url_(detail::read_string(json, "/helpUrl").value_or("")),
          trace_(detail::read_string(json, "/trace").value_or("")),
          http_status_(static_cast<int>(detail::read_int64(json, "/httpStatus").value_or(0))),
          retry_after_ms_(detail::read_int64(json, "/retryAfterMs").value_or(-1)), json_(json) {}

    // The error of the calling thread's last failed passauth call, which returned `status`.
    static Error last(int status) {
        Error error(*passauth_error_last());
        if (error.status_ != status) {  // never expected; the returned status wins
            error.status_ = status;
            error.status_name_ = passauth_status_name(status);
        }
        return error;
    }

    int status() const noexcept { return status_; }                          // PASSAUTH_E_*
    const std::string &status_name() const noexcept { return status_name_; }  // "PASSAUTH_E_SERVICE"
    const std::string &code() const noexcept { return code_; }                // enhanced error code or DCR error, "" if none
    const std::string &action() const noexcept { return action_; }            // "retry", "authentication"…, "" if none
    const std::string &endpoint() const noexcept { return endpoint_; }        // "decisions.authorize"…, "" if none
    const std::string &key() const noexcept { return key_; }                  // the config/input key, "" if none
    const std::string &details() const noexcept { return details_; }          // as sent by the service, "" if none
    const std::string &help_url() const noexcept { return help_url_; }
    const std::string &trace() const noexcept { return trace_; }
    int http_status() const noexcept { return http_status_; }                 // 0 when the service did not answer
    long long retry_after_ms() const noexcept { return retry_after_ms_; }     // -1 when there is nothing to wait for
    const std::string &json() const noexcept { return json_; }                // the whole record as JSON

private:
    int status_;
    std::string status_name_, code_, action_, endpoint_, key_, details_, help_url_, trace_;
    int http_status_ = 0;
    long long retry_after_ms_ = -1;
    std::string json_;
};

namespace detail {
inline void check(int status) {
    if (status != PASSAUTH_OK) throw Error::last(status);
}
}  // namespace detail

// --- Reading JSON results by RFC 6901 pointer (passauth_json_get_*) ---------------------------------

// A reference token for a pointer: "~" -> "~0", "/" -> "~1" (an MVPD id, an attribute name…).
inline std::string escape_token(std::string_view name) {
    std::string out;
    for (char c : name) out += c == '~' ? "~0" : c == '/' ? "~1" : std::string(1, c);
    return out;
}

// The value at `pointer`; throws Error (PASSAUTH_E_NOT_FOUND, or PASSAUTH_E_INVALID_ARGUMENT for
// another type or a document that is not JSON).
inline std::string get_string(const std::string &json, const std::string &pointer) {
    char *out = nullptr;
    detail::check(passauth_json_get_string(json.c_str(), pointer.c_str(), &out));
    return detail::take(out);
}
inline bool get_bool(const std::string &json, const std::string &pointer) {
    int out = 0;
    detail::check(passauth_json_get_bool(json.c_str(), pointer.c_str(), &out));
    return out != 0;
}
inline long long get_int64(const std::string &json, const std::string &pointer) {
    long long out = 0;
    detail::check(passauth_json_get_int64(json.c_str(), pointer.c_str(), &out));
    return out;
}
// Elements of the array, or members of the object, at `pointer`.
inline std::size_t count(const std::string &json, const std::string &pointer) {
    std::size_t out = 0;
    detail::check(passauth_json_count(json.c_str(), pointer.c_str(), &out));
    return out;
}
// The member names of the object at `pointer` (empty for anything else).
inline std::vector<std::string> member_names(const std::string &json, const std::string &pointer) {
    return detail::Names::of(json, pointer);
}

// A top-level string member ("code" of a session…), or std::nullopt (missing or not a string).
inline std::optional<std::string> string_field(const std::string &json, const std::string &name) {
    return detail::read_string(json, "/" + escape_token(name));
}

// --- Typed results ---------------------------------------------------------------------------------

// passauth_register: identifiers and lifetimes, never a secret.
struct Registration {
    std::string client_id;
    std::optional<long long> client_id_issued_at;  // ms since the epoch (DCR sends seconds: converted)
    long long access_token_expires_at = 0;          // ms since the epoch
    bool registered = false;                        // a registration happened now
    bool token_fetched = false;                     // a token was fetched now
    std::string json;

    static Registration parse(const std::string &json) {
        Registration r;
        r.client_id = detail::read_string(json, "/clientId").value_or("");
        r.client_id_issued_at = detail::read_int64(json, "/clientIdIssuedAt");
        r.access_token_expires_at = detail::read_int64(json, "/accessTokenExpiresAt").value_or(0);
        r.registered = detail::read_bool(json, "/registered").value_or(false);
        r.token_fetched = detail::read_bool(json, "/tokenFetched").value_or(false);
        r.json = json;
        return r;
    }
};

// An authentication session (create, resume, get). `code` and `url` are "" when the answer has none
// (actionName "authorize": single sign-on, TempPass, degraded access).
struct Session {
    std::string action_name, action_type, reason_type;  // "authenticate", "interactive", "none"
    std::string code, url, mvpd, session_id, service_provider;
    std::vector<std::string> missing_parameters;
    std::optional<long long> not_before, not_after;      // the code's validity, ms since the epoch
    std::string json;

    static Session parse(const std::string &json) {
        Session s;
        s.action_name = detail::read_string(json, "/actionName").value_or("");
        s.action_type = detail::read_string(json, "/actionType").value_or("");
        s.reason_type = detail::read_string(json, "/reasonType").value_or("");
        s.code = detail::read_string(json, "/code").value_or("");
        s.url = detail::read_string(json, "/url").value_or("");
        s.mvpd = detail::read_string(json, "/mvpd").value_or("");
        s.session_id = detail::read_string(json, "/sessionId").value_or("");
        s.service_provider = detail::read_string(json, "/serviceProvider").value_or("");
        for (std::size_t i = 0, n = detail::read_count(json, "/missingParameters"); i < n; ++i)
            if (auto name = detail::read_string(json, "/missingParameters/" + std::to_string(i))) s.missing_parameters.push_back(*name);
        s.not_before = detail::read_int64(json, "/notBefore");
        s.not_after = detail::read_int64(json, "/notAfter");
        s.json = json;
        return s;
    }
};

// A profile attribute as the service sends it: {"value", "state": "plain"|"enc"}. `value` is the
// text of a string, number or boolean value (other shapes: read them from the profile's JSON).
struct Attribute {
    std::string value;
    std::string state;
};

struct Profile {
    std::string mvpd, issuer, type;                 // type: "regular", "appleSSO", "temporary"…
    long long not_before = 0, not_after = 0;        // ms since the epoch
    std::map<std::string, Attribute> attributes;

    // The profile at `at` (e.g. "/profiles/Spectrum") of a document.
    static Profile parse(const std::string &json, const std::string &at, std::string mvpd) {
        Profile p;
        p.mvpd = std::move(mvpd);
        p.issuer = detail::read_string(json, at + "/issuer").value_or("");
        p.type = detail::read_string(json, at + "/type").value_or("");
        p.not_before = detail::read_int64(json, at + "/notBefore").value_or(0);
        p.not_after = detail::read_int64(json, at + "/notAfter").value_or(0);
        for (const std::string &name : detail::Names::of(json, at + "/attributes")) {
            std::string base = at + "/attributes/" + escape_token(name);
            Attribute a;
            if (auto text = detail::read_string(json, base + "/value")) a.value = *text;
            else if (auto number = detail::read_int64(json, base + "/value")) a.value = std::to_string(*number);
            else if (auto flag = detail::read_bool(json, base + "/value")) a.value = *flag ? "true" : "false";
            a.state = detail::read_string(json, base + "/state").value_or("");
            p.attributes.emplace(name, std::move(a));
        }
        return p;
    }
};

// A profiles answer ({"profiles": {"<mvpd>": {...}}}): the profiles by MVPD, and the raw JSON.
struct Profiles : std::map<std::string, Profile> {
    std::string json;

    static Profiles parse(const std::string &json) {
        Profiles out;
        for (const std::string &mvpd : detail::Names::of(json, "/profiles"))
            out.emplace(mvpd, Profile::parse(json, "/profiles/" + escape_token(mvpd), mvpd));
        out.json = json;
        return out;
    }
};

struct MediaToken {
    std::string serialized;                   // for the Media Token Verifier: a secret, never log it
    long long not_before = 0, not_after = 0;  // ms since the epoch
};

// One resource's decision. A deny is a decision (authorized false, error_* set), not an exception.
struct Decision {
    std::string resource, service_provider, mvpd, source;  // source: "mvpd", "degradation", "temppass", "dummy"
    bool authorized = false;
    std::optional<MediaToken> media_token;                 // authorize permits only
    std::string error_code, error_message, error_action, error_details;  // denies only ("" otherwise)
    std::optional<long long> not_before, not_after;
};

// A decisions answer: the decisions in the order of the resources asked for, and the raw JSON.
struct Decisions : std::vector<Decision> {
    std::string json;

    static Decisions parse(const std::string &json) {
        Decisions out;
        for (std::size_t i = 0, n = detail::read_count(json, "/decisions"); i < n; ++i) {
            std::string at = "/decisions/" + std::to_string(i);
            Decision d;
            d.resource = detail::read_string(json, at + "/resource").value_or("");
            d.service_provider = detail::read_string(json, at + "/serviceProvider").value_or("");
            d.mvpd = detail::read_string(json, at + "/mvpd").value_or("");
            d.source = detail::read_string(json, at + "/source").value_or("");
            d.authorized = detail::read_bool(json, at + "/authorized").value_or(false);
            if (auto token = detail::read_string(json, at + "/token/serializedToken"))
                d.media_token = MediaToken{*token, detail::read_int64(json, at + "/token/notBefore").value_or(0),
                                           detail::read_int64(json, at + "/token/notAfter").value_or(0)};
            if (!d.authorized) {
                d.error_code = detail::read_string(json, at + "/error/code").value_or("");
                d.error_message = detail::read_string(json, at + "/error/message").value_or("");
                d.error_action = detail::read_string(json, at + "/error/action").value_or("");
                d.error_details = detail::read_string(json, at + "/error/details").value_or("");
            }
            d.not_before = detail::read_int64(json, at + "/notBefore");
            d.not_after = detail::read_int64(json, at + "/notAfter");
            out.push_back(std::move(d));
        }
        out.json = json;
        return out;
    }
};

// passauth_poll_info: what a poll is doing.
struct PollInfo {
    std::string code;
    bool pending = true;                     // "state": "pending" (false: "ended")
    std::optional<int> status;               // the final status once ended
    long long requests = 0;                  // made so far
    std::optional<long long> next_request_at, not_after;  // ms since the epoch
    long long interval_ms = 0, started_at = 0;
    std::optional<int> last_error_status;    // the last failure met, also transient ones
    std::string last_error_message;
    std::string json;

    static PollInfo parse(const std::string &json) {
        PollInfo i;
        i.code = detail::read_string(json, "/code").value_or("");
        i.pending = detail::read_string(json, "/state").value_or("pending") == "pending";
        if (auto s = detail::read_int64(json, "/status")) i.status = static_cast<int>(*s);
        i.requests = detail::read_int64(json, "/requests").value_or(0);
        i.next_request_at = detail::read_int64(json, "/nextRequestAt");
        i.not_after = detail::read_int64(json, "/notAfter");
        i.interval_ms = detail::read_int64(json, "/intervalMs").value_or(0);
        i.started_at = detail::read_int64(json, "/startedAt").value_or(0);
        if (auto s = detail::read_int64(json, "/lastError/status")) i.last_error_status = static_cast<int>(*s);
        i.last_error_message = detail::read_string(json, "/lastError/message").value_or("");
        i.json = json;
        return i;
    }
};

// passauth_qr_code: a module matrix; draw it with a light quiet zone of 4 modules around.
struct QrCode {
    int size = 0;
    int version = 0;
    std::string error_correction;
    std::vector<std::string> rows;  // `size` strings of `size` characters, '1' = dark
    std::string json;

    bool dark(int x, int y) const {
        return y >= 0 && y < size && x >= 0 && x < size && rows[static_cast<std::size_t>(y)][static_cast<std::size_t>(x)] == '1';
    }
};

inline std::string version() { return passauth_version(); }
inline int version_number() { return passauth_version_number(); }
inline std::string status_name(int status) { return passauth_status_name(status); }

// The QR code of `text` (e.g. a login URL), generated locally. Throws Error (empty or too long).
inline QrCode qr_code(const std::string &text) {
    char *out = nullptr;
    detail::check(passauth_qr_code(text.c_str(), &out));
    QrCode qr;
    qr.json = detail::take(out);
    qr.size = static_cast<int>(detail::read_int64(qr.json, "/size").value_or(0));
    qr.version = static_cast<int>(detail::read_int64(qr.json, "/version").value_or(0));
    qr.error_correction = detail::read_string(qr.json, "/errorCorrection").value_or("");
    for (int y = 0; y < qr.size; ++y) qr.rows.push_back(detail::read_string(qr.json, "/rows/" + std::to_string(y)).value_or(""));
    return qr;
}

namespace detail {
// {"mvpd", "profile"} of passauth_profile_pick(_for), or nullopt on PASSAUTH_E_NOT_FOUND.
inline std::optional<Profile> picked(int status, char *out) {
    if (status == PASSAUTH_E_NOT_FOUND) return std::nullopt;
    check(status);
    std::string json = take(out);
    return Profile::parse(json, "/profile", read_string(json, "/mvpd").value_or(""));
}
}  // namespace detail

// The valid profile with the latest notAfter, judged by the local clock (Client::profile_pick uses
// the service's time); std::nullopt when none is valid now.
inline std::optional<Profile> profile_pick(const Profiles &profiles) {
    char *out = nullptr;
    int status = passauth_profile_pick(profiles.json.c_str(), &out);
    return detail::picked(status, out);
}

// Called once when a poll ends: the status and the profiles answer (OK) or the error document.
using PollCallback = std::function<void(int status, const std::string &result_json)>;

// A log line: its level (PASSAUTH_LOG_ERROR 1 … PASSAUTH_LOG_TRACE 5) and text, already redacted.
using LogCallback = std::function<void(int level, std::string_view message)>;

// A poll for the profile behind a code (passauth_poll_*). Destroying it cancels the poll and waits
// until its callback is no longer running.
class Poll {
public:
    Poll(Poll &&other) noexcept : poll_(std::exchange(other.poll_, nullptr)), callback_(std::move(other.callback_)) {}
    Poll &operator=(Poll &&other) noexcept {
        if (this != &other) {
            reset();
            poll_ = std::exchange(other.poll_, nullptr);
            callback_ = std::move(other.callback_);
        }
        return *this;
    }
    Poll(const Poll &) = delete;
    Poll &operator=(const Poll &) = delete;
    ~Poll() { reset(); }

    // Blocks until the poll ends: the profiles, or throws Error (EXPIRED, CANCELLED, TIMEOUT…).
    Profiles wait() { return *wait_for(-1); }

    // Waits at most timeout_ms: the profiles, std::nullopt while the poll goes on (PASSAUTH_PENDING),
    // or throws Error when the poll ended in failure (PASSAUTH_E_TIMEOUT: the poll's own timeoutMs).
    std::optional<Profiles> wait_for(int timeout_ms) {
        char *out = nullptr;
        int status = passauth_poll_wait(poll_, timeout_ms, &out);
        if (status == PASSAUTH_PENDING) return std::nullopt;
        detail::check(status);
        return Profiles::parse(detail::take(out));
    }

    // What the poll is doing, without waiting.
    PollInfo info() const {
        char *out = nullptr;
        detail::check(passauth_poll_info(poll_, &out));
        return PollInfo::parse(detail::take(out));
    }

    // Ends the poll with PASSAUTH_E_CANCELLED unless it already ended. Any thread.
    void cancel() noexcept { passauth_poll_cancel(poll_); }

    passauth_poll *get() const noexcept { return poll_; }

private:
    friend class Client;
    Poll(passauth_poll *poll, std::unique_ptr<PollCallback> callback) : poll_(poll), callback_(std::move(callback)) {}

    static void trampoline(void *user_data, int status, const char *result_json) {
        try {
            (*static_cast<PollCallback *>(user_data))(status, result_json ? result_json : "");
        } catch (...) {
            // Exceptions must not cross the C library's threads.
        }
    }

    void reset() noexcept {
        passauth_poll_free(poll_);  // after this the library never calls the callback again
        poll_ = nullptr;
        callback_.reset();
    }

    passauth_poll *poll_ = nullptr;
    std::unique_ptr<PollCallback> callback_;
};

// A client (passauth_client): one service provider, one registration, any number of devices.
class Client {
public:
    explicit Client(const std::string &config_json) { detail::check(passauth_client_new(config_json.c_str(), &client_)); }
    Client(Client &&other) noexcept : client_(std::exchange(other.client_, nullptr)), logs_(std::move(other.logs_)) {}
    Client &operator=(Client &&other) noexcept {
        if (this != &other) {
            passauth_client_free(client_);
            client_ = std::exchange(other.client_, nullptr);
            logs_ = std::move(other.logs_);
        }
        return *this;
    }
    Client(const Client &) = delete;
    Client &operator=(const Client &) = delete;
    ~Client() { passauth_client_free(client_); }  // before logs_ goes: no line arrives after

    passauth_client *get() const noexcept { return client_; }

    // Sends the client's log lines to `callback` instead of stderr (nullptr: stderr again). It is called
    // on whatever thread logs, possibly concurrently; it must be quick. A replaced callback is kept
    // until the client is destroyed (a line already being delivered on another thread may still use it).
    void on_log(LogCallback callback) {
        if (!callback) {
            detail::check(passauth_set_log_callback(client_, nullptr, nullptr));
            return;
        }
        logs_.push_back(std::make_unique<LogCallback>(std::move(callback)));
        detail::check(passauth_set_log_callback(client_, &Client::log_trampoline, logs_.back().get()));
    }

    // passauth_register (register is a C++ keyword).
    Registration registration() {
        return Registration::parse(call([&](char **out) { return passauth_register(client_, out); }));
    }
    std::string stats() { return call([&](char **out) { return passauth_stats(client_, out); }); }

    std::string configuration(const std::string &device_json = "") {
        return call([&](char **out) { return passauth_configuration(client_, detail::optional(device_json), out); });
    }
    std::string mvpds(const std::string &filter_json = "", const std::string &device_json = "") {
        return call([&](char **out) {
            return passauth_mvpds(client_, detail::optional(device_json), detail::optional(filter_json), out);
        });
    }
    void mvpd_select(const std::string &mvpd_json, const std::string &device_json = "") {
        detail::check(passauth_mvpd_select(client_, detail::optional(device_json), mvpd_json.c_str()));
    }
    std::string mvpd_selected(const std::string &device_json = "") {
        return call([&](char **out) { return passauth_mvpd_selected(client_, detail::optional(device_json), out); });
    }

    Session session_create(const std::string &params_json = "", const std::string &device_json = "") {
        return Session::parse(call([&](char **out) {
            return passauth_session_create(client_, detail::optional(device_json), detail::optional(params_json), out);
        }));
    }
    Session session_resume(const std::string &code, const std::string &params_json = "", const std::string &device_json = "") {
        return Session::parse(call([&](char **out) {
            return passauth_session_resume(client_, detail::optional(device_json), code.c_str(),
                                           detail::optional(params_json), out);
        }));
    }
    Session session_get(const std::string &code, const std::string &device_json = "") {
        return Session::parse(call([&](char **out) {
            return passauth_session_get(client_, detail::optional(device_json), code.c_str(), out);
        }));
    }
    std::string authenticate_url(const std::string &code) {
        return call([&](char **out) { return passauth_authenticate_url(client_, code.c_str(), out); });
    }

    Profiles profiles(const std::string &device_json = "") {
        return Profiles::parse(call([&](char **out) { return passauth_profiles(client_, detail::optional(device_json), out); }));
    }
    Profiles profile_for_mvpd(const std::string &mvpd, const std::string &device_json = "") {
        return Profiles::parse(call([&](char **out) {
            return passauth_profile_for_mvpd(client_, detail::optional(device_json), mvpd.c_str(), out);
        }));
    }
    Profiles profile_for_code(const std::string &code, const std::string &device_json = "") {
        return Profiles::parse(call([&](char **out) {
            return passauth_profile_for_code(client_, detail::optional(device_json), code.c_str(), out);
        }));
    }
    Profiles profiles_stored(const std::string &device_json = "") {
        return Profiles::parse(call([&](char **out) { return passauth_profiles_stored(client_, detail::optional(device_json), out); }));
    }
    // The valid profile with the latest notAfter at the service's time; std::nullopt when none is valid.
    std::optional<Profile> profile_pick(const Profiles &profiles) {
        char *out = nullptr;
        int status = passauth_profile_pick_for(client_, profiles.json.c_str(), &out);
        return detail::picked(status, out);
    }

    // Starts polling `code` (options_json: {"intervalMs", "timeoutMs", "notAfter"}); the optional
    // callback runs once, on a library thread, when the poll ends.
    Poll poll(const std::string &code, const std::string &options_json = "", const std::string &device_json = "",
              PollCallback callback = nullptr) {
        std::unique_ptr<PollCallback> owned = callback ? std::make_unique<PollCallback>(std::move(callback)) : nullptr;
        passauth_poll *handle = nullptr;
        detail::check(passauth_poll_start(client_, detail::optional(device_json), code.c_str(),
                                          detail::optional(options_json), owned ? &Poll::trampoline : nullptr,
                                          owned.get(), &handle));
        return Poll(handle, std::move(owned));
    }

    // Content filtering only, never playback. resources_json: a JSON array of resource ids.
    Decisions preauthorize(const std::string &mvpd, const std::string &resources_json, const std::string &device_json = "") {
        return Decisions::parse(call([&](char **out) {
            return passauth_preauthorize(client_, detail::optional(device_json), mvpd.c_str(), resources_json.c_str(), out);
        }));
    }
    // Before every playback: one decision per resource, in order; a deny is a Decision, not an Error.
    Decisions authorize(const std::string &mvpd, const std::string &resources_json, const std::string &device_json = "") {
        return Decisions::parse(call([&](char **out) {
            return passauth_authorize(client_, detail::optional(device_json), mvpd.c_str(), resources_json.c_str(), out);
        }));
    }
    std::string logout(const std::string &mvpd, const std::string &redirect_url, const std::string &device_json = "") {
        return call([&](char **out) {
            return passauth_logout(client_, detail::optional(device_json), mvpd.c_str(), redirect_url.c_str(), out);
        });
    }

private:
    template <typename Call> static std::string call(Call c) {
        char *out = nullptr;
        detail::check(c(&out));
        return detail::take(out);
    }

    static void log_trampoline(void *user_data, int level, const char *message) {
        try {
            (*static_cast<LogCallback *>(user_data))(level, message ? std::string_view(message) : std::string_view());
        } catch (...) {
            // Exceptions must not cross the C library's threads.
        }
    }

    passauth_client *client_ = nullptr;
    std::vector<std::unique_ptr<LogCallback>> logs_;  // every callback ever set (see on_log)
};

}  // namespace passauth

#endif  // PASSAUTH_HPP
