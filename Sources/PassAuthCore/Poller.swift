import Glibc

/// Polls codes for profiles on a small fixed set of threads. Each poll has its own cadence (never
/// below 3 s, the checklist's floor) and ends on a profile, on the code's notAfter, on cancel, on a
/// newer code for the same device, on the caller's timeout, or on a non-retryable error. Transient
/// failures and 429s slow a poll down instead of ending it.
public final class Poller: @unchecked Sendable {
    public static let minimumIntervalMs = 3_000
    static let maximumBackoffMs = 30_000
    /// Codes whose expiry the service did not state are polled for at most this long.
    static let defaultCodeLifetimeMs: Int64 = 30 * 60_000
    static let workerCount = 2

    typealias Fetch = @Sendable (Device, String) throws(PassAuthError) -> JSON

    // Guarded by `monitor`.
    private let monitor = Monitor()
    private var heap = TimerHeap<Poll>()
    /// notAfter of codes seen in passauth_session_create, for polls started without one. Bounded:
    /// expired codes go first, then those closest to expiry (`maxKnownExpiries`).
    private var knownExpiry: [String: Int64] = [:]
    static let maxKnownExpiries = 10_000
    private var workers: [pthread_t] = []
    private var stopping = false
    private var fetchProfile: Fetch?
    private var fetchSession: Fetch?

    init() {}

    func attach(profile: @escaping Fetch, session: @escaping Fetch) {
        monitor.withLock {
            fetchProfile = profile
            fetchSession = session
        }
    }

    /// A session was created for `device` with `code`: remembers its expiry and ends any poll of an
    /// older code of the same device at once.
    func started(code: String, notAfter: Int64?, for device: Device) {
        let superseded: [Poll] = monitor.withLock {
            if let notAfter { rememberExpiryLocked(code: code, notAfter: notAfter) }
            return heap.items.filter { $0.device.stateKey == device.stateKey && $0.code != code }
        }
        for poll in superseded {
            if poll.finish(.cancelled, error: PassAuthError(.cancelled, "a newer authentication code was started for this device")) {
                forget(poll)
            }
        }
    }

    public func start(code: String, device: Device, intervalMs: Int, timeoutMs: Int?, notAfter: Int64?,
                      callback: PollCallback?) throws(PassAuthError) -> Poll {
        let poll = Poll(code: code, device: device, intervalMs: max(intervalMs, Poller.minimumIntervalMs),
                        deadline: timeoutMs.map { Clock.monotonicMs() + Int64($0) }, notAfter: notAfter, callback: callback)
        poll.poller = self
        let superseded: [Poll] = try monitor.withLock { () throws(PassAuthError) -> [Poll] in
            guard !stopping else { throw PassAuthError(.invalidArgument, "the client is being freed") }
            if poll.notAfter == nil { poll.notAfter = knownExpiry[code] }
            try startWorkersLocked()
            // Starting a poll for a code is also "a newer code for this device" when it differs.
            let older = heap.items.filter { $0.device.stateKey == device.stateKey && $0.code != code }
            // The first profile request waits one interval (the user needs time to log in); a code of
            // unknown expiry is looked up at once (and validated) through the sessions API.
            let firstDue = Clock.monotonicMs() + (poll.notAfter == nil ? 0 : Int64(poll.intervalMs))
            heap.insert(poll, due: firstDue)
            monitor.broadcast()
            return older
        }
        for old in superseded where old.finish(.cancelled, error: PassAuthError(.cancelled, "a newer authentication code was started for this device")) {
            forget(old)
        }
        return poll
    }

    private func rememberExpiryLocked(code: String, notAfter: Int64) {
        if knownExpiry.count >= Poller.maxKnownExpiries, knownExpiry[code] == nil {
            let now = Clock.nowMs()
            knownExpiry = knownExpiry.filter { $0.value > now }
            if knownExpiry.count >= Poller.maxKnownExpiries {
                let excess = knownExpiry.count - Poller.maxKnownExpiries * 9 / 10
                for (stale, _) in knownExpiry.sorted(by: { $0.value < $1.value }).prefix(excess) { knownExpiry[stale] = nil }
            }
        }
        knownExpiry[code] = notAfter
    }

    var knownExpiryCount: Int { monitor.withLock { knownExpiry.count } }

    /// Drops an ended poll from the schedule.
    func forget(_ poll: Poll) {
        monitor.withLock {
            heap.remove(poll)
            monitor.broadcast()
        }
    }

    /// Ends every poll (PASSAUTH_E_CANCELLED) and stops the threads; joins them unless called on one.
    func shutdown() {
        let (polls, threads): ([Poll], [pthread_t]) = monitor.withLock {
            stopping = true
            let polls = heap.items
            heap = TimerHeap()
            let threads = workers
            workers = []
            monitor.broadcast()
            return (polls, threads)
        }
        for poll in polls { poll.finish(.cancelled, error: PassAuthError(.cancelled, "the client was freed")) }
        for thread in threads {
            if pthread_equal(thread, pthread_self()) != 0 { pthread_detach(thread) } else { pthread_join(thread, nil) }
        }
    }

    // MARK: - Worker threads

    private func startWorkersLocked() throws(PassAuthError) {
        guard workers.isEmpty else { return }
        for _ in 0..<Poller.workerCount {
            var thread = pthread_t()
            let context = Unmanaged.passRetained(self).toOpaque()
            let result = pthread_create(&thread, nil, { context in
                let poller = Unmanaged<Poller>.fromOpaque(context!).takeRetainedValue()
                poller.work()
                return nil
            }, context)
            guard result == 0 else {
                Unmanaged<Poller>.fromOpaque(context).release()
                throw PassAuthError(.internal, "cannot start a poller thread (error \(result))")
            }
            workers.append(thread)
        }
    }

