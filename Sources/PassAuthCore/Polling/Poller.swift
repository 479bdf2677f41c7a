import Glibc

/// What the poller needs from its client: the two requests a poll makes and where found profiles go.
struct PollContext: Sendable {
    /// The pipeline: GET /profiles/code/{code} (Endpoint.profileForCode) and, for a code whose expiry
    /// the library does not know, GET /sessions/{code} (Endpoint.sessionGet).
    let service: Service
    /// Persists the profiles of many polls in one store write.
    let persist: @Sendable ([(Device, Answer)]) throws(PassAuthError) -> Void
    let stats: Stats
    let logger: Logger
    /// The service's time, for the codes' notAfter.
    let clock: ServiceClock
}

/// What a client asks of its poller: `Poller` (each process polls the codes it started) or, with a
/// Redis store, `FleetPoller` (the fleet shares them).
protocol PollScheduler: AnyObject, Sendable {
    /// `device` has an id (Client.poll checked).
    func start(code: String, device: Device, intervalMs: Int, timeoutMs: Int?, notAfter: Int64?,
               callback: PollCallback?) throws(PassAuthError) -> Poll
    /// A session was created for `device` with `code`: polls of its older codes end (superseded).
    func started(code: String, notAfter: Int64?, for device: Device)
    /// Runs `task` on the poller's result thread.
    func enqueue(_ task: @escaping @Sendable () -> Void)
    /// Ends every poll (PASSAUTH_E_CANCELLED) and stops the threads.
    func shutdown()
}

