// passauth.hpp — a header-only C++17 wrapper over the passauth C API (passauth.h).
//
//   passauth::Client client(R"({"serviceProvider": "REF30", "softwareStatement": "...", ...})");
//   std::string registration = client.registration();            // JSON text, as from the C API
//   passauth::Poll poll = client.poll(code);
//   std::string profiles = poll.wait();                            // throws passauth::Error on failure
//
// - RAII: Client and Poll own their C handle (move-only); results are std::string (JSON documents
//   or URLs), freed from the library's allocation for you.
// - Errors: every failing call throws passauth::Error, which carries the fields of
//   passauth_last_error(): status(), status_name(), code(), action(), http_status(),
//   retry_after_ms(), key(), and json() (the whole document). what() is the message.
// - Devices: `device_json` comes last in each method and defaults to "" = the client's default device
//   (NULL in the C API). Likewise "" means NULL for params/filter/options documents.
// - Thread-safety is that of the C API: a Client may be used from several threads at once.
//
// Link with -lpassauth (pkg-config --cflags --libs passauth). Nothing else: no JSON library is needed.
#ifndef PASSAUTH_HPP
#define PASSAUTH_HPP

#include <passauth.h>

#include <cstddef>
#include <cstdlib>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

namespace passauth {

namespace detail {

// A reader for the flat JSON object of passauth_last_error(): top-level string and integer members;
// nested values are skipped. Enough for the error fields, no dependency.
class FlatJson {
public:
    explicit FlatJson(const std::string &text) : text_(text) {}

    std::optional<std::string> string(const std::string &name) const {
        std::optional<std::string> found;
        scan([&](const std::string &key, std::size_t start) {
            std::size_t at = start;
            if (key == name && text_[at] == '"') found = read_string(at);
        });
        return found;
    }

    std::optional<long long> integer(const std::string &name) const {
        std::optional<long long> found;
        scan([&](const std::string &key, std::size_t start) {
            if (key == name && (text_[start] == '-' || (text_[start] >= '0' && text_[start] <= '9')))
                found = std::strtoll(text_.c_str() + start, nullptr, 10);
        });
        return found;
    }

private:
    const std::string &text_;

    void skip_space(std::size_t &at) const {
        while (at < text_.size() && (text_[at] == ' ' || text_[at] == '\n' || text_[at] == '\t' || text_[at] == '\r')) ++at;
    }

    static void append_utf8(std::string &out, unsigned long cp) {
        if (cp < 0x80) {
            out += static_cast<char>(cp);
        } else if (cp < 0x800) {
            out += static_cast<char>(0xC0 | (cp >> 6));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            out += static_cast<char>(0xE0 | (cp >> 12));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        } else {
            out += static_cast<char>(0xF0 | (cp >> 18));
            out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        }
    }

    unsigned long hex4(std::size_t at) const {
        if (at + 4 > text_.size()) return 0xFFFD;
        return std::strtoul(text_.substr(at, 4).c_str(), nullptr, 16);
    }

    // Reads the string starting at the opening quote; leaves `at` after the closing quote.
    std::string read_string(std::size_t &at) const {
        std::string out;
        ++at;
        while (at < text_.size() && text_[at] != '"') {
            char c = text_[at++];
            if (c != '\\' || at >= text_.size()) { out += c; continue; }
            char e = text_[at++];
            switch (e) {
            case 'n': out += '\n'; break;
            case 't': out += '\t'; break;
            case 'r': out += '\r'; break;
            case 'b': out += '\b'; break;
            case 'f': out += '\f'; break;
            case 'u': {
                unsigned long cp = hex4(at);
                at += 4;
                if (cp >= 0xD800 && cp < 0xDC00 && at + 6 <= text_.size() && text_[at] == '\\' && text_[at + 1] == 'u') {
                    unsigned long low = hex4(at + 2);
                    if (low >= 0xDC00 && low < 0xE000) {
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                        at += 6;
                    }
                }
                append_utf8(out, cp);
                break;
            }
            default: out += e; break;  // \" \\ \/
            }
        }
        ++at;
        return out;
    }

