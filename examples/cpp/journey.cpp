// journey.cpp — the Adobe Pass journey with the C++ wrapper (bindings/cpp/passauth.hpp).
//
//   cpp-journey <base-url> <store-dir>
//
// Build: c++ -std=c++17 journey.cpp $(pkg-config --cflags --libs passauth) -o cpp-journey
#include <passauth.hpp>

#include <iostream>

int main(int argc, char **argv) {
    if (argc != 3) {
        std::cerr << "usage: " << argv[0] << " <base-url> <store-dir>\n";
        return 2;
    }
    if (passauth::version_number() != PASSAUTH_VERSION_NUMBER)
        std::cerr << "[c++] note: built against passauth " PASSAUTH_VERSION_STRING ", running with " << passauth::version() << "\n";
    try {
        passauth::Client client(std::string(R"({"serviceProvider": "REF30", "logLevel": "warn", )") +
                                R"("softwareStatement": "eyJhbGciOiJSUzI1NiJ9.eyJzb2Z0d2FyZV9pZCI6ImRlbW8ifQ.c2lnbmF0dXJl", )" +
                                R"("device": {"id": "kitchen-tablet"}, "baseUrl": ")" + argv[1] + R"(", "store": ")" +
                                argv[2] + R"("})");
        // The library's warnings (retries, 429 waits…) go to the application's own log.
        client.on_log([](int level, std::string_view line) {
            std::cerr << "[c++] passauth log (" << level << "): " << line << "\n";
        });
        passauth::Registration registration = client.registration();
        std::cout << "[c++] registered: client " << registration.client_id
                  << (registration.registered ? " (new)" : " (stored)") << "\n";

        // A session for a second-screen login; the user opens the URL (or scans its QR code) and logs in.
        passauth::Session session = client.session_create(
            R"({"mvpd": "Spectrum", "domainName": "adobe.com", "redirectUrl": "https://adobe.com"})");
        passauth::QrCode qr = passauth::qr_code(session.url);
        std::cout << "[c++] code: " << session.code << "\n[c++] open " << session.url << " (QR code: " << qr.size << "x"
                  << qr.size << " modules)" << std::endl;

        passauth::Poll poll = client.poll(session.code);  // RAII: cancelled and freed at the end of scope
        std::optional<passauth::Profiles> profiles;
        while (!(profiles = poll.wait_for(1000)))         // std::nullopt: still waiting for the user
            ;
        std::optional<passauth::Profile> profile = client.profile_pick(*profiles);
        std::cout << "[c++] logged in with " << (profile ? profile->mvpd : "?") << "\n";

        for (const passauth::Decision &decision : client.authorize("Spectrum", R"(["REF30"])")) {
            if (decision.authorized)
                std::cout << "[c++] authorize " << decision.resource << ": permitted, media token valid for "
                          << (decision.media_token->not_after - decision.media_token->not_before) / 1000 << " s\n";
            else
                std::cout << "[c++] authorize " << decision.resource << ": denied (" << decision.error_code << "): "
                          << decision.error_message << "\n";
        }
        client.logout("Spectrum", "https://adobe.com");
        std::cout << "[c++] logged out\n";
    } catch (const passauth::Error &error) {
        std::cerr << "[c++] " << error.status_name() << ": " << error.what();
        if (!error.code().empty()) std::cerr << " (code " << error.code() << ", action " << error.action() << ")";
        std::cerr << "\n";
        return 1;
    }
    return 0;
}