    private func work() {
        while let poll = nextDue() { step(poll) }
    }

    /// The next poll whose time has come, or nil when stopping.
    private func nextDue() -> Poll? {
        monitor.withLock {
            while !stopping {
                guard let (poll, due) = heap.peek() else { monitor.wait(until: nil); continue }
                if due <= Clock.monotonicMs() {
                    heap.popFirst()
                    if poll.isFinished { continue }
                    return poll
                }
                monitor.wait(until: due)
            }
            return nil
        }
    }

    private func step(_ poll: Poll) {
        let (fetchProfile, fetchSession) = monitor.withLock { (self.fetchProfile, self.fetchSession) }
        guard let fetchProfile, let fetchSession else { return }
        if let deadline = poll.deadline, Clock.monotonicMs() >= deadline {
            poll.finish(.timeout, error: PassAuthError(.timeout, "no profile for code \(poll.code) within the poll's timeout"))
            return
        }
        if poll.notAfter == nil {
            do {
                let session = try fetchSession(poll.device, poll.code)
                poll.notAfter = session["notAfter"]?.int64Value ?? (Clock.nowMs() + Poller.defaultCodeLifetimeMs)
                reschedule(poll, afterMs: poll.intervalMs)
            } catch {
                handle(error, poll)
            }
            return
        }
        if let notAfter = poll.notAfter, Clock.nowMs() >= notAfter {
            poll.finish(.expired, error: expired(poll))
            return
        }
        do {
            let answer = try fetchProfile(poll.device, poll.code)
            if case .object(let profiles)? = answer["profiles"], !profiles.isEmpty {
                poll.finish(.ok, result: answer)
            } else {
                poll.intervalMs = poll.baseIntervalMs
                reschedule(poll, afterMs: poll.intervalMs)
            }
        } catch {
            handle(error, poll)
        }
    }

    private func handle(_ error: PassAuthError, _ poll: Poll) {
        if ["invalid_authentication_session", "authentication_session_expired"].contains(error.code ?? "") || error.httpStatus == 410 {
            poll.finish(.expired, error: expired(poll))
        } else if Poller.isTransient(error) {
            // Slow down, never hammer: back off up to 30 s, and at least as long as a 429 asks.
            poll.intervalMs = min(max(poll.intervalMs * 3 / 2, error.retryAfterMs ?? 0), Poller.maximumBackoffMs)
            reschedule(poll, afterMs: poll.intervalMs)
        } else {
            poll.finish(error.status, error: error)
        }
    }

    static func isTransient(_ error: PassAuthError) -> Bool {
        switch error.status {
        case .transport, .timeout, .throttled: return true
        case .http: return (error.httpStatus ?? 0) >= 500
        case .service: return error.action == "retry" || (error.httpStatus ?? 0) >= 500
        default: return false
        }
    }

    private func expired(_ poll: Poll) -> PassAuthError {
        PassAuthError(.expired, "authentication code \(poll.code) expired before the user finished logging in")
    }

    /// Schedules the next request, but never later than the code's expiry (so the poll ends on time).
    private func reschedule(_ poll: Poll, afterMs: Int) {
        var delay = Int64(afterMs)
        if let notAfter = poll.notAfter { delay = min(delay, max(notAfter - Clock.nowMs(), 0)) }
        if let deadline = poll.deadline { delay = min(delay, max(deadline - Clock.monotonicMs(), 0)) }
        monitor.withLock {
            guard !stopping, !poll.isFinished else { return }
            heap.insert(poll, due: Clock.monotonicMs() + delay)
            monitor.broadcast()
        }
    }
}

/// A binary min-heap of items by due time (monotonic ms); ties keep insertion order.
struct TimerHeap<Item: AnyObject> {
    private var entries: [(due: Int64, sequence: UInt64, item: Item)] = []
    private var sequence: UInt64 = 0

    var items: [Item] { entries.map(\.item) }

    func peek() -> (Item, Int64)? { entries.first.map { ($0.item, $0.due) } }

    mutating func insert(_ item: Item, due: Int64) {
        sequence += 1
        entries.append((due, sequence, item))
        var child = entries.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard less(child, parent) else { break }
            entries.swapAt(child, parent)
            child = parent
        }
    }

    @discardableResult
    mutating func popFirst() -> Item? {
        guard !entries.isEmpty else { return nil }
        entries.swapAt(0, entries.count - 1)
        let first = entries.removeLast()
        siftDown(from: 0)
        return first.item
    }

    mutating func remove(_ item: Item) {
        guard let index = entries.firstIndex(where: { $0.item === item }) else { return }
        entries.swapAt(index, entries.count - 1)
        entries.removeLast()
        if index < entries.count {
            siftDown(from: index)
            var child = index
            while child > 0, less(child, (child - 1) / 2) {
                entries.swapAt(child, (child - 1) / 2)
                child = (child - 1) / 2
            }
        }
    }

    private func less(_ a: Int, _ b: Int) -> Bool {
        (entries[a].due, entries[a].sequence) < (entries[b].due, entries[b].sequence)
    }

    private mutating func siftDown(from start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < entries.count && less(left, smallest) { smallest = left }
            if right < entries.count && less(right, smallest) { smallest = right }
            if smallest == parent { return }
            entries.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
