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
    try {
        passauth::Client client(std::string(R"({"serviceProvider": "REF30", "logLevel": "error", )") +
                                R"("softwareStatement": "eyJhbGciOiJSUzI1NiJ9.eyJzb2Z0d2FyZV9pZCI6ImRlbW8ifQ.c2lnbmF0dXJl", )" +
                                R"("device": {"id": "kitchen-tablet"}, "baseUrl": ")" + argv[1] + R"(", "store": ")" +
                                argv[2] + R"("})");
        std::cout << "[c++] registered: client " << passauth::string_field(client.registration(), "clientId").value_or("?") << "\n";

        // A session for a second-screen login; the user opens the URL and logs in with Spectrum.
        std::string session = client.session_create(
            R"({"mvpd": "Spectrum", "domainName": "adobe.com", "redirectUrl": "https://adobe.com"})");
        std::string code = passauth::string_field(session, "code").value_or("");
        std::cout << "[c++] code: " << code << "\n[c++] open " << client.authenticate_url(code) << std::endl;

        passauth::Poll poll = client.poll(code);  // RAII: cancelled and freed at the end of scope
        poll.wait();
        std::cout << "[c++] logged in with " << passauth::string_field(passauth::profile_pick(client.profiles()), "mvpd").value_or("?") << "\n";

        std::string decisions = client.authorize("Spectrum", R"(["REF30"])");
        std::cout << "[c++] authorize REF30: "
                  << (decisions.find("\"authorized\": true") != std::string::npos || decisions.find("\"authorized\":true") != std::string::npos ? "permitted" : "denied") << "\n";
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
