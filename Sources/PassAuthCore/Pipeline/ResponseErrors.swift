/// Turns an unsuccessful HTTP response into a typed error. One place decides what a status, a DCR
/// error or an enhanced error code means for the caller.
enum ResponseErrors {
    /// DCR error bodies (`{"error": "invalid_client"}`) mean the registration itself is at fault.
    static let dcrMessages: [String: String] = [
        "invalid_request": "the registration request was rejected as invalid",
        "invalid_redirect_uri": "the redirect URI is not valid for this software statement",
        "invalid_software_statement": "the software statement is invalid",
        "unapproved_software_statement": "the software statement is not approved for use by Adobe Pass",
        "invalid_client": "the client credentials are not valid (the client must register again)",
        "unauthorized_client": "the client is not authorized to use the client_credentials grant",
        "unsupported_grant_type": "the grant type is not supported",
    ]

    static func error(for response: HTTPResponse, endpoint: String, clock: ServiceClock? = nil) -> PassAuthError {
        let document = response.isJSON || response.body.first == UInt8(ascii: "{") ? try? JSON.parse(response.body) : nil
        var error: PassAuthError

        if let enhanced = document.flatMap(enhancedError) {
            error = enhanced
            error.status = status(forHTTP: response.status, action: error.action)
        } else if let code = document?["error"]?.stringValue, dcrMessages[code] != nil || endpoint == "register" || endpoint == "token" {
            error = PassAuthError(.registration, "\(endpoint): \(dcrMessages[code] ?? "registration failed") (\(code))")
            error.code = code
        } else {
            error = PassAuthError(status(forHTTP: response.status, action: nil), "\(endpoint): HTTP \(response.status)" + describe(response))
            error.bodyExcerpt = excerpt(response.body)
        }
        error.httpStatus = response.status
        error.endpoint = endpoint
        if response.status == 429 {
            error.retryAfterMs = max(1_000, retryAfterMs(response.retryAfter, date: response.date, clock: clock) ?? 1_000)
        } else if response.status == 503, let wait = retryAfterMs(response.retryAfter, date: response.date, clock: clock) {
            error.retryAfterMs = wait
        }
        return error
    }

    /// A top-level enhanced error body (`action`, `status`, `code`, `message` …), if that is what this is.
    static func enhancedError(_ document: JSON) -> PassAuthError? {
        guard let code = document["code"]?.stringValue, let action = document["action"]?.stringValue else { return nil }
        var error = PassAuthError(.service, document["message"]?.stringValue ?? code)
        error.code = code
        error.action = action
        error.details = document["details"]?.stringValue
        error.helpUrl = document["helpUrl"]?.stringValue
        error.trace = document["trace"]?.stringValue
        return error
    }

    static func status(forHTTP http: Int, action: String?) -> Status {
        switch http {
        case 401: return .unauthorized
        case 429: return .throttled
        default: return action == nil ? .http : .service
        }
    }

    /// Retry-After (RFC 9110 §10.2.3) as a wait in ms: delay-seconds, or an HTTP-date read against the
    /// answer's own Date (else the service's time as estimated), never negative, at most a day.
    static func retryAfterMs(_ header: String?, date: String?, clock: ServiceClock?) -> Int? {
        guard let text = header?.trimmingCharacters(in: " \t") else { return nil }
        let day: Int64 = 86_400_000
        if !text.isEmpty, text.utf8.count <= 12, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let seconds = Int64(text) {
            return Int(min(seconds * 1000, day))
        }
        guard let at = HTTPDate.milliseconds(text) else { return nil }
        let now = date.flatMap(HTTPDate.milliseconds) ?? clock?.nowMs() ?? Clock.nowMs()
        return Int(min(max(at - now, 0), day))
    }

    private static func describe(_ response: HTTPResponse) -> String {
        if (300..<400).contains(response.status) {
            return " (redirect to \(response.location ?? "?") not followed)"
        }
        return response.contentType.map { " (\($0))" } ?? ""
    }

    /// The first 200 characters of a body, printable ASCII only, for diagnostics. The body is already
    /// scrubbed of secrets (ResponseDecoder): scrub first, then cut, so no prefix of a secret straddling
    /// the cut can show.
    static func excerpt(_ body: [UInt8]) -> String? {
        guard !body.isEmpty else { return nil }
        let printable = body.prefix(200).map { (0x20..<0x7f).contains($0) ? Character(UnicodeScalar($0)) : "?" }
        return String(printable) + (body.count > 200 ? "…" : "")
    }
}
