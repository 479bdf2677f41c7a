/// What to do about a failed exchange, decided in one place for blocking calls and polls alike
/// (Adobe's checklist and the enhanced error codes page, "Response handling": follow the `action`,
/// retry only what warrants it, at most 2–3 times, never in a loop; after a 429 wait at least one
/// second; a 401 refreshes the token once).
///
/// `classify` is a pure function of the error: the table the tests check. What each caller does with
/// the class differs only by its budget: a blocking call retries a transient failure while it has
/// attempts (`maxAttempts`) and time (`timeoutMs` covers the whole call) left; a poll slows down and
/// goes on until its own deadline.
package struct RetryPolicy: Sendable {
    package var maxAttempts = 3
    /// Backoff before attempt n+1 is base·2^(n-1), capped, with "equal jitter": a random value in
    /// [d/2, d], so concurrent clients spread out but never retry immediately.
    package var baseDelayMs = 200
    package var maxDelayMs = 2_000
    /// The least wait after a 429 (throttling-mechanism.md).
    package var throttleWaitMs = 1_000

    package init() {}

    package enum Disposition: Equatable, Sendable {
        /// Try again after a backoff, or after `afterMs` when the service said so (Retry-After).
        case transient(afterMs: Int?)
        /// 429: the device's next request waits `afterMs` (at least one second).
        case throttled(afterMs: Int)
        /// 401: refresh the access token once and retry once.
        case refreshToken
        /// The service asks for a new client registration (other than a 401).
        case reregister
        /// The authentication code is unknown or expired: a poll ends with PASSAUTH_E_EXPIRED.
        case expired
        /// Return the error to the caller: the user must act (log in, subscribe), the integration
        /// must be fixed, or the request itself was wrong.
        case surface
    }

    /// The class of `error`, from the HTTP status and the enhanced error `action` (the action decides
    /// when there is one: a 5xx with action "authentication" asks for a login, not for a retry).
    package func classify(_ error: PassAuthError) -> Disposition {
        if error.status == .throttled { return .throttled(afterMs: throttleWait(retryAfterMs: error.retryAfterMs)) }
        if error.httpStatus == 401 { return .refreshToken }
        if let code = error.code, RetryPolicy.expiredCodes.contains(code) { return .expired }
        if error.httpStatus == 410 { return .expired }
        switch error.action {
        case "application-registration"?: return .reregister
        case "retry"?: return .transient(afterMs: error.retryAfterMs)
        case "none"?, nil:
            switch error.status {
            case .transport, .timeout: return .transient(afterMs: nil)
            case .http, .service:
                return (500..<600).contains(error.httpStatus ?? 0) ? .transient(afterMs: error.retryAfterMs) : .surface
            default: return .surface
            }
        default:
            return .surface
        }
    }

    /// Codes meaning the authentication code itself is gone.
    static let expiredCodes: Set<String> = ["invalid_authentication_session", "authentication_session_expired"]

    /// Codes meaning the device's profile for the MVPD is gone: the stored profile and its cached
    /// permits are dropped wherever they appear (top-level or item-level, any call).
    package static let profileGoneCodes: Set<String> = [
        "authenticated_profile_missing", "authenticated_profile_expired", "authenticated_profile_invalidated",
    ]

    /// What a blocking call does after attempt number `attempt` (1-based) failed with `error`, with
    /// `remainingMs` of its budget left: `.retry(afterMs:)`, `.reregister`, or `.surface`. (A 401 is
    /// handled inside the attempt: refresh once, retry once.)
    package enum Verdict: Equatable, Sendable {
        case surface
        case retry(afterMs: Int)
        case reregister
    }

    package func verdict(for error: PassAuthError, attempt: Int, reregistered: Bool, remainingMs: Int) -> Verdict {
        guard attempt < maxAttempts else { return .surface }
        switch classify(error) {
        case .throttled(let wait):
            return wait <= remainingMs ? .retry(afterMs: wait) : .surface
        case .reregister:
            return reregistered ? .surface : .reregister
        case .transient(let after):
            let delay = max(backoffMs(afterAttempt: attempt), after ?? 0)
            return delay < remainingMs ? .retry(afterMs: delay) : .surface
        case .refreshToken, .expired, .surface:
            return .surface
        }
    }

    /// The next interval of a poll after a failure of class `disposition`, from its current
    /// interval; nil when the poll must end with the error (a 401 is renewed by the caller first).
    package func pollInterval(after disposition: Disposition, currentMs: Int, maximumMs: Int) -> Int? {
        switch disposition {
        case .transient(let after):
            // Slow down, never hammer: half as long again each time, up to the maximum.
            return min(max(currentMs * 3 / 2, after ?? 0), maximumMs)
        case .throttled(let wait):
            return min(max(currentMs * 3 / 2, wait), max(maximumMs, wait))
        case .refreshToken:
            return currentMs
        case .reregister, .expired, .surface:
            // A re-registration takes two requests: the next blocking call makes it, not the poller.
            return nil
        }
    }

    /// The delay before the attempt that follows attempt `attempt`, jittered within [d/2, d].
    package func backoffMs(afterAttempt attempt: Int, random: (ClosedRange<Int>) -> Int = { Int.random(in: $0) }) -> Int {
        let exponent = min(max(attempt - 1, 0), 16)
        let ceiling = min(baseDelayMs << exponent, maxDelayMs)
        return random((ceiling / 2)...ceiling)
    }

    /// Requests are throttled per device IP; without one (client-to-server) per device id.
    static func deviceKey(_ device: Device) -> String { device.ip ?? device.id ?? "" }

    /// How long the next request for a device must wait after a 429 with this Retry-After.
    func throttleWait(retryAfterMs: Int?) -> Int { max(throttleWaitMs, retryAfterMs ?? 0) }
}
