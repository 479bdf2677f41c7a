/// The authentication phase's session calls: create, resume, retrieve, and the user-agent URL.
extension Client {
    /// `POST /api/v2/{sp}/sessions` with whichever of mvpd / domainName / redirectUrl the caller has.
    /// A new code supersedes any code this device was polling (checklist: stop polling the old one).
    package func createSession(device: Device, parameters: SessionParameters) throws(PassAuthError) -> Answer {
        try adopting(service.call(.sessionCreate, body: .form(parameters.form), device: device), for: device)
    }

    /// A new session answer: its URL made absolute, and its code, if any, the device's newest (polls
    /// of older codes end).
    func adopting(_ session: Answer, for device: Device) -> Answer {
        resolvingURL(session)
        if let code = session.node["code"]?.string {
            polls.started(code: code, notAfter: session.node["notAfter"]?.int64, for: device)
        }
        return session
    }

    /// `POST /api/v2/{sp}/sessions/{code}`: supplies the parameters a session reported missing. Also
    /// the checklist's way to validate a code typed on a second screen that has a preselected MVPD.
    package func resumeSession(device: Device, code: String, parameters: SessionParameters) throws(PassAuthError) -> Answer {
        let code = try AuthenticationCode.validated(code)
        let answer = try service.call(.sessionResume, argument: code, body: .form(parameters.form), device: device)
        resolvingURL(answer)
        return answer
    }

    /// `GET /api/v2/{sp}/sessions/{code}`: the session behind a code (validates a typed-in code).
    package func session(device: Device, code: String) throws(PassAuthError) -> Answer {
        let code = try AuthenticationCode.validated(code)
        let answer = try service.call(.sessionGet, argument: code, device: device)
        resolvingURL(answer)
        return answer
    }

    /// The URL a user agent (this screen's browser or a second-screen app) opens to log in with the MVPD:
    /// `{base}/api/v2/authenticate/{sp}/{code}`. No request is made.
    package func authenticateURL(code: String) throws(PassAuthError) -> String {
        let code = try AuthenticationCode.validated(code)
        return "\(config.baseURL)/api/v2/authenticate/\(service.serviceProvider)/\(URLEncoding.segment(code))"
    }

    /// Session and logout answers may carry a path (`/api/v2/authenticate/REF30/8ER640M`) as "url";
    /// callers always get an absolute URL they can hand to a user agent.
    func resolvingURL(_ answer: Answer) {
        guard let url = answer.node["url"]?.string, url.hasPrefix("/") else { return }
        answer.edit { $0.set("url", .string(config.baseURL + url)) }
    }
}

/// The body parameters of create / resume session (`params_json`): any of mvpd, domainName, redirectUrl.
package struct SessionParameters: Sendable {
    var form: [(String, String)] = []

    package init(json: JSON?) throws(PassAuthError) {
        guard let json else { return }
        guard case .object(let members) = json else { throw .invalid("params_json must be an object", key: "params_json") }
        for (key, value) in members {
            guard ["mvpd", "domainName", "redirectUrl"].contains(key) else {
                throw .invalid("unknown key 'params_json.\(key)' (expected mvpd, domainName, redirectUrl)", key: "params_json.\(key)")
            }
            guard let text = value.stringValue, !text.isEmpty else {
                throw .invalid("params_json.\(key) must be a non-empty string", key: "params_json.\(key)")
            }
            form.append((key, text))
        }
    }
}

/// Authentication codes are short alphanumeric strings (`8ER640M`). Checking the shape before any
/// request turns a mistyped code into a clear error and keeps arbitrary text out of URLs.
enum AuthenticationCode {
    static func validated(_ raw: String) throws(PassAuthError) -> String {
        let code = raw.trimmingCharacters(in: " \t\r\n")
        let valid = (1...64).contains(code.utf8.count) && code.utf8.allSatisfy { byte in
            (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
        }
        guard valid else { throw .invalid("'\(String(code.prefix(80)))' is not an authentication code (1-64 letters and digits)", key: "code") }
        return code
    }
}
