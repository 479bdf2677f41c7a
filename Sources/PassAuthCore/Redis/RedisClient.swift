import CCurl
import Glibc

/// A Lua script run with EVALSHA (loaded once per connection with SCRIPT LOAD; EVAL again if the
/// server lost it, e.g. after a restart or SCRIPT FLUSH). Every script of the library touches one key,
/// or keys of one hash tag, so it runs unchanged on Redis Cluster.
package struct RedisScript: Sendable, Hashable {
    package let name: String
    package let source: String
    package let sha: String

    package init(name: String, source: String) {
        self.name = name
        self.source = source
        sha = RedisScript.sha1(source)
    }
}

/// One script invocation of a pipeline (`RedisClient.runAll`).
package struct RedisScriptCall: Sendable {
    package var script: RedisScript
    package var keys: [String]
    package var arguments: [String]

    package init(_ script: RedisScript, keys: [String], arguments: [String]) {
        self.script = script
        self.keys = keys
        self.arguments = arguments
    }
}

/// What a subscription handler receives.
package enum RedisEvent: Sendable {
    /// A message published on the channel.
    case message(String)
    /// The channel's subscription is (again) in place. `afterGap`: it had been lost (Redis restarted,
    /// the connection broke) and messages published meanwhile were missed: a handler that keeps state
    /// derived from them (cached permits) should drop it.
    case subscribed(afterGap: Bool)
}

/// Identifies a subscription for `RedisClient.unsubscribe`.
package struct RedisSubscription: Sendable, Hashable {
    package let channel: String
    let id: UInt64
}