    // Skips any value (string, number, literal, nested object or array).
    void skip_value(std::size_t &at) const {
        skip_space(at);
        if (at >= text_.size()) return;
        if (text_[at] == '"') { read_string(at); return; }
        if (text_[at] == '{' || text_[at] == '[') {
            int depth = 0;
            while (at < text_.size()) {
                char c = text_[at];
                if (c == '"') { read_string(at); continue; }
                if (c == '{' || c == '[') ++depth;
                if (c == '}' || c == ']') { if (--depth == 0) { ++at; return; } }
                ++at;
            }
            return;
        }
        while (at < text_.size() && text_[at] != ',' && text_[at] != '}') ++at;
    }

    template <typename Visit> void scan(Visit visit) const {
        std::size_t at = 0;
        skip_space(at);
        if (at >= text_.size() || text_[at] != '{') return;
        ++at;
        while (true) {
            skip_space(at);
            if (at >= text_.size() || text_[at] != '"') return;
            std::string key = read_string(at);
            skip_space(at);
            if (at >= text_.size() || text_[at] != ':') return;
            ++at;
            skip_space(at);
            if (at >= text_.size()) return;
            visit(key, at);
            skip_value(at);
            skip_space(at);
            if (at >= text_.size() || text_[at] != ',') return;
            ++at;
        }
    }
};

// "" means NULL (the default) for optional JSON inputs.
inline const char *optional(const std::string &text) { return text.empty() ? nullptr : text.c_str(); }

// Takes ownership of a library-allocated string.
inline std::string take(char *text) {
    std::string out = text ? text : "";
    passauth_free(text);
    return out;
}

}  // namespace detail

// A failed call: the status and the fields of passauth_last_error() at the time of the failure.
class Error : public std::runtime_error {
public:
    Error(int status, std::string json)
        : std::runtime_error(message_of(json)), status_(status), json_(std::move(json)) {
        detail::FlatJson reader(json_);
        status_name_ = reader.string("statusName").value_or(passauth_status_name(status));
        code_ = reader.string("code").value_or("");
        action_ = reader.string("action").value_or("");
        key_ = reader.string("key").value_or("");
        http_status_ = static_cast<int>(reader.integer("httpStatus").value_or(0));
        retry_after_ms_ = reader.integer("retryAfterMs").value_or(0);
    }

    // The error of the calling thread's last failed passauth call.
    static Error last(int status) { return Error(status, passauth_last_error()); }

    int status() const noexcept { return status_; }                          // PASSAUTH_E_*
    const std::string &status_name() const noexcept { return status_name_; }  // "PASSAUTH_E_SERVICE"
    const std::string &code() const noexcept { return code_; }                // enhanced error code, "" if none
    const std::string &action() const noexcept { return action_; }            // "retry", "authentication"…, "" if none
    const std::string &key() const noexcept { return key_; }                  // the config/input key, "" if none
    int http_status() const noexcept { return http_status_; }                 // 0 when the service did not answer
    long long retry_after_ms() const noexcept { return retry_after_ms_; }     // 0 when not throttled
    const std::string &json() const noexcept { return json_; }                // the whole error document

private:
    static std::string message_of(const std::string &json) {
        return detail::FlatJson(json).string("message").value_or("passauth error");
    }

    int status_;
    std::string json_;
    std::string status_name_, code_, action_, key_;
    int http_status_ = 0;
    long long retry_after_ms_ = 0;
};

namespace detail {
inline void check(int status) {
    if (status != PASSAUTH_OK) throw Error::last(status);
}
}  // namespace detail

// A top-level string member of a JSON object ("code" of a session, "mvpd" of a picked profile…), or
// std::nullopt. A convenience for flat fields; use a JSON library for anything deeper.
inline std::optional<std::string> string_field(const std::string &json, const std::string &name) {
    return detail::FlatJson(json).string(name);
}

inline std::string version() { return passauth_version(); }
inline std::string status_name(int status) { return passauth_status_name(status); }

// The valid profile with the latest notAfter from a profiles answer: {"mvpd", "profile"}.
inline std::string profile_pick(const std::string &profiles_json) {
    char *out = nullptr;
    detail::check(passauth_profile_pick(profiles_json.c_str(), &out));
    return detail::take(out);
}

// Called once when a poll ends: the status and the profiles answer (OK) or the error document.
using PollCallback = std::function<void(int status, const std::string &result_json)>;

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

