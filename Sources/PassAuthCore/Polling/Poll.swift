import Glibc

/// How a poll ended: a profile (`.ok` with the profiles-by-code answer, kept as its text: tens of
/// thousands of ended polls may wait for their callers) or a failure.
package struct PollOutcome: Sendable {
    package let status: Status
    package let result: Answer?
    package let error: PassAuthError?
}

package typealias PollCallback = @Sendable (PollOutcome) -> Void

/// What runs a poll (Poller, or FleetPoller with a Redis store): told once when the poll has ended.
protocol PollOwner: AnyObject {
    func ended(_ poll: Poll)
}

/// One code being polled for a profile. Shared between the caller's handle and the poller; it ends
/// exactly once, and the callback fires exactly once with that outcome.
package final class Poll: @unchecked Sendable {
    let code: String
    let device: Device
    let baseIntervalMs: Int
    /// Monotonic deadline from the caller's `timeoutMs`, if any.
    let deadline: Int64?

    // Guarded by `monitor`.
    private let monitor = Monitor()
    private var outcome: PollOutcome?
    private var callback: PollCallback?
    private var callbackThread: pthread_t?

    /// What passauth_poll_info reports, written by the poller's threads.
    struct Progress {
        var requests = 0
        /// Wall-clock ms of the next request, while one is scheduled.
        var nextRequestAt: Int64?
        var intervalMs: Int
        var notAfter: Int64?
        var lastError: PassAuthError?
        /// Fleet polls: the instance that made the last request (FleetEvents.instance).
        var instance: String?
    }
    let startedAt = Clock.nowMs()
    private let progress: Locked<Progress>

    // The poller's scheduling thread's own once the poll is started.
    /// The code's expiry (wall-clock ms), once known.
    var notAfter: Int64?
    var intervalMs: Int
    /// A 401 renewed the access token since the last answer (the checklist's refresh-once rule).
    var renewedToken = false
    weak var poller: (any PollOwner)?

    init(code: String, device: Device, intervalMs: Int, deadline: Int64?, notAfter: Int64?, callback: PollCallback?) {
        self.code = code
        self.device = device
        baseIntervalMs = intervalMs
        self.intervalMs = intervalMs
        self.deadline = deadline
        self.notAfter = notAfter
        self.callback = callback
        progress = Locked(Progress(intervalMs: intervalMs, notAfter: notAfter))
    }

    func noteScheduled(inMs delay: Int64) {
        let (interval, expiry) = (intervalMs, notAfter)
        progress.withLock {
            $0.nextRequestAt = Clock.nowMs().addingSaturated(delay)
            $0.intervalMs = interval
            $0.notAfter = expiry
        }
    }

    func noteRequest() { progress.withLock { $0.requests += 1; $0.nextRequestAt = nil } }

    func noteFailure(_ error: PassAuthError) { progress.withLock { $0.lastError = error } }

    /// A fleet poll's progress as its record shows it: requests made by every instance, the instance that
    /// made the last one, the next one's time (wall-clock ms; nil while one is in flight or unknown).
    func noteFleet(requests: Int, instance: String?, nextRequestAt: Int64?, intervalMs: Int, notAfter: Int64?) {
        progress.withLock {
            $0.requests = max($0.requests, requests)
            if let instance { $0.instance = instance }
            $0.nextRequestAt = nextRequestAt
            $0.intervalMs = intervalMs
            if let notAfter { $0.notAfter = notAfter }
        }
    }

    /// passauth_poll_info's document.
    package var info: JSON {
        let snapshot = progress.withLock { $0 }
        let ended = monitor.withLock { outcome?.status }
        var members: [(String, JSON)] = [("code", .string(code)), ("state", .string(ended == nil ? "pending" : "ended"))]
        if let ended { members.append(("status", .int(Int64(ended.rawValue)))) }
        members.append(("requests", .int(Int64(snapshot.requests))))
        if ended == nil, let next = snapshot.nextRequestAt { members.append(("nextRequestAt", .int(next))) }
        members += [("intervalMs", .int(Int64(snapshot.intervalMs))), ("startedAt", .int(startedAt))]
        if let notAfter = snapshot.notAfter { members.append(("notAfter", .int(notAfter))) }
        if let error = snapshot.lastError { members.append(("lastError", error.asJSON)) }
        if let instance = snapshot.instance { members.append(("instance", .string(instance))) }
        return .object(members)
    }

    package var isFinished: Bool { monitor.withLock { outcome != nil } }

    /// Ends the poll unless it already ended; runs the callback outside any lock. Returns false when
    /// the poll had already ended.
    @discardableResult
    func finish(_ status: Status, result: Answer? = nil, error: PassAuthError? = nil) -> Bool {
        let ending = PollOutcome(status: status, result: result, error: error)
        let (won, callback): (Bool, PollCallback?) = monitor.withLock {
            guard outcome == nil else { return (false, nil) }
            outcome = ending
            let taken = self.callback
            self.callback = nil
            if taken != nil { callbackThread = pthread_self() }
            monitor.broadcast()
            return (true, taken)
        }
        guard won else { return false }
        poller?.ended(self)
        if let callback {
            callback(ending)
            monitor.withLock {
                callbackThread = nil
                monitor.broadcast()
            }
        }
        return true
    }

    /// Blocks until the poll ends or `timeoutMs` passes (negative: until it ends). nil on timeout.
    package func wait(timeoutMs: Int) -> PollOutcome? {
        let deadline = timeoutMs < 0 ? nil : Clock.monotonicMs() + Int64(timeoutMs)
        return monitor.withLock {
            while outcome == nil {
                if let deadline, Clock.monotonicMs() >= deadline { return nil }
                monitor.wait(until: deadline)
            }
            return outcome
        }
    }

    /// Ends the poll with PASSAUTH_E_CANCELLED (no-op when it already ended). Any thread.
    package func cancel() {
        finish(.cancelled, error: PassAuthError(.cancelled, "the poll for code \(code) was cancelled"))
    }

    /// What `passauth_poll_free` does: cancel, then make sure the callback is not running on another
    /// thread, so the caller may free `user_data` as soon as this returns.
    package func release() {
        cancel()
        monitor.withLock {
            while let thread = callbackThread, pthread_equal(thread, pthread_self()) == 0 {
                monitor.wait(until: nil)
            }
        }
    }
}