/// The Redis client of one passauth client: a small pool of connections shared by the client's
/// threads, and one background thread ("passauth-redis") that reads the subscriptions and renews the
/// leases held. Used by `RedisStore` (the state), `FleetTurns` (pacing and 429 waits shared by a
/// fleet) and the fleet invalidation of cached permits.
///
/// The API for other fleet-wide features (the fleet poller):
///
///  - `command(_:timeoutMs:)`, `pipeline(_:timeoutMs:)`: any Redis command(s) (one round trip for a
///    pipeline; no MULTI, so keys of different hash tags may live on different cluster nodes).
///  - `run(_:keys:arguments:timeoutMs:)`: a `RedisScript` (EVALSHA, loaded on demand) with its keys and
///    arguments; `runAll(_:timeoutMs:)` many in one round trip (one reply each, in order). A script's
///    error is returned as `.error`, not thrown; a failure to reach Redis is thrown.
///  - `publish(_:_:timeoutMs:)`: PUBLISH; the number of subscribers reached.
///  - `subscribe(_:_:)` / `unsubscribe(_:)`: a handler per channel (any number per channel), called on
///    the background thread, in order, with `.message(text)` and `.subscribed(afterGap:)`. Handlers
///    must be quick and must not wait for Redis themselves (they run on the thread that reads the
///    subscriptions). The subscription connection is opened at the first use of Redis (never by
///    `passauth_client_new`) and reopened after an outage, every channel resubscribed.
///  - `key(_:)`: a name under the config's storeKeyPrefix; `StateKeys` has the client's own.
///
/// Every call is bounded by its `timeoutMs` (waiting for a pooled connection, connecting, writing,
/// reading). Any failure drops the connection it happened on (the next use opens a new one) and is a
/// `PASSAUTH_E_STORE` error naming the server and the cause.
package final class RedisClient: @unchecked Sendable {
    package let location: RedisLocation
    let caFile: String?
    package let prefix: String
    /// "Redis redis://host:port/db" (no credentials).
    package let description: String
    /// At most this many connections for commands (plus the subscription connection).
    static let maximumConnections = 4

    private let monitor = Monitor()
    // Guarded by monitor: the pool.
    private var idle: [RedisConnection] = []
    private var opened = 0
    private var used = false

    // The subscriptions and leases, read by the background thread.
    private struct Background {
        var handlers: [String: [(id: UInt64, handler: @Sendable (RedisEvent) -> Void)]] = [:]
        var nextId: UInt64 = 1
        var leases: [String: Lease] = [:]
        var thread: pthread_t?
        var stopping = false
    }

    struct Lease {
        var key: String
        var token: String
        var leaseMs: Int64
        var renewAt: Int64
    }

    private let background = Locked(Background())
    private let wakePipe = WakePipe()

    package init(location: RedisLocation, caFile: String?, prefix: String) {
        self.location = location
        self.caFile = caFile
        self.prefix = prefix
        let host = location.host.contains(":") ? "[\(location.host)]" : location.host
        description = "Redis \(location.tls ? "rediss" : "redis")://\(host):\(location.port)/\(location.database)"
    }

    deinit { stop() }

    /// A name under the key prefix ("passauth:" + name).
    package func key(_ name: String) -> String { prefix + name }

    // MARK: - Commands

    package func command(_ arguments: [String], timeoutMs: Int) throws(PassAuthError) -> RedisValue {
        try pipeline([arguments], timeoutMs: timeoutMs)[0]
    }

    package func pipeline(_ commands: [[String]], timeoutMs: Int) throws(PassAuthError) -> [RedisValue] {
        guard !commands.isEmpty else { return [] }
        return try withConnection(timeoutMs: timeoutMs) { connection, deadline throws(RedisFailure) in
            for command in commands { try connection.append(command) }
            return try connection.exchange(timeoutMs: timeoutMs, deadline: deadline)
        }
    }

    package func run(_ script: RedisScript, keys: [String], arguments: [String], timeoutMs: Int) throws(PassAuthError) -> RedisValue {
        try runAll([RedisScriptCall(script, keys: keys, arguments: arguments)], timeoutMs: timeoutMs)[0]
    }

    package func runAll(_ calls: [RedisScriptCall], timeoutMs: Int) throws(PassAuthError) -> [RedisValue] {
        guard !calls.isEmpty else { return [] }
        return try withConnection(timeoutMs: timeoutMs) { connection, deadline throws(RedisFailure) in
            var loading: [RedisScript] = []
            for call in calls where !connection.loadedScripts.contains(call.script.sha) && !loading.contains(call.script) {
                loading.append(call.script)
            }
            for script in loading { try connection.append(["SCRIPT", "LOAD", script.source]) }
            for call in calls { try connection.append(RedisClient.evalsha(call)) }
            var replies = try connection.exchange(timeoutMs: timeoutMs, deadline: deadline)
            for (script, reply) in zip(loading, replies) where reply.text == script.sha { connection.loadedScripts.insert(script.sha) }
            replies.removeFirst(loading.count)
            // Lost meanwhile (SCRIPT FLUSH): EVAL carries the source.
            let missing = replies.indices.filter { replies[$0].errorMessage?.hasPrefix("NOSCRIPT") == true }
            if !missing.isEmpty {
                for index in missing {
                    let call = calls[index]
                    try connection.append(["EVAL", call.script.source, String(call.keys.count)] + call.keys + call.arguments)
                }
                let again = try connection.exchange(timeoutMs: timeoutMs, deadline: deadline)
                for (index, reply) in zip(missing, again) { replies[index] = reply }
            }
            return replies
        }
    }

    private static func evalsha(_ call: RedisScriptCall) -> [String] {
        ["EVALSHA", call.script.sha, String(call.keys.count)] + call.keys + call.arguments
    }

    package func publish(_ channel: String, _ message: String, timeoutMs: Int) throws(PassAuthError) -> Int64 {
        let reply = try command(["PUBLISH", channel, message], timeoutMs: timeoutMs)
        if let error = reply.errorMessage { throw failure("PUBLISH on \(channel) failed: \(error)") }
        return reply.integer ?? 0
    }

    /// Throws the reply's error as a PASSAUTH_E_STORE naming `what`.
    package func check(_ reply: RedisValue, _ what: String) throws(PassAuthError) -> RedisValue {
        if let error = reply.errorMessage { throw failure("\(what): \(error)") }
        return reply
    }

    package func failure(_ message: String) -> PassAuthError {
        PassAuthError(.store, "\(description): \(message)")
    }

    // MARK: - The pool

    /// Runs `body` on a pooled connection (opened if none is idle and fewer than the maximum are
    /// open), all within `timeoutMs`. A connection that failed is closed, never returned to the pool.
    private func withConnection<T>(timeoutMs: Int, _ body: (RedisConnection, Int64) throws(RedisFailure) -> T) throws(PassAuthError) -> T {
        let deadline = Clock.monotonicMs() + Int64(max(timeoutMs, 1))
        let connection = try checkOut(deadline: deadline)
        do throws(RedisFailure) {
            let result = try body(connection, deadline)
            checkIn(connection)
            return result
        } catch {
            checkIn(connection)
            throw failure(error.message + RedisClient.hint(error.message))
        }
    }

    private enum CheckOut { case pooled(RedisConnection), open, busy }

    private func checkOut(deadline: Int64) throws(PassAuthError) -> RedisConnection {
        let (outcome, first): (CheckOut, Bool) = monitor.withLock {
            let first = !used
            used = true
            while true {
                while let connection = idle.popLast() {
                    if !connection.isStale { return (.pooled(connection), first) }
                    opened -= 1  // closed by the server meanwhile: dropped, never used
                }
                if opened < RedisClient.maximumConnections {
                    opened += 1
                    return (.open, first)
                }
                if Clock.monotonicMs() >= deadline { return (.busy, first) }
                monitor.wait(until: deadline)
            }
        }
        if first { wakeBackground(start: true) }
        switch outcome {
        case .pooled(let connection): return connection
        case .busy: throw failure("timed out waiting for a connection (all \(RedisClient.maximumConnections) busy)")
        case .open: break
        }
        switch openConnection(timeoutMs: RedisConnection.remaining(deadline)) {
        case .success(let connection): return connection
        case .failure(let error):
            monitor.withLock {
                opened -= 1
                monitor.broadcast()
            }
            throw error
        }
    }

    private func checkIn(_ connection: RedisConnection) {
        monitor.withLock {
            if connection.broken { opened -= 1 } else { idle.append(connection) }
            monitor.broadcast()
        }
    }

    /// A new connection, authenticated and on the configured database.
    func openConnection(timeoutMs: Int) -> Result<RedisConnection, PassAuthError> {
        let deadline = Clock.monotonicMs() + Int64(max(timeoutMs, 1))
        let connection: RedisConnection
        switch RedisConnection.open(location, caFile: caFile, timeoutMs: timeoutMs) {
        case .success(let opened): connection = opened
        case .failure(let error):
            return .failure(error.isLoad ? PassAuthError(.store, error.message) : failure(error.message + RedisClient.hint(error.message)))
        }
        var setup: [[String]] = []
        if let password = location.password {
            setup.append(location.username.map { ["AUTH", $0, password] } ?? ["AUTH", password])
        }
        if location.database != 0 { setup.append(["SELECT", String(location.database)]) }
        guard !setup.isEmpty else { return .success(connection) }
        do throws(RedisFailure) {
            for command in setup { try connection.append(command) }
            let replies = try connection.exchange(timeoutMs: timeoutMs, deadline: deadline)
            for (command, reply) in zip(setup, replies) {
                guard let error = reply.errorMessage else { continue }
                if command[0] == "AUTH" {
                    return .failure(failure("authentication failed (\(error)): check the user name and password in the store URL"))
                }
                return .failure(failure("SELECT \(location.database) failed: \(error)"))
            }
            return .success(connection)
        } catch {
            return .failure(failure(error.message + RedisClient.hint(error.message)))
        }
    }

    /// What to do about a failure, when the cause is clear.
    private static func hint(_ message: String) -> String {
        if message.contains("Connection refused") { return " (is redis-server running there?)" }
        if message.contains("closed the connection during the handshake") || message.contains("wrong version number") {
            return " (does the URL's scheme match the server: redis:// for plain TCP, rediss:// for TLS?)"
        }
        return ""
    }

    // MARK: - Subscriptions

    package func subscribe(_ channel: String, _ handler: @escaping @Sendable (RedisEvent) -> Void) -> RedisSubscription {
        let id: UInt64 = background.withLock { state in
            let id = state.nextId
            state.nextId += 1
            state.handlers[channel, default: []].append((id, handler))
            return id
        }
        wakeBackground(start: monitor.withLock { used })
        return RedisSubscription(channel: channel, id: id)
    }

    package func unsubscribe(_ subscription: RedisSubscription) {
        background.withLock { state in
            state.handlers[subscription.channel]?.removeAll { $0.id == subscription.id }
            if state.handlers[subscription.channel]?.isEmpty == true { state.handlers[subscription.channel] = nil }
        }
        wakeBackground(start: false)
    }

    // MARK: - Leases (renewed by the background thread)

    func holdLease(_ lease: Lease) {
        background.withLock { $0.leases[lease.key + "\u{0}" + lease.token] = lease }
        wakeBackground(start: true)
    }

    func releaseLease(key: String, token: String) {
        _ = background.withLock { $0.leases.removeValue(forKey: key + "\u{0}" + token) }
    }

    // MARK: - The background thread

    /// Wakes the thread; starts it first when `start` (and there is something for it to do).
    private func wakeBackground(start: Bool) {
        let launch: Bool = background.withLock { state in
            guard start, state.thread == nil, !state.stopping, !(state.handlers.isEmpty && state.leases.isEmpty) else { return false }
            var thread = pthread_t()
            let box = Unmanaged.passRetained(WeakClient(self)).toOpaque()
            let result = pthread_create(&thread, nil, { box in
                let weak = Unmanaged<WeakClient>.fromOpaque(box!).takeRetainedValue()
                ccurl_name_this_thread("passauth-redis")
                RedisClient.backgroundLoop(weak)
                return nil
            }, box)
            guard result == 0 else {
                Unmanaged<WeakClient>.fromOpaque(box).release()
                return false
            }
            state.thread = thread
            return true
        }
        if !launch { wakePipe?.wake() }
    }

    private final class WeakClient {
        weak var client: RedisClient?
        init(_ client: RedisClient) { self.client = client }
    }

    private func stop() {
        let thread: pthread_t? = background.withLock { state in
            state.stopping = true
            defer { state.thread = nil }
            return state.thread
        }
        wakePipe?.wake()
        if let thread {
            if pthread_equal(thread, pthread_self()) != 0 { pthread_detach(thread) } else { pthread_join(thread, nil) }
        }
    }

    /// The subscription connection's state, owned by the background thread.
    private struct Subscriber {
        var connection: RedisConnection?
        /// Channels subscribed on `connection` (confirmed or asked).
        var channels: Set<String> = []
        /// Channels that were subscribed once: a new subscription of one of them follows a gap.
        var everSubscribed: Set<String> = []
        var retryAt: Int64 = 0
        var failures = 0
    }

    /// Runs until the client is freed, holding it only for one step at a time (a handler's capture
    /// may release the last reference: the thread then detaches itself in `stop`).
    private static func backgroundLoop(_ weak: WeakClient) {
        var subscriber = Subscriber()
        while true {
            guard let client = weak.client else { return }
            guard client.step(&subscriber) else { return }
        }
    }

    /// One round: leases due, subscriptions in line with the handlers, then a read of at most a
    /// second. false when stopping.
    private func step(_ subscriber: inout Subscriber) -> Bool {
        let (wanted, leases, stopping): (Set<String>, [Lease], Bool) = background.withLock { state in
            (Set(state.handlers.keys), Array(state.leases.values), state.stopping)
        }
        if stopping { return false }
        let now = Clock.monotonicMs()
        for lease in leases where lease.renewAt <= now { renew(lease) }
        var waitMs: Int64 = 1000
        if let next = background.withLock({ $0.leases.values.map(\.renewAt).min() }) { waitMs = max(1, min(waitMs, next - Clock.monotonicMs())) }

        if wanted.isEmpty && subscriber.connection != nil {
            subscriber.connection = nil  // nothing to listen to: close it (a later subscribe reopens)
            subscriber.channels = []
        }
        if !wanted.isEmpty && subscriber.connection == nil && Clock.monotonicMs() >= subscriber.retryAt {
            switch openConnection(timeoutMs: 5000) {
            case .success(let connection):
                subscriber.connection = connection
                subscriber.channels = []
                subscriber.failures = 0
            case .failure:
                subscriber.failures += 1
                subscriber.retryAt = Clock.monotonicMs() + min(Int64(250) << min(subscriber.failures, 3), 2000)
            }
        }
        guard let connection = subscriber.connection else {
            wait(ms: min(waitMs, max(1, subscriber.retryAt - Clock.monotonicMs())))
            return true
        }
        let add = wanted.subtracting(subscriber.channels)
        let remove = subscriber.channels.subtracting(wanted)
        do throws(RedisFailure) {
            if !add.isEmpty { try connection.append(["SUBSCRIBE"] + add.sorted()) }
            if !remove.isEmpty { try connection.append(["UNSUBSCRIBE"] + remove.sorted()) }
            if !add.isEmpty || !remove.isEmpty {
                try connection.flush(timeoutMs: 5000)
                subscriber.channels = wanted
            }
            wakePipe?.drain()
            switch try connection.read(timeoutMs: Int(waitMs), wakeFd: wakePipe?.readFd ?? -1) {
            case .reply(let reply): deliver(reply, &subscriber)
            case .timedOut, .woken: break
            }
        } catch {
            subscriber.connection = nil
            subscriber.channels = []
            subscriber.retryAt = Clock.monotonicMs() + 100
        }
        return true
    }

    private func wait(ms: Int64) {
        guard let wakePipe else { Clock.sleep(ms: ms); return }
        var descriptor = pollfd(fd: wakePipe.readFd, events: Int16(POLLIN), revents: 0)
        _ = poll(&descriptor, 1, Int32(clamping: ms))
        wakePipe.drain()
    }

    private func deliver(_ reply: RedisValue, _ subscriber: inout Subscriber) {
        guard let parts = reply.elements, parts.count >= 3, let kind = parts[0].text, let channel = parts[1].text else { return }
        let event: RedisEvent
        switch kind {
        case "message":
            guard let text = parts[2].text else { return }
            event = .message(text)
        case "subscribe":
            event = .subscribed(afterGap: !subscriber.everSubscribed.insert(channel).inserted)
        default:
            return
        }
        let handlers = background.withLock { $0.handlers[channel]?.map(\.handler) ?? [] }
        for handler in handlers { handler(event) }
    }

    private func renew(_ lease: Lease) {
        let reply = try? run(RedisStore.renewScript, keys: [lease.key], arguments: [lease.token, String(lease.leaseMs)],
                             timeoutMs: Int(max(lease.leaseMs / 3, 100)))
        background.withLock { state in
            let id = lease.key + "\u{0}" + lease.token
            guard state.leases[id] != nil else { return }
            // Renewed: again in a third of the lease. Not renewed (Redis unreachable): try again soon;
            // lost (another holder): stop renewing.
            if reply?.integer == 0 { state.leases[id] = nil; return }
            state.leases[id]?.renewAt = Clock.monotonicMs() + (reply == nil ? 200 : lease.leaseMs / 3)
        }
    }
}