    // Blocks until the poll ends: the profiles answer, or throws Error (EXPIRED, CANCELLED, TIMEOUT…).
    std::string wait() {
        char *out = nullptr;
        detail::check(passauth_poll_wait(poll_, -1, &out));
        return detail::take(out);
    }

    // Waits at most timeout_ms: the profiles answer, std::nullopt if the poll is still running
    // (PASSAUTH_E_TIMEOUT), or throws Error when the poll ended in failure. (If the poll was started
    // with its own "timeoutMs", use wait(): its end is also PASSAUTH_E_TIMEOUT.)
    std::optional<std::string> wait_for(int timeout_ms) {
        char *out = nullptr;
        int status = passauth_poll_wait(poll_, timeout_ms, &out);
        if (status == PASSAUTH_PENDING) return std::nullopt;
        detail::check(status);
        return detail::take(out);
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
    Client(Client &&other) noexcept : client_(std::exchange(other.client_, nullptr)) {}
    Client &operator=(Client &&other) noexcept {
        if (this != &other) {
            passauth_client_free(client_);
            client_ = std::exchange(other.client_, nullptr);
        }
        return *this;
    }
    Client(const Client &) = delete;
    Client &operator=(const Client &) = delete;
    ~Client() { passauth_client_free(client_); }

    passauth_client *get() const noexcept { return client_; }

    // passauth_register (register is a C++ keyword).
    std::string registration() { return call([&](char **out) { return passauth_register(client_, out); }); }
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

    std::string session_create(const std::string &params_json = "", const std::string &device_json = "") {
        return call([&](char **out) {
            return passauth_session_create(client_, detail::optional(device_json), detail::optional(params_json), out);
        });
    }
    std::string session_resume(const std::string &code, const std::string &params_json = "",
                               const std::string &device_json = "") {
        return call([&](char **out) {
            return passauth_session_resume(client_, detail::optional(device_json), code.c_str(),
                                           detail::optional(params_json), out);
        });
    }
    std::string session_get(const std::string &code, const std::string &device_json = "") {
        return call([&](char **out) { return passauth_session_get(client_, detail::optional(device_json), code.c_str(), out); });
    }
    std::string authenticate_url(const std::string &code) {
        return call([&](char **out) { return passauth_authenticate_url(client_, code.c_str(), out); });
    }

    std::string profiles(const std::string &device_json = "") {
        return call([&](char **out) { return passauth_profiles(client_, detail::optional(device_json), out); });
    }
    std::string profile_for_mvpd(const std::string &mvpd, const std::string &device_json = "") {
        return call([&](char **out) {
            return passauth_profile_for_mvpd(client_, detail::optional(device_json), mvpd.c_str(), out);
        });
    }
    std::string profile_for_code(const std::string &code, const std::string &device_json = "") {
        return call([&](char **out) {
            return passauth_profile_for_code(client_, detail::optional(device_json), code.c_str(), out);
        });
    }
    std::string profiles_stored(const std::string &device_json = "") {
        return call([&](char **out) { return passauth_profiles_stored(client_, detail::optional(device_json), out); });
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

    std::string preauthorize(const std::string &mvpd, const std::string &resources_json,
                             const std::string &device_json = "") {
        return call([&](char **out) {
            return passauth_preauthorize(client_, detail::optional(device_json), mvpd.c_str(), resources_json.c_str(), out);
        });
    }
    std::string authorize(const std::string &mvpd, const std::string &resources_json, const std::string &device_json = "") {
        return call([&](char **out) {
            return passauth_authorize(client_, detail::optional(device_json), mvpd.c_str(), resources_json.c_str(), out);
        });
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

    passauth_client *client_ = nullptr;
};

}  // namespace passauth

#endif  // PASSAUTH_HPP