/// Polls codes for profiles, thousands at once, on two threads plus the transport's HTTP thread
/// (CurlMulti). The scheduler keeps every code's timer, starts the due requests without waiting for
/// them and judges the answers as they come back, so one slow request never delays another code. The
/// deliverer persists found profiles (one store write for all those found meanwhile), then ends their
/// polls and runs the callbacks, so neither disk nor a caller's callback delays the cadence.
///
/// Each poll has its own cadence (never below 3 s, the checklist's floor) and ends on a profile, on
/// the code's notAfter, on cancel, on a newer code for the same device, on the caller's timeout, or on
/// a non-retryable error. Transient failures and 429s slow a poll down instead of ending it. A code
/// has at most one request in flight, and the next is scheduled only after its answer, so two requests
/// for one code are never closer than the interval.
package final class Poller: PollScheduler, PollOwner, @unchecked Sendable {
    package static let minimumIntervalMs = 3_000
    static let maximumBackoffMs = 30_000
    /// Codes whose expiry the service did not state are polled for at most this long.
    static let defaultCodeLifetimeMs: Int64 = 30 * 60_000
    /// Due polls started per scheduling round, so answers are judged in between.
    static let roundSize = 256

    /// How a poll ends, waiting for the deliverer.
    private struct Delivery {
        let poll: Poll
        let status: Status
        var result: Answer? = nil
        var error: PassAuthError? = nil
    }

    /// One request's outcome, waiting for the scheduler.
    private struct Outcome {
        let poll: Poll
        let endpoint: Endpoint
        let token: AccessToken
        let outcome: Result<HTTPResponse, PassAuthError>
    }

    // Guarded by `monitor`. The scheduler waits on condition `scheduler` (timers, answers), the
    // deliverer on `deliverer` (ended polls, tasks): an answer wakes only the scheduler.
    private let monitor = Monitor(conditions: 2)
    private static let scheduler = 0, deliverer = 1
    private var heap = TimerHeap<Poll>()
    private var answers: [Outcome] = []
    private var deliveries: [Delivery] = []
    /// Work for the result thread that is not a poll's end (a profile refresh after an authorization).
    private var tasks: [@Sendable () -> Void] = []
    /// Every poll that has not ended, and the newest of each device (a newer code ends the older).
    private var live: [ObjectIdentifier: Poll] = [:]
    private var newestByDevice: [String: Poll] = [:]
    private var knownExpiry = KnownExpiries()
    private var threads: [pthread_t] = []
    private var stopping = false
    private var context: PollContext?

    init() {}

    func attach(_ context: PollContext) {
        monitor.withLock { self.context = context }
    }

    /// A session was created for `device` with `code`: remembers its expiry and ends any poll of an
    /// older code of the same device at once.
    func started(code: String, notAfter: Int64?, for device: Device) {
        let superseded: Poll? = monitor.withLock {
            if let notAfter { knownExpiry.remember(code, notAfter: notAfter) }
            return newestByDevice[device.stateKey].flatMap { $0.code != code ? $0 : nil }
        }
        superseded?.finish(.cancelled, error: .superseded)
    }

    package func start(code: String, device: Device, intervalMs: Int, timeoutMs: Int?, notAfter: Int64?,
                      callback: PollCallback?) throws(PassAuthError) -> Poll {
        let poll = Poll(code: code, device: device, intervalMs: max(intervalMs, Poller.minimumIntervalMs),
                        deadline: timeoutMs.map { Clock.monotonicMs() + Int64($0) }, notAfter: notAfter, callback: callback)
        poll.poller = self
        let superseded: Poll? = try monitor.withLock { () throws(PassAuthError) -> Poll? in
            guard !stopping else { throw PassAuthError(.cancelled, "the client is being freed") }
            if poll.notAfter == nil { poll.notAfter = knownExpiry[code] }
            if threads.isEmpty { try startThreadsLocked() }
            // Starting a poll for a code is also "a newer code for this device" when it differs.
            let older = newestByDevice[device.stateKey].flatMap { $0.code != code ? $0 : nil }
            newestByDevice[device.stateKey] = poll
            live[ObjectIdentifier(poll)] = poll
            // The first profile request leaves at a random moment between a quarter of an interval and
            // one interval, so polls started together (a server-to-server batch) reach the service
            // spread out instead of in one burst; a code of unknown expiry is looked up at once (and
            // validated) through the sessions API.
            // Never later than the poll's own deadline or the code's expiry, so a poll ends on time
            // whatever its interval.
            var firstDelay = poll.notAfter == nil ? 0 : Int64.random(in: Int64(poll.intervalMs / 4)...Int64(poll.intervalMs))
            firstDelay = boundedDelay(firstDelay, for: poll)
            heap.insert(poll, due: Clock.monotonicMs().addingSaturated(firstDelay))
            poll.noteScheduled(inMs: firstDelay)
            context?.stats.activePolls.add()
            monitor.signal(Poller.scheduler)
            return older
        }
        superseded?.finish(.cancelled, error: .superseded)
        return poll
    }

    var knownExpiryCount: Int { monitor.withLock { knownExpiry.count } }

    /// Called by Poll.finish, once per poll: the poll no longer counts as live. A poll still in the
    /// timer heap is dropped when it comes due.
    func ended(_ poll: Poll) {
        monitor.withLock {
            if live.removeValue(forKey: ObjectIdentifier(poll)) != nil { context?.stats.activePolls.add(-1) }
            if newestByDevice[poll.device.stateKey] === poll { newestByDevice[poll.device.stateKey] = nil }
        }
    }

    /// Runs `task` on the result thread (it stores profiles; the network thread must never wait for
    /// the disk). Dropped when the client is being freed.
    func enqueue(_ task: @escaping @Sendable () -> Void) {
        monitor.withLock {
            guard !stopping else { return }
            if threads.isEmpty, (try? startThreadsLocked()) == nil { return }
            tasks.append(task)
            monitor.signal(Poller.deliverer)
        }
    }

    /// Ends every poll (PASSAUTH_E_CANCELLED) and stops the threads; joins them unless called on one.
    func shutdown() {
        let (polls, threads): ([Poll], [pthread_t]) = monitor.withLock {
            stopping = true
            let polls = Array(live.values)
            heap = TimerHeap()
            answers = []
            deliveries = []
            tasks = []
            defer { self.threads = [] }
            monitor.broadcast()
            return (polls, self.threads)
        }
        for poll in polls { poll.finish(.cancelled, error: PassAuthError(.cancelled, "the client was freed")) }
        for thread in threads {
            if pthread_equal(thread, pthread_self()) != 0 { pthread_detach(thread) } else { pthread_join(thread, nil) }
        }
    }

    // MARK: - The threads

    private func startThreadsLocked() throws(PassAuthError) {
        threads.append(try Threads.start("passauth-poll") { self.schedule() }.get())
        threads.append(try Threads.start("passauth-result") { self.deliver() }.get())
    }

    private func schedule() {
        while let (context, due, answered) = nextRound() {
            for poll in due { begin(poll, context) }
            if !answered.isEmpty { judge(answered, context) }
        }
    }

    /// The polls whose time has come (at most `roundSize`) and the answers that arrived; waits until
    /// there is one or the other. nil when stopping.
    private func nextRound() -> (PollContext, [Poll], [Outcome])? {
        monitor.withLock {
            while !stopping {
                guard let context else { monitor.wait(until: nil, on: Poller.scheduler); continue }
                var due: [Poll] = []
                let now = Clock.monotonicMs()
                while due.count < Poller.roundSize, let (poll, at) = heap.peek(), at <= now {
                    heap.popFirst()
                    if live[ObjectIdentifier(poll)] != nil { due.append(poll) }
                }
                if !due.isEmpty || !answers.isEmpty {
                    defer { answers = [] }
                    return (context, due, answers)
                }
                monitor.wait(until: heap.peek()?.1, on: Poller.scheduler)
            }
            return nil
        }
    }

    /// Sends the poll's next request (or ends it on its timeout or expiry); the answer comes back
    /// through `answered`.
    private func begin(_ poll: Poll, _ context: PollContext) {
        if let deadline = poll.deadline, Clock.monotonicMs() >= deadline {
            conclude(poll, .timeout, error: PassAuthError(.timeout, "no profile for code \(poll.code) within the poll's timeout"))
            return
        }
        let lookup = poll.notAfter == nil
        if let notAfter = poll.notAfter, context.clock.nowMs() >= notAfter {
            conclude(poll, .expired, error: .codeExpired(poll.code))
            return
        }
        // A 429's wait or the device's pacing budget: come back later rather than block the others.
        let wait = context.service.readiness(for: poll.device)
        guard wait == 0 else { return reschedule(poll, afterMs: Int(wait)) }
        let endpoint: Endpoint = lookup ? .sessionGet : .profileForCode
        do throws(PassAuthError) {
            let (request, token) = try context.service.prepare(endpoint, argument: poll.code, device: poll.device)
            poll.noteRequest()
            // Weak: the transport outlives nothing of the client's; a request still in flight when the
            // client is freed is cancelled by the transport's shutdown, not waited for.
            context.service.submit(request) { [weak self] outcome in
                guard let self else { return }
                self.monitor.withLock {
                    guard !self.stopping else { return }
                    self.answers.append(Outcome(poll: poll, endpoint: endpoint, token: token, outcome: outcome))
                    // Answers come in bursts: only the first of a round needs to wake the scheduler.
                    if self.answers.count == 1 { self.monitor.signal(Poller.scheduler) }
                }
            }
        } catch {
            handle(error, poll, context)
        }
    }

    /// Judges a round of answers: reschedules the pending codes, hands the found profiles and the
    /// failures to the deliverer.
    private func judge(_ answered: [Outcome], _ context: PollContext) {
        for answer in answered where !answer.poll.isFinished {
            let poll = answer.poll
            do throws(PassAuthError) {
                let reply = try context.service.answer(answer.outcome, to: answer.endpoint, device: poll.device, token: answer.token)
                poll.renewedToken = false
                if answer.endpoint == .sessionGet {
                    poll.notAfter = reply.node["notAfter"]?.int64 ?? (context.clock.nowMs() + Poller.defaultCodeLifetimeMs)
                    reschedule(poll, afterMs: poll.intervalMs)
                    continue
                }
                // The decoder checked the profiles shape; a non-empty map means the user logged in.
                if let profiles = reply.node["profiles"], profiles.count > 0 {
                    conclude(poll, .ok, result: reply)
                } else {
                    poll.intervalMs = poll.baseIntervalMs
                    reschedule(poll, afterMs: poll.intervalMs)
                }
            } catch {
                handle(error, poll, context)
            }
        }
    }

    /// Hands an ended poll to the deliverer.
    private func conclude(_ poll: Poll, _ status: Status, result: Answer? = nil, error: PassAuthError? = nil) {
        monitor.withLock {
            guard !stopping else { return }
            deliveries.append(Delivery(poll: poll, status: status, result: result, error: error))
            if deliveries.count == 1 { monitor.signal(Poller.deliverer) }
        }
    }

    /// The deliverer: persists the profiles found since its last round with one store write (before
    /// their polls end, so a caller woken by a poll finds them stored), then ends the polls.
    private func deliver() {
        while let (context, batch, work) = nextDeliveries() {
            for task in work { task() }
            var batch = batch
            let found = batch.indices.filter { batch[$0].status == .ok }
            if !found.isEmpty {
                do throws(PassAuthError) {
                    try context.persist(found.compactMap { index in batch[index].result.map { (batch[index].poll.device, $0) } })
                } catch {
                    for index in found { batch[index] = Delivery(poll: batch[index].poll, status: error.status, error: error) }
                }
            }
            // The poll keeps the answer's text only (its parsed tree goes with the delivery).
            for delivery in batch {
                delivery.poll.finish(delivery.status, result: delivery.result.map { Answer(text: $0.bytes) }, error: delivery.error)
            }
        }
    }

    private func nextDeliveries() -> (PollContext, [Delivery], [@Sendable () -> Void])? {
        monitor.withLock {
            while !stopping {
                if let context, !deliveries.isEmpty || !tasks.isEmpty {
                    defer { deliveries = []; tasks = [] }
                    return (context, deliveries, tasks)
                }
                monitor.wait(until: nil, on: Poller.deliverer)
            }
            return nil
        }
    }

    /// The retry policy's class of the failure decides, as for blocking calls: transient failures and
    /// 429s slow the poll down, a 401 renews the token once (Service.answer did) and the poll goes on,
    /// an unknown or expired code ends it EXPIRED, anything else ends it with the error.
    private func handle(_ error: PassAuthError, _ poll: Poll, _ context: PollContext) {
        poll.noteFailure(error)
        var disposition = context.service.policy.classify(error)
        if disposition == .refreshToken {
            if poll.renewedToken { disposition = .surface } else { poll.renewedToken = true }
        }
        if disposition == .expired { return conclude(poll, .expired, error: .codeExpired(poll.code)) }
        guard let next = context.service.policy.pollInterval(after: disposition, currentMs: poll.intervalMs,
                                                             maximumMs: Poller.maximumBackoffMs) else {
            return conclude(poll, error.status, error: error)
        }
        if next != poll.intervalMs || disposition != .refreshToken {
            context.logger.log(.warn, "poll of code \(poll.code) for device \(poll.device.id ?? "-"): \(error.message); next request in \(next) ms")
        }
        poll.intervalMs = next
        reschedule(poll, afterMs: next)
    }

    /// Schedules the next request, but never later than the code's expiry (so the poll ends on time).
    private func reschedule(_ poll: Poll, afterMs: Int) {
        monitor.withLock {
            guard !stopping, live[ObjectIdentifier(poll)] != nil else { return }
            let delay = boundedDelay(Int64(afterMs), for: poll)
            heap.insert(poll, due: Clock.monotonicMs().addingSaturated(delay))
            poll.noteScheduled(inMs: delay)
            // The scheduler itself reschedules after judging an answer; it is awake then.
        }
    }

    /// `delay`, cut at the poll's deadline and at its code's notAfter (service time).
    private func boundedDelay(_ delay: Int64, for poll: Poll) -> Int64 {
        var delay = delay
        if let notAfter = poll.notAfter, let clock = context?.clock { delay = min(delay, max(notAfter - clock.nowMs(), 0)) }
        if let deadline = poll.deadline { delay = min(delay, max(deadline - Clock.monotonicMs(), 0)) }
        return delay
    }
}
