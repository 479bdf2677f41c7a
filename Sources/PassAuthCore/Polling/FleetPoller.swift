import Glibc

// Compiled for size (@_optimize(size) on each function): this code waits on Redis round trips, and
// the library stays under 7 MiB.

/// What the fleet poller needs beyond the poller's context: the Redis client, the keys and scripts of
/// the fleet's polls, and the config's timeoutMs.
struct FleetPollContext: Sendable {
    let redis: RedisClient
    let polls: FleetPolls
    let timeoutMs: Int
}

/// The poller of a client with a Redis store: the polls of a fleet of instances, shared through Redis
/// (the records, keys and scripts are FleetPolls'). A poll started on any instance is recorded there;
/// every instance claims the due records (atomically, with a lease), makes their requests and writes
/// back what it learned, so each code is polled by one instance at a time, never twice within 3 s (nor
/// within its interval) fleet-wide, and a poll whose instance died comes due again when its lease ends
/// (within 1.5 intervals: a claim's lease is the interval plus the request's timeout, cut to half an
/// interval; a claim not sent within a quarter of an interval goes back). Each instance keeps local
/// `Poll`s for the polls its callers started (handles, callbacks, passauth_poll_wait), joined to their
/// records (one `Entry` per record): when another instance finds the profile (it stores it, then marks the record done and publishes its end), the
/// local polls end with that answer, from the event or, should an event be lost, from the periodic
/// read of their record (every two intervals) and the full read after a gap in the subscription.
///
/// Threads: those of the local Poller (passauth-poll: the scheduler, which also makes this instance's
/// Redis round trips, batched, one or two per round; passauth-result: stores found profiles, marks
/// their records done, ends polls and runs callbacks), plus the transport's HTTP thread and the Redis
/// client's thread (events). The scheduler's threads start with the first poll, session or first use of
/// Redis, so an instance that starts no poll itself still takes its share of the fleet's.
///
/// Redis unreachable: the instance polls the codes its callers started by itself, at their cadence
/// (a warning is logged once per outage; pacing is local too); what it claimed for others is left to
/// its lease. When Redis is back it writes its records again (with the last request it knows of, so
/// the 3 s rule holds across the outage for what it did) and reads them all. During the outage a code
/// whose waiters are on several instances may be polled by each of them, each at its own cadence.
package final class FleetPoller: PollScheduler, PollOwner, @unchecked Sendable {
    /// Records claimed per round at most, and claimed requests in flight at most.
    static let roundSize = 256
    static let maxInFlight = 1_024
    /// Redis operations per round trip at most (starts, waiters, releases, reads).
    static let batchLimit = 1_024
    /// An idle instance looks for due records (takeovers) at least this often, and at most every
    /// `claimSpacingMs`.
    static let idleClaimMs: Int64 = 1_000
    static let claimSpacingMs: Int64 = 50
    /// After a failed round trip Redis is left alone this long (the instance polls its own codes).
    static let pauseMs: Int64 = 1_000
    static let redisTimeoutMs = 2_000

    /// One record this instance deals with: the polls its callers started for it, and/or its claim.
    /// Every field after `firstDelayMs` is guarded by the poller's monitor.
    final class Entry: @unchecked Sendable {
        let id: String
        let code: String
        /// The device as the record keeps it (Device.fleetJSON).
        let device: Device
        let deviceJSON: String
        let digest: String
        let firstDelayMs: Int64

        var polls: [Poll] = []
        /// The record holds this instance's waiters (as of `sentWaiters`); `fresh`: the next join is a
        /// start (supersedes the device's older code, restarts an ended record).
        var joined = false
        var fresh = false
        var sentWaiters = 0
        /// In the dirty list.
        var queued = false
        /// The record ended (or this instance ended it): nothing more to do but end the local polls.
        var ended = false
        var intervalMs: Int
        var baseIntervalMs: Int
        var notAfter: Int64?
        /// This instance's claim (token), and when it was made (monotonic).
        var claimToken: String?
        var claimedAt: Int64 = 0
        var inFlight = false
        var renewedToken = false
        /// Redis ms of the last request boundary known (for a write after Redis lost the record).
        var lastRequest: Int64?
        /// Monotonic: the next local read of the record; the next local request (Redis unreachable).
        var nextCheckAt: Int64 = 0
        var localNextAt: Int64 = 0
        /// The due time of its timer in the heap (older heap items are stale).
        var timerAt: Int64?
        var requests = 0
        var by: String?

        @_optimize(size) init(id: String, code: String, device: Device, intervalMs: Int, baseIntervalMs: Int, notAfter: Int64?, firstDelayMs: Int64) {
            self.id = id
            self.code = code
            self.device = device
            deviceJSON = device.fleetJSON.serialized()
            digest = FleetPolls.deviceDigest(device.stateKey)
            self.intervalMs = intervalMs
            self.baseIntervalMs = baseIntervalMs
            self.notAfter = notAfter
            self.firstDelayMs = firstDelayMs
        }

        var checkPeriodMs: Int64 { Int64(max(intervalMs, Poller.minimumIntervalMs)) * 2 }
    }

    private enum Delivery {
        /// This instance found the profile: persist it, mark the record done, end the local polls.
        case found(Entry, Answer)
        /// The record ended: end the local polls so.
        case entry(Entry, Status, Answer?, PassAuthError?)
        /// One local poll ends (its own timeout).
        case poll(Poll, Status, PassAuthError)
    }

    private struct Outcome {
        let entry: Entry
        let endpoint: Endpoint
        let token: AccessToken
        let claimed: Bool
        let outcome: Result<HTTPResponse, PassAuthError>
    }

    private struct Round {
        var context: PollContext
        var fleet: FleetPollContext
        var answers: [Outcome]
        var timers: [Entry]
        var retries: [(Entry, PassAuthError)]
        /// nil while Redis is left alone.
        var work: Work?
    }

    private struct Work {
        var dirty: [Entry]
        var supersedes: [RedisScriptCall]
        var checks: [Entry]
        var claim: Bool
    }

    // Guarded by `monitor` (the scheduler waits on `scheduler`, the deliverer on `deliverer`).
    private let monitor = Monitor(conditions: 2)
    private static let scheduler = 0, deliverer = 1
    private var entries: [String: Entry] = [:]
    private var entryOf: [ObjectIdentifier: Entry] = [:]
    private var live: [ObjectIdentifier: Poll] = [:]
    private var newestByDevice: [String: Poll] = [:]
    private var knownExpiry = KnownExpiries()
    private var heap = TimerHeap<Entry>()
    private var dirty: [Entry] = []
    private var supersedes: [RedisScriptCall] = []
    private var toCheck: Set<String> = []
    private var resync = false
    private var storeRetries: [(Entry, PassAuthError)] = []
    private var answers: [Outcome] = []
    private var deliveries: [Delivery] = []
    private var tasks: [@Sendable () -> Void] = []
    private var threads: [pthread_t] = []
    private var stopping = false
    private var context: PollContext?
    private var fleet: FleetPollContext?
    /// Redis is left alone until then (monotonic); `degraded`: this instance polls its own codes.
    private var pausedUntil: Int64 = 0
    private var degraded = false
    private var nextClaimAt: Int64 = 0
    /// Redis's clock minus this host's wall clock, from the last script answer (ms).
    private var redisOffset: Int64 = 0

    // The scheduler thread's own.
    private var releases: [RedisScriptCall] = []
    private var claimedInFlight = 0
    private var lastFailureLog: Int64 = 0

    @_optimize(size) init() {}

    @_optimize(size) func attach(_ context: PollContext, fleet: FleetPollContext) {
        monitor.withLock {
            self.context = context
            self.fleet = fleet
        }
    }

    /// The client's first use of Redis: the scheduler starts, so this instance takes its share of the
    /// fleet's polls even before it starts one.
    @_optimize(size) func activate() {
        monitor.withLock {
            guard !stopping, threads.isEmpty, context != nil else { return }
            try? startThreadsLocked()
        }
    }

    // MARK: - The callers' side

    @_optimize(size) package func start(code: String, device: Device, intervalMs: Int, timeoutMs: Int?, notAfter: Int64?,
                       callback: PollCallback?) throws(PassAuthError) -> Poll {
        let interval = max(intervalMs, Poller.minimumIntervalMs)
        let poll = Poll(code: code, device: device, intervalMs: interval,
                        deadline: timeoutMs.map { Clock.monotonicMs() + Int64($0) }, notAfter: notAfter, callback: callback)
        poll.poller = self
        let older: Poll? = try monitor.withLock { () throws(PassAuthError) -> Poll? in
            guard !stopping else { throw PassAuthError(.cancelled, "the client is being freed") }
            if poll.notAfter == nil { poll.notAfter = knownExpiry[code] }
            if threads.isEmpty { try startThreadsLocked() }
            let older = newestByDevice[device.stateKey].flatMap { $0.code != code ? $0 : nil }
            newestByDevice[device.stateKey] = poll
            live[ObjectIdentifier(poll)] = poll
            let id = FleetPolls.id(device: device.stateKey, code: code)
            let entry: Entry
            if let existing = entries[id], !existing.ended {
                entry = existing
            } else {
                // The first request at a random moment within the first interval (polls started together
                // reach the service spread out); at once for a code to look up.
                let delay = poll.notAfter == nil ? 0 : Int64.random(in: Int64(interval / 4)...Int64(interval))
                entry = Entry(id: id, code: code, device: device, intervalMs: interval, baseIntervalMs: interval,
                              notAfter: poll.notAfter, firstDelayMs: delay)
                let now = Clock.monotonicMs()
                entry.nextCheckAt = now + entry.checkPeriodMs
                entry.localNextAt = now + delay
                entries[id] = entry
            }
            entry.polls.append(poll)
            entryOf[ObjectIdentifier(poll)] = entry
            if entry.notAfter == nil { entry.notAfter = poll.notAfter }
            entry.fresh = true
            markDirtyLocked(entry)
            rearmLocked(entry)
            context?.stats.activePolls.add()
            poll.noteFleet(requests: entry.requests, instance: entry.by, nextRequestAt: nil, intervalMs: entry.intervalMs,
                           notAfter: entry.notAfter)
            return older
        }
        older?.finish(.cancelled, error: .superseded)
        return poll
    }

    @_optimize(size) func started(code: String, notAfter: Int64?, for device: Device) {
        let superseded: Poll? = monitor.withLock {
            if let notAfter { knownExpiry.remember(code, notAfter: notAfter) }
            if threads.isEmpty, !stopping { try? startThreadsLocked() }
            if !stopping, device.id != nil, let fleet, !threads.isEmpty {
                supersedes.append(fleet.polls.supersede(digest: FleetPolls.deviceDigest(device.stateKey),
                                                        newest: FleetPolls.id(device: device.stateKey, code: code),
                                                        ttlMs: ttl(notAfter)))
                monitor.signal(FleetPoller.scheduler)
            }
            return newestByDevice[device.stateKey].flatMap { $0.code != code ? $0 : nil }
        }
        superseded?.finish(.cancelled, error: .superseded)
    }

    @_optimize(size) func enqueue(_ task: @escaping @Sendable () -> Void) {
        monitor.withLock {
            guard !stopping else { return }
            if threads.isEmpty, (try? startThreadsLocked()) == nil { return }
            tasks.append(task)
            monitor.signal(FleetPoller.deliverer)
        }
    }

    /// Poll.finish, once per local poll. A poll that ends before its record does (cancelled, its own
    /// timeout) leaves the record: when no instance has a waiter left, the record ends cancelled. At
    /// shutdown nothing is left: the fleet goes on with the records (and stores their profiles).
    @_optimize(size) func ended(_ poll: Poll) {
        monitor.withLock {
            let key = ObjectIdentifier(poll)
            if live.removeValue(forKey: key) != nil { context?.stats.activePolls.add(-1) }
            if newestByDevice[poll.device.stateKey] === poll { newestByDevice[poll.device.stateKey] = nil }
            guard let entry = entryOf.removeValue(forKey: key) else { return }
            entry.polls.removeAll { $0 === poll }
            if !stopping && !entry.ended && entry.joined { markDirtyLocked(entry) } else { dropIfIdleLocked(entry) }
        }
    }

    /// An event of the fleet's channel (passauth-redis thread).
    @_optimize(size) func noteEvent(_ event: FleetEvents.FleetPollEvent) {
        monitor.withLock {
            switch event {
            case .ended(let id):
                guard entries[id] != nil else { return }
                toCheck.insert(id)
            case .gap:
                resync = true
            }
            monitor.signal(FleetPoller.scheduler)
        }
    }

    /// Ends every local poll (PASSAUTH_E_CANCELLED) and stops the threads; the records stay for the
    /// fleet, and this instance's claims are handed back (a request in flight counts as made).
    @_optimize(size) func shutdown() {
        let (polls, threads, shared): ([Poll], [pthread_t], FleetPollContext?) = monitor.withLock {
            stopping = true
            let polls = Array(live.values)
            heap = TimerHeap()
            answers = []
            deliveries = []
            tasks = []
            defer { self.threads = [] }
            monitor.broadcast()
            return (polls, self.threads, self.fleet)
        }
        var joined = true
        for thread in threads {
            if pthread_equal(thread, pthread_self()) != 0 { pthread_detach(thread); joined = false } else { pthread_join(thread, nil) }
        }
        if joined, let fleet = shared {
            let calls: [RedisScriptCall] = monitor.withLock {
                entries.values.compactMap { entry in
                    guard let token = entry.claimToken, !entry.ended else { return nil }
                    entry.claimToken = nil
                    let release: FleetPolls.Release = entry.inFlight ? .pending(intervalMs: entry.intervalMs, notAfter: nil) : .unclaim(waitMs: 0)
                    return fleet.polls.release(id: entry.id, token: token, release, ttlMs: ttl(entry.notAfter))
                }
            }
            if !calls.isEmpty { _ = try? fleet.redis.runAll(calls, timeoutMs: 500) }
        }
        for poll in polls { poll.finish(.cancelled, error: PassAuthError(.cancelled, "the client was freed")) }
    }


    // MARK: - Bookkeeping (monitor held)

    @_optimize(size) private func markDirtyLocked(_ entry: Entry) {
        guard !entry.queued else { return }
        entry.queued = true
        dirty.append(entry)
        monitor.signal(FleetPoller.scheduler)
    }

    @_optimize(size) private func dropIfIdleLocked(_ entry: Entry) {
        guard entry.polls.isEmpty, entry.claimToken == nil, !entry.inFlight, !entry.queued, entries[entry.id] === entry else { return }
        entries[entry.id] = nil
    }

    /// When the entry's timer should fire next: its next read of the record (or, Redis unreachable, its
    /// next local request), its polls' deadlines and its code's expiry. nil: no timer needed.
    @_optimize(size) private func rearmLocked(_ entry: Entry) {
        guard !entry.polls.isEmpty, !entry.ended, let clock = context?.clock else { return }
        let now = Clock.monotonicMs()
        var at = degraded ? (entry.inFlight ? now + Int64(entry.intervalMs) : entry.localNextAt) : entry.nextCheckAt
        // Deadlines already passed are being dealt with (their polls end on the deliverer).
        for poll in entry.polls { if let deadline = poll.deadline, deadline > now { at = min(at, deadline) } }
        if let notAfter = entry.notAfter, notAfter > clock.nowMs() { at = min(at, now + notAfter - clock.nowMs()) }
        at = max(at, now)
        if let current = entry.timerAt, current <= at { return }
        entry.timerAt = at
        heap.insert(entry, due: at)
        monitor.signal(FleetPoller.scheduler)
    }

    /// How long a record lives: its code's notAfter plus a margin (30 min when unknown).
    @_optimize(size) private func ttl(_ notAfter: Int64?) -> Int64 {
        let now = context?.clock.nowMs() ?? Clock.nowMs()
        let remaining = notAfter.map { max($0 - now, 0) } ?? Poller.defaultCodeLifetimeMs
        return remaining + FleetPolls.ttlMarginMs
    }

    /// Redis ms as this host's wall clock, and the other way (from the last script answer).
    @_optimize(size) private func wall(_ redisMs: Int64) -> Int64 { redisMs - redisOffset }
    private var redisNow: Int64 { Clock.nowMs() + redisOffset }

    // MARK: - The threads

    @_optimize(size) private func startThreadsLocked() throws(PassAuthError) {
        threads.append(try Threads.start("passauth-poll") { self.schedule() }.get())
        threads.append(try Threads.start("passauth-result") { self.deliver() }.get())
    }

    // MARK: - The scheduler

    @_optimize(size) private func schedule() {
        while let round = nextRound() { run(round) }
    }

    /// Waits for something to do: answers, timers, fleet work (while Redis is not left alone), the
    /// next claim. nil when stopping.
    @_optimize(size) private func nextRound() -> Round? {
        monitor.withLock {
            while !stopping {
                guard let context, let fleet else { monitor.wait(until: nil, on: FleetPoller.scheduler); continue }
                let now = Clock.monotonicMs()
                var timers: [Entry] = []
                while timers.count < 4_096, let (entry, at) = heap.peek(), at <= now {
                    heap.popFirst()
                    if entry.timerAt == at {
                        entry.timerAt = nil
                        timers.append(entry)
                    }
                }
                let up = now >= pausedUntil
                let claim = up && now >= nextClaimAt
                let work = up && (claim || !dirty.isEmpty || !supersedes.isEmpty || !toCheck.isEmpty || resync || !releases.isEmpty)
                if work || !answers.isEmpty || !timers.isEmpty || !storeRetries.isEmpty {
                    var round = Round(context: context, fleet: fleet, answers: answers, timers: timers, retries: storeRetries, work: nil)
                    answers = []
                    storeRetries = []
                    if up {
                        if resync {
                            resync = false
                            for entry in entries.values where !entry.polls.isEmpty && !entry.ended {
                                entry.joined = false
                                markDirtyLocked(entry)
                            }
                        }
                        let taken = Array(dirty.prefix(FleetPoller.batchLimit))
                        dirty.removeFirst(taken.count)
                        for entry in taken { entry.queued = false }
                        let checks = toCheck.compactMap { entries[$0] }
                        toCheck = []
                        round.work = Work(dirty: taken, supersedes: supersedes, checks: checks, claim: claim)
                        supersedes = []
                    }
                    return round
                }
                var wake = heap.peek()?.1
                let next = up ? nextClaimAt : pausedUntil
                wake = min(wake ?? next, next)
                monitor.wait(until: wake, on: FleetPoller.scheduler)
            }
            return nil
        }
    }

    @_optimize(size) private func run(_ round: Round) {
        let context = round.context, fleet = round.fleet
        var ready: [Entry] = []
        var checks: [Entry] = round.work?.checks ?? []
        if !round.answers.isEmpty { judge(round.answers, context, fleet) }
        for (entry, error) in round.retries { handle(error, entry, context, fleet) }
        for entry in round.timers { fire(entry, context, fleet, ready: &ready, checks: &checks) }
        // No work while Redis is left alone: the poller is degraded then, and its timers take no checks.
        if var work = round.work {
            work.checks = checks
            exchange(work, context, fleet, ready: &ready)
        }
        if !ready.isEmpty { begin(ready, context, fleet) }
    }

    /// An entry's timer: its polls' deadlines, its code's expiry, then a read of its record (or,
    /// Redis unreachable, a local request when due).
    @_optimize(size) private func fire(_ entry: Entry, _ context: PollContext, _ fleet: FleetPollContext, ready: inout [Entry], checks: inout [Entry]) {
        let now = Clock.monotonicMs()
        let (timedOut, expired): ([Poll], Bool) = monitor.withLock {
            guard !entry.ended, !entry.polls.isEmpty else { return ([], false) }
            let timedOut = entry.polls.filter { poll in poll.deadline.map { now >= $0 } ?? false }
            let expired = entry.notAfter.map { context.clock.nowMs() >= $0 } ?? false
            if !expired {
                if degraded {
                    if !entry.inFlight && entry.claimToken == nil && now >= entry.localNextAt {
                        entry.localNextAt = now + Int64(entry.intervalMs) + FleetPolls.guardMs
                        ready.append(entry)
                    }
                } else if now >= entry.nextCheckAt {
                    entry.nextCheckAt = now + entry.checkPeriodMs
                    checks.append(entry)
                }
            }
            rearmLocked(entry)
            return (timedOut, expired)
        }
        if expired { return conclude(entry, .expired, .codeExpired(entry.code), fleet) }
        if !timedOut.isEmpty {
            monitor.withLock {
                for poll in timedOut {
                    deliveries.append(.poll(poll, .timeout, PassAuthError(.timeout, "no profile for code \(entry.code) within the poll's timeout")))
                }
                monitor.signal(FleetPoller.deliverer)
            }
        }
    }

    // MARK: - Redis

    /// What each call of a round trip was, for its answer.
    private enum Sent {
        case other
        case join(Entry, waiters: Int)
        case leave(Entry, waiters: Int)
        case read(Entry)
        case claim(room: Int)
    }

    /// One round trip: supersedes, starts and waiters, releases, reads, and the claim; then their
    /// answers. A failure leaves Redis alone for a while (local polling) and keeps what must be written.
    @_optimize(size) private func exchange(_ work: Work, _ context: PollContext, _ fleet: FleetPollContext, ready: inout [Entry]) {
        var calls = work.supersedes
        var sent = [Sent](repeating: .other, count: calls.count)
        var freshSent: [Entry] = []
        monitor.withLock {
            for entry in work.dirty where !entry.ended {
                let count = entry.polls.count
                if count > 0 && (!entry.joined || entry.fresh) {
                    if entry.fresh { freshSent.append(entry) }
                    calls.append(fleet.polls.join(id: entry.id, digest: entry.digest, waiters: count, fresh: entry.fresh, code: entry.code,
                                                  device: entry.deviceJSON, intervalMs: entry.intervalMs, notAfter: entry.notAfter,
                                                  lastRequest: entry.inFlight ? redisNow : entry.lastRequest,
                                                  firstDelayMs: entry.firstDelayMs, ttlMs: ttl(entry.notAfter)))
                    sent.append(.join(entry, waiters: count))
                    entry.fresh = false
                } else if entry.joined && count != entry.sentWaiters {
                    calls.append(fleet.polls.leave(id: entry.id, digest: entry.digest, waiters: count))
                    sent.append(.leave(entry, waiters: count))
                } else {
                    dropIfIdleLocked(entry)
                }
            }
        }
        calls += releases
        sent += [Sent](repeating: .other, count: releases.count)
        releases = []
        for entry in work.checks {
            calls.append(fleet.polls.read(id: entry.id))
            sent.append(.read(entry))
        }
        if work.claim {
            let room = min(FleetPoller.roundSize, FleetPoller.maxInFlight - claimedInFlight)
            if room > 0 {
                calls.append(fleet.polls.claim(max: room, requestTimeoutMs: fleet.timeoutMs))
                sent.append(.claim(room: room))
            } else {
                monitor.withLock { nextClaimAt = Clock.monotonicMs() + FleetPoller.claimSpacingMs }
            }
        }
        guard !calls.isEmpty else { return }
        let replies: [RedisValue]
        do throws(PassAuthError) {
            replies = try fleet.redis.runAll(calls, timeoutMs: min(fleet.timeoutMs, FleetPoller.redisTimeoutMs))
        } catch {
            unreachable(error, context, requeue: work, fresh: freshSent)
            return
        }
        let recovered: Bool = monitor.withLock {
            guard degraded else { return false }
            degraded = false
            resync = true
            let now = Clock.monotonicMs()
            for entry in entries.values where !entry.polls.isEmpty {
                entry.nextCheckAt = now + entry.checkPeriodMs
                entry.timerAt = nil
                rearmLocked(entry)
            }
            monitor.signal(FleetPoller.scheduler)
            return true
        }
        if recovered { context.logger.log(.warn, "fleet polls: \(fleet.redis.description) is back; polls are shared again") }
        for (kind, reply) in zip(sent, replies) {
            if let message = reply.errorMessage {
                scriptFailed(message, context)
                if case .claim = kind { monitor.withLock { nextClaimAt = Clock.monotonicMs() + FleetPoller.idleClaimMs } }
                continue
            }
            switch kind {
            case .other:
                break
            case .join(let entry, let waiters):
                monitor.withLock {
                    entry.joined = true
                    entry.sentWaiters = waiters
                }
                if let view = FleetPolls.view(reply) { apply(view, to: entry, context) }
            case .leave(let entry, let waiters):
                monitor.withLock {
                    entry.sentWaiters = waiters
                    dropIfIdleLocked(entry)
                }
                if let view = FleetPolls.view(reply) { apply(view, to: entry, context) }
            case .read(let entry):
                if let view = FleetPolls.view(reply) { apply(view, to: entry, context) }
            case .claim(let room):
                claimed(reply, room: room, context, fleet, ready: &ready)
            }
        }
    }

    @_optimize(size) private func unreachable(_ error: PassAuthError, _ context: PollContext, requeue work: Work, fresh: [Entry]) {
        let warn: Bool = monitor.withLock {
            let now = Clock.monotonicMs()
            pausedUntil = now + FleetPoller.pauseMs
            for entry in fresh { entry.fresh = true }
            for entry in work.dirty where !entry.ended { markDirtyLocked(entry) }
            supersedes = work.supersedes + supersedes
            guard !degraded else { return false }
            degraded = true
            // Each code this instance started goes on from where the fleet left it, at its cadence.
            for entry in entries.values where !entry.polls.isEmpty {
                let last = entry.lastRequest.map { now + ($0 - redisNow) } ?? now
                entry.localNextAt = max(entry.localNextAt, last + Int64(entry.intervalMs) + FleetPolls.guardMs, now)
                entry.timerAt = nil
                rearmLocked(entry)
            }
            return true
        }
        if warn {
            context.logger.log(.warn, "fleet polls: Redis unreachable (\(error.message)); this instance polls the codes it started by itself until it is back")
        }
    }

    @_optimize(size) private func scriptFailed(_ message: String, _ context: PollContext) {
        let now = Clock.monotonicMs()
        guard lastFailureLog == 0 || now - lastFailureLog >= 60_000 else { return }
        lastFailureLog = now
        context.logger.log(.warn, "fleet polls: a script failed: \(message)")
    }

    /// What a record says, for this instance's entry of it.
    @_optimize(size) private func apply(_ view: FleetPolls.View, to entry: Entry, _ context: PollContext) {
        monitor.withLock {
            redisOffset = view.now - Clock.nowMs()
            guard !entry.ended else { return }
            switch view.state {
            case "pending":
                entry.requests = max(entry.requests, view.requests)
                if let by = view.by { entry.by = by }
                if let last = view.lastRequest { entry.lastRequest = max(entry.lastRequest ?? last, last) }
                if view.intervalMs > 0 { entry.intervalMs = view.intervalMs }
                if entry.notAfter == nil, let notAfter = view.notAfter { entry.notAfter = notAfter }
                let next = view.due.map { wall($0) }
                for poll in entry.polls {
                    poll.noteFleet(requests: entry.requests, instance: entry.by, nextRequestAt: entry.claimToken == nil ? next : nil,
                                   intervalMs: entry.intervalMs, notAfter: entry.notAfter)
                }
            case "done":
                entry.ended = true
                entry.requests = max(entry.requests, view.requests)
                for poll in entry.polls {
                    poll.noteFleet(requests: entry.requests, instance: view.by, nextRequestAt: nil, intervalMs: entry.intervalMs, notAfter: entry.notAfter)
                }
                deliveries.append(.entry(entry, .ok, Answer(text: view.answer ?? Array("{\"profiles\":{}}".utf8)), nil))
                monitor.signal(FleetPoller.deliverer)
            case "failed":
                entry.ended = true
                let error = view.error.flatMap { try? JSON.parse($0) }.flatMap { PassAuthError(json: $0) }
                    ?? PassAuthError(.internal, "the poll of code \(entry.code) failed on another instance")
                deliveries.append(.entry(entry, error.status, nil, error))
                monitor.signal(FleetPoller.deliverer)
            case "superseded":
                entry.ended = true
                deliveries.append(.entry(entry, .cancelled, nil, .superseded))
                monitor.signal(FleetPoller.deliverer)
            default:
                // Absent (Redis lost it, or it expired) or cancelled: written again while polls wait on it.
                if !entry.polls.isEmpty {
                    entry.joined = false
                    markDirtyLocked(entry)
                }
            }
        }
    }

    /// The claim's answer: the entries to poll now.
    @_optimize(size) private func claimed(_ reply: RedisValue, room: Int, _ context: PollContext, _ fleet: FleetPollContext, ready: inout [Entry]) {
        let now = Clock.monotonicMs()
        guard let claims = FleetPolls.claims(reply) else {
            scriptFailed("the claim answered something unexpected", context)
            monitor.withLock { nextClaimAt = now + FleetPoller.idleClaimMs }
            return
        }
        var unusable: [(FleetPolls.Claimed, PassAuthError)] = []
        monitor.withLock {
            redisOffset = claims.now - Clock.nowMs()
            if claims.claimed.count >= room {
                nextClaimAt = now
            } else {
                var next = now + FleetPoller.idleClaimMs
                if let due = claims.nextDue { next = min(next, now + max(due - claims.now, 0)) }
                nextClaimAt = max(next, now + FleetPoller.claimSpacingMs)
            }
            for claim in claims.claimed {
                var entry = entries[claim.id]
                if entry == nil || entry!.ended {
                    guard let json = try? JSON.parse(claim.device) else {
                        unusable.append((claim, PassAuthError(.internal, "the poll's record holds no device JSON")))
                        continue
                    }
                    let device: Device
                    do throws(PassAuthError) {
                        device = try Device(json: json)
                    } catch {
                        unusable.append((claim, error))
                        continue
                    }
                    let created = Entry(id: claim.id, code: claim.code, device: device, intervalMs: claim.intervalMs,
                                        baseIntervalMs: claim.baseIntervalMs, notAfter: claim.notAfter, firstDelayMs: 0)
                    entries[claim.id] = created
                    entry = created
                }
                guard let entry else { continue }
                entry.claimToken = claim.token
                entry.claimedAt = now
                entry.intervalMs = claim.intervalMs
                entry.baseIntervalMs = claim.baseIntervalMs
                if entry.notAfter == nil { entry.notAfter = claim.notAfter }
                entry.requests = max(entry.requests, claim.requests)
                entry.by = fleet.polls.instance
                entry.lastRequest = claims.now
                for poll in entry.polls {
                    poll.noteFleet(requests: entry.requests, instance: entry.by, nextRequestAt: nil, intervalMs: entry.intervalMs,
                                   notAfter: entry.notAfter)
                }
                // A request already in flight (made while Redis was unreachable) answers for this claim.
                if !entry.inFlight { ready.append(entry) }
            }
        }
        for (claim, error) in unusable {
            releases.append(fleet.polls.release(id: claim.id, token: claim.token, .failed(error: error.asJSON.serialized()), ttlMs: ttl(nil)))
        }
    }

    // MARK: - Requests

    /// Each device's turn (pacing and 429 waits, one round trip for all), then the requests.
    @_optimize(size) private func begin(_ ready: [Entry], _ context: PollContext, _ fleet: FleetPollContext) {
        let waits = context.service.readiness(for: ready.map(\.device))
        let now = Clock.monotonicMs()
        for (entry, wait) in zip(ready, waits) {
            let (claim, late, interval): (String?, Bool, Int) = monitor.withLock {
                (entry.claimToken, entry.claimToken != nil && now - entry.claimedAt > Int64(entry.intervalMs / 4), entry.intervalMs)
            }
            if wait > 0 || late {
                // Not now: the claim goes back (due after the wait), or the local request waits.
                monitor.withLock {
                    if let claim {
                        entry.claimToken = nil
                        releases.append(fleet.polls.release(id: entry.id, token: claim, .unclaim(waitMs: wait), ttlMs: ttl(entry.notAfter)))
                        dropIfIdleLocked(entry)
                    } else {
                        entry.localNextAt = now + max(wait, 1)
                        entry.timerAt = nil
                        rearmLocked(entry)
                    }
                }
                continue
            }
            send(entry, claimed: claim != nil, interval: interval, context, fleet)
        }
    }

    @_optimize(size) private func send(_ entry: Entry, claimed: Bool, interval: Int, _ context: PollContext, _ fleet: FleetPollContext) {
        let notAfter = monitor.withLock { entry.notAfter }
        if let notAfter, context.clock.nowMs() >= notAfter { return conclude(entry, .expired, .codeExpired(entry.code), fleet) }
        let endpoint: Endpoint = notAfter == nil ? .sessionGet : .profileForCode
        do throws(PassAuthError) {
            // At most half an interval per exchange: the claim's lease (interval + that) covers it, and
            // a dead owner's poll comes due again within 1.5 intervals.
            let (request, token) = try context.service.prepare(endpoint, argument: entry.code, device: entry.device,
                                                               timeoutMs: min(fleet.timeoutMs, interval / 2))
            monitor.withLock {
                entry.inFlight = true
                if !claimed {
                    entry.requests += 1
                    entry.by = fleet.polls.instance
                    entry.lastRequest = redisNow
                }
                for poll in entry.polls {
                    poll.noteFleet(requests: entry.requests, instance: fleet.polls.instance, nextRequestAt: nil,
                                   intervalMs: entry.intervalMs, notAfter: entry.notAfter)
                }
            }
            if claimed { claimedInFlight += 1 }
            context.service.submit(request) { [weak self] outcome in
                guard let self else { return }
                self.monitor.withLock {
                    guard !self.stopping else { return }
                    self.answers.append(Outcome(entry: entry, endpoint: endpoint, token: token, claimed: claimed, outcome: outcome))
                    if self.answers.count == 1 { self.monitor.signal(FleetPoller.scheduler) }
                }
            }
        } catch {
            handle(error, entry, context, fleet)
        }
    }

    /// A round of answers: pending codes go back to the fleet (or to their local timer), found profiles
    /// and failures to the deliverer.
    @_optimize(size) private func judge(_ outcomes: [Outcome], _ context: PollContext, _ fleet: FleetPollContext) {
        for answer in outcomes {
            let entry = answer.entry
            if answer.claimed { claimedInFlight -= 1 }
            let ended: Bool = monitor.withLock {
                entry.inFlight = false
                if entry.ended {
                    entry.claimToken = nil
                    dropIfIdleLocked(entry)
                }
                return entry.ended
            }
            if ended { continue }
            do throws(PassAuthError) {
                let reply = try context.service.answer(answer.outcome, to: answer.endpoint, device: entry.device, token: answer.token)
                monitor.withLock { entry.renewedToken = false }
                if answer.endpoint == .sessionGet {
                    let notAfter = reply.node["notAfter"]?.int64 ?? (context.clock.nowMs() + Poller.defaultCodeLifetimeMs)
                    answered(entry, notAfter: notAfter, fleet, reset: false)
                    continue
                }
                if let profiles = reply.node["profiles"], profiles.count > 0 {
                    monitor.withLock {
                        entry.ended = true
                        deliveries.append(.found(entry, reply))
                        monitor.signal(FleetPoller.deliverer)
                    }
                } else {
                    answered(entry, notAfter: nil, fleet, reset: true)
                }
            } catch {
                handle(error, entry, context, fleet)
            }
        }
    }

    /// The code is still pending: its next request an interval from now, by whichever instance claims
    /// it (or by this one, Redis unreachable).
    @_optimize(size) private func answered(_ entry: Entry, notAfter: Int64?, _ fleet: FleetPollContext, reset: Bool) {
        monitor.withLock {
            if reset { entry.intervalMs = entry.baseIntervalMs }
            if let notAfter { entry.notAfter = notAfter }
            let now = Clock.monotonicMs()
            if let token = entry.claimToken {
                entry.claimToken = nil
                releases.append(fleet.polls.release(id: entry.id, token: token, .pending(intervalMs: entry.intervalMs, notAfter: notAfter),
                                                    ttlMs: ttl(entry.notAfter)))
                monitor.signal(FleetPoller.scheduler)
            }
            entry.localNextAt = now + Int64(entry.intervalMs) + FleetPolls.guardMs
            entry.lastRequest = redisNow + FleetPolls.guardMs
            for poll in entry.polls {
                poll.noteFleet(requests: entry.requests, instance: entry.by, nextRequestAt: Clock.nowMs() + Int64(entry.intervalMs),
                               intervalMs: entry.intervalMs, notAfter: entry.notAfter)
            }
            if degraded { entry.timerAt = nil }
            rearmLocked(entry)
            dropIfIdleLocked(entry)
        }
    }

    /// As the local poller: transient failures and 429s slow the code down (for the whole fleet), a 401
    /// renews the token once, an unknown or expired code ends it EXPIRED, anything else ends it with the
    /// error. A store failure (Redis unreachable while a token or profile is read or written) is
    /// transient here: the next request makes up for it.
    @_optimize(size) private func handle(_ error: PassAuthError, _ entry: Entry, _ context: PollContext, _ fleet: FleetPollContext) {
        let (polls, renewed, interval): ([Poll], Bool, Int) = monitor.withLock { (entry.polls, entry.renewedToken, entry.intervalMs) }
        for poll in polls { poll.noteFailure(error) }
        var disposition: RetryPolicy.Disposition = error.status == .store ? .transient(afterMs: nil) : context.service.policy.classify(error)
        if disposition == .refreshToken {
            if renewed { disposition = .surface } else { monitor.withLock { entry.renewedToken = true } }
        }
        if disposition == .expired { return conclude(entry, .expired, .codeExpired(entry.code), fleet) }
        guard let next = context.service.policy.pollInterval(after: disposition, currentMs: interval, maximumMs: Poller.maximumBackoffMs) else {
            return conclude(entry, error.status, error, fleet)
        }
        if next != interval || disposition != .refreshToken {
            context.logger.log(.warn, "poll of code \(entry.code) for device \(entry.device.id ?? "-"): \(error.message); next request in \(next) ms")
        }
        monitor.withLock { entry.intervalMs = next }
        answered(entry, notAfter: nil, fleet, reset: false)
    }

    /// The record ends failed (expired code, a failure not retried): written for the fleet, and the
    /// local polls end with it.
    @_optimize(size) private func conclude(_ entry: Entry, _ status: Status, _ error: PassAuthError, _ fleet: FleetPollContext) {
        monitor.withLock {
            guard !entry.ended else { return }
            entry.ended = true
            entry.claimToken = nil
            releases.append(fleet.polls.release(id: entry.id, token: nil, .failed(error: error.asJSON.serialized()), ttlMs: ttl(entry.notAfter)))
            deliveries.append(.entry(entry, status, nil, error))
            monitor.signal(FleetPoller.deliverer)
            monitor.signal(FleetPoller.scheduler)
        }
    }

    // MARK: - The deliverer

    /// Persists the profiles this instance found (one store write), marks their records done (one
    /// round trip: the fleet's waiters learn it from the event), then ends the local polls. A store
    /// failure keeps the code polling (the next request finds the profile again).
    @_optimize(size) private func deliver() {
        while let (context, fleet, batch, work) = nextDeliveries() {
            for task in work { task() }
            var found: [(Entry, Answer)] = []
            for delivery in batch { if case .found(let entry, let answer) = delivery { found.append((entry, answer)) } }
            if !found.isEmpty {
                do throws(PassAuthError) {
                    try context.persist(found.map { ($0.0.device, $0.1) })
                    let calls = found.map { entry, answer in
                        fleet.polls.release(id: entry.id, token: nil, .done(answer: answer.bytes), ttlMs: FleetPolls.endedKeepMs)
                    }
                    do throws(PassAuthError) {
                        _ = try fleet.redis.runAll(calls, timeoutMs: min(fleet.timeoutMs, FleetPoller.redisTimeoutMs))
                    } catch {
                        context.logger.log(.warn, "fleet polls: \(found.count) profile(s) stored, but their polls could not be marked done (\(error.message)); other instances will find them again")
                    }
                    for (entry, answer) in found { finish(entry, .ok, Answer(text: answer.bytes), nil) }
                } catch {
                    if error.status == .store {
                        context.logger.log(.warn, "fleet polls: \(found.count) profile(s) found but not stored (\(error.message)); polling on")
                        monitor.withLock {
                            for (entry, _) in found {
                                entry.ended = false
                                storeRetries.append((entry, error))
                            }
                            monitor.signal(FleetPoller.scheduler)
                        }
                    } else {
                        for (entry, _) in found { finish(entry, error.status, nil, error) }
                    }
                }
            }
            for delivery in batch {
                switch delivery {
                case .found: continue
                case .entry(let entry, let status, let result, let error): finish(entry, status, result, error)
                case .poll(let poll, let status, let error): poll.finish(status, error: error)
                }
            }
        }
    }

    @_optimize(size) private func finish(_ entry: Entry, _ status: Status, _ result: Answer?, _ error: PassAuthError?) {
        let polls: [Poll] = monitor.withLock {
            entry.ended = true
            entry.claimToken = nil
            return entry.polls
        }
        for poll in polls { poll.finish(status, result: result, error: error) }
        monitor.withLock { dropIfIdleLocked(entry) }
    }

    @_optimize(size) private func nextDeliveries() -> (PollContext, FleetPollContext, [Delivery], [@Sendable () -> Void])? {
        monitor.withLock {
            while !stopping {
                if let context, let fleet, !deliveries.isEmpty || !tasks.isEmpty {
                    defer { deliveries = []; tasks = [] }
                    return (context, fleet, deliveries, tasks)
                }
                monitor.wait(until: nil, on: FleetPoller.deliverer)
            }
            return nil
        }
    }
}
