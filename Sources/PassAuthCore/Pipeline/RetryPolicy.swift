/// Which failed calls are tried again, when, and how often — in one place, for every REST API V2 call
/// (Service.call). Adobe's checklist: follow the enhanced error's `action`, retry only what warrants
/// it, at most 2–3 times, never in a loop; after a 429 wait at least one second.
///
/// - `action: "retry"`, and HTTP 5xx or a transport failure without an action that says otherwise
///   (`none` or absent): retried after an exponential backoff with jitter.
/// - 429: the device's next request waits (ThrottleGate) at least 1 s, or Retry-After if longer, then
///   the call is tried again.
/// - `application-registration` on a status other than 401: the client registers again, once, and the
///   call is tried again. (A 401 is Service's own refresh-once path.)
/// - Everything else — `authentication`, `authorization`, `configuration`, `none` on a 4xx, a
///   timeout (the call already used its whole budget), invalid input, a malformed answer — is
///   surfaced to the caller at once. A deny is an item inside a 200 answer and never reaches here.
/// - At most `maxAttempts` attempts in all, whatever the mix of reasons.
public struct RetryPolicy: Sendable {
    public var maxAttempts = 3
    /// Backoff before attempt n+1 is base·2^(n-1), capped, with "equal jitter": a random value in
    /// [d/2, d], so concurrent clients spread out but never retry immediately.
    public var baseDelayMs = 200
    public var maxDelayMs = 2_000
    /// The least wait after a 429 (throttling-mechanism.md).
    public var throttleWaitMs = 1_000

    public init() {}

    public enum Verdict: Equatable, Sendable {
        case surface
        case retry(afterMs: Int)
        case reregister
    }

    /// What to do after attempt number `attempt` (1-based) failed with `error`.
    /// `timeoutMs` bounds any wait: a retry that would have to wait longer is not made.
    public func verdict(for error: PassAuthError, attempt: Int, reregistered: Bool, timeoutMs: Int) -> Verdict {
        guard attempt < maxAttempts else { return .surface }
        if error.status == .throttled {
            // The wait itself happens in ThrottleGate before the next request for this device.
            return .retry(afterMs: 0)
        }
        if error.action == "application-registration" && error.httpStatus != 401 {
            return reregistered ? .surface : .reregister
        }
        guard isRetryable(error) else { return .surface }
        let delay = max(backoffMs(afterAttempt: attempt), error.retryAfterMs ?? 0)
        return delay > timeoutMs ? .surface : .retry(afterMs: delay)
    }

    public func isRetryable(_ error: PassAuthError) -> Bool {
        if let action = error.action {
            if action == "retry" { return true }
            return action == "none" && (error.httpStatus ?? 0) >= 500
        }
        if error.status == .transport { return true }
        if let http = error.httpStatus, http >= 500, http < 600 { return true }
        return false
    }

    /// The delay before the attempt that follows attempt `attempt`, jittered within [d/2, d].
    public func backoffMs(afterAttempt attempt: Int, random: (ClosedRange<Int>) -> Int = { Int.random(in: $0) }) -> Int {
        let exponent = min(max(attempt - 1, 0), 16)
        let ceiling = min(baseDelayMs << exponent, maxDelayMs)
        return random((ceiling / 2)...ceiling)
    }

    /// Requests are throttled per device IP; without one (client-to-server) per device id.
    static func deviceKey(_ device: Device) -> String { device.ip ?? device.id ?? "" }

    /// How long the next request for a device must wait after a 429 with this Retry-After.
    func throttleWait(retryAfterMs: Int?) -> Int { max(throttleWaitMs, retryAfterMs ?? 0) }
}
