/// The status codes of the C contract (`passauth_status` in Include/passauth.h). Values are part of
/// the ABI: never renumber, only append.
package enum Status: Int32, Sendable, CaseIterable {
    /// passauth_poll_wait only: the wait ended and the poll goes on. Not a failure.
    case pending = 1
    case ok = 0
    case invalidArgument = -1
    case transport = -2
    case timeout = -3
    case http = -4
    case service = -5
    case unauthorized = -6
    case throttled = -7
    case `protocol` = -8
    case expired = -9
    case cancelled = -10
    case registration = -11
    case store = -12
    case `internal` = -13
    case notFound = -14

    package var name: String {
        switch self {
        case .pending: return "PASSAUTH_PENDING"
        case .ok: return "PASSAUTH_OK"
        case .invalidArgument: return "PASSAUTH_E_INVALID_ARGUMENT"
        case .transport: return "PASSAUTH_E_TRANSPORT"
        case .timeout: return "PASSAUTH_E_TIMEOUT"
        case .http: return "PASSAUTH_E_HTTP"
        case .service: return "PASSAUTH_E_SERVICE"
        case .unauthorized: return "PASSAUTH_E_UNAUTHORIZED"
        case .throttled: return "PASSAUTH_E_THROTTLED"
        case .protocol: return "PASSAUTH_E_PROTOCOL"
        case .expired: return "PASSAUTH_E_EXPIRED"
        case .cancelled: return "PASSAUTH_E_CANCELLED"
        case .registration: return "PASSAUTH_E_REGISTRATION"
        case .store: return "PASSAUTH_E_STORE"
        case .internal: return "PASSAUTH_E_INTERNAL"
        case .notFound: return "PASSAUTH_E_NOT_FOUND"
        }
    }
}

/// Every failure of the core. `asJSON` is what `passauth_last_error()` returns; messages are built
/// from non-secret facts only, and `Redactor` scrubs anything echoed back by the server.
package struct PassAuthError: Error, Sendable {
    package var status: Status
    package var message: String
    package var httpStatus: Int? = nil
    /// Enhanced error code (`authorization_denied_by_mvpd`…) or DCR error (`invalid_client`…).
    package var code: String? = nil
    package var action: String? = nil
    package var details: String? = nil
    package var helpUrl: String? = nil
    package var trace: String? = nil
    package var retryAfterMs: Int? = nil
    /// The config or input key a validation error is about.
    package var key: String? = nil
    /// The service endpoint the failure came from (`register`, `configuration`…).
    package var endpoint: String? = nil
    /// A short excerpt of a non-JSON or unexpected response body.
    package var bodyExcerpt: String? = nil

    package init(_ status: Status, _ message: String, key: String? = nil) {
        self.status = status
        self.message = message
        self.key = key
    }

    package static func invalid(_ message: String, key: String? = nil) -> PassAuthError {
        PassAuthError(.invalidArgument, message, key: key)
    }

    package var asJSON: JSON {
        var members: [(String, JSON)] = [
            ("status", .int(Int64(status.rawValue))),
            ("statusName", .string(status.name)),
            ("message", .string(message)),
        ]
        func add(_ name: String, _ value: String?) { if let value { members.append((name, .string(value))) } }
        func add(_ name: String, _ value: Int?) { if let value { members.append((name, .int(Int64(value)))) } }
        add("httpStatus", httpStatus)
        add("code", code)
        add("action", action)
        add("details", details)
        add("helpUrl", helpUrl)
        add("trace", trace)
        add("retryAfterMs", retryAfterMs)
        add("key", key)
        add("endpoint", endpoint)
        add("body", bodyExcerpt)
        return .object(members)
    }

    /// The error `asJSON` wrote (a fleet poll's failure, read back from its Redis record); nil when the
    /// document is not one.
    package init?(json: JSON) {
        guard let raw = json["status"]?.int64Value, let status = Status(rawValue: Int32(clamping: raw)), status != .ok,
              let message = json["message"]?.stringValue else { return nil }
        self.init(status, message, key: json["key"]?.stringValue)
        httpStatus = json["httpStatus"]?.int64Value.map { Int(clamping: $0) }
        code = json["code"]?.stringValue
        action = json["action"]?.stringValue
        details = json["details"]?.stringValue
        helpUrl = json["helpUrl"]?.stringValue
        trace = json["trace"]?.stringValue
        retryAfterMs = json["retryAfterMs"]?.int64Value.map { Int(clamping: $0) }
        endpoint = json["endpoint"]?.stringValue
        bodyExcerpt = json["body"]?.stringValue
    }

    /// The same error with every known secret replaced by a marker.
    package func redacted(by redactor: Redactor) -> PassAuthError {
        var copy = self
        copy.message = redactor.scrub(message)
        copy.code = code.map(redactor.scrub)
        copy.action = action.map(redactor.scrub)
        copy.details = details.map(redactor.scrub)
        copy.helpUrl = helpUrl.map(redactor.scrub)
        copy.trace = trace.map(redactor.scrub)
        copy.bodyExcerpt = bodyExcerpt.map(redactor.scrub)
        return copy
    }
}
