import Glibc

// Compiled for size (@_optimize(size) on each function): this code waits on Redis round trips, and
// the library stays under 7 MiB.

/// A Lua script run with EVALSHA (loaded once per connection with SCRIPT LOAD; EVAL again if the
/// server lost it, e.g. after a restart or SCRIPT FLUSH). Every script of the library touches one key,
/// or keys of one hash tag, so it runs unchanged on Redis Cluster.
package struct RedisScript: Sendable, Hashable {
    package let name: String
    package let source: String
    package let sha: String

    @_optimize(size) package init(name: String, source: String) {
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

    @_optimize(size) package init(_ script: RedisScript, keys: [String], arguments: [String]) {
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
///  - `key(_:)`: a name under the config's storeKeyPrefix. The client's own names are `StateKeys`'s:
///    `scoped(name)` under `{<origin>|<serviceProvider>}`, `device(id, name)` under a device's tag
///    (a script's keys must share one hash tag to run on Redis Cluster).
///  - `Client.redis` reaches a client's RedisClient (nil unless its store is Redis); `RedisClient.slot(of:)`
///    is a key's cluster slot.
///
/// Every call is bounded by its `timeoutMs` (waiting for a pooled connection, connecting, writing,
/// reading). Any failure drops the connection it happened on (the next use opens a new one) and is a
/// `PASSAUTH_E_STORE` error naming the server and the cause.
package final class RedisClient: @unchecked Sendable {
    package let location: RedisLocation
    let caFile: String?
    /// "Redis redis://host:port/db" (no credentials).
    package let description: String
    /// "redis://host:port/db" (no credentials).
    package let url: String
    /// At most this many connections for commands (plus the subscription connection).
    static let maximumConnections = 4

    /// The URL's server, and the other nodes of a cluster ("host:port") as MOVED answers name them.
    private let seed: NodePool
    private let nodes = Locked<[String: NodePool]>([:])
    /// The node of each cluster slot (empty until a MOVED answer shows a cluster).
    private let slots = Locked<[String?]>([])
    private let used = Locked(false)
    /// Run once, at the first use of Redis (`whenUsed`).
    private let firstUse = Locked<[@Sendable () -> Void]>([])

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

    @_optimize(size) package init(location: RedisLocation, caFile: String?) {
        self.location = location
        self.caFile = caFile
        seed = NodePool(location: location)
        let host = location.host.containsBytes(":") ? "[\(location.host)]" : location.host
        url = "\(location.tls ? "rediss" : "redis")://\(host):\(location.port)/\(location.database)"
        description = "Redis " + url
    }

    deinit { stop() }

    /// Stops the background thread now (subscriptions end, leases are no longer renewed) and waits
    /// for it, unless called on it. Commands still work. The owner of the client calls it when done
    /// (`passauth_client_free`), so no thread of the library outlives the handle.
    @_optimize(size) package func shutdown() { stop() }

    /// Runs `hook` at the first use of Redis (a command, pipeline or script), on the thread making it,
    /// or now when Redis was already used: how a fleet poller starts its threads with its client's
    /// first call, not at creation.
    @_optimize(size) func whenUsed(_ hook: @escaping @Sendable () -> Void) {
        let now: Bool = firstUse.withLock { hooks in
            if used.withLock({ $0 }) { return true }
            hooks.append(hook)
            return false
        }
        if now { hook() }
    }

    // MARK: - Commands

    /// One command. `key` routes it on Redis Cluster (default: the key of a known single-key
    /// command, else any node; a MOVED or ASK answer is followed in any case).
    @_optimize(size) package func command(_ arguments: [String], key: String? = nil, timeoutMs: Int) throws(PassAuthError) -> RedisValue {
        try execute([Item(words: arguments, script: nil, key: key ?? RedisClient.inferredKey(arguments))], timeoutMs: timeoutMs)[0]
    }

    /// Several commands in one round trip per node (one reply each, in order).
    @_optimize(size) package func pipeline(_ commands: [[String]], timeoutMs: Int) throws(PassAuthError) -> [RedisValue] {
        try execute(commands.map { Item(words: $0, script: nil, key: RedisClient.inferredKey($0)) }, timeoutMs: timeoutMs)
    }

    @_optimize(size) package func run(_ script: RedisScript, keys: [String], arguments: [String], timeoutMs: Int) throws(PassAuthError) -> RedisValue {
        try runAll([RedisScriptCall(script, keys: keys, arguments: arguments)], timeoutMs: timeoutMs)[0]
    }

    /// Scripts in one round trip per node (EVALSHA; SCRIPT LOAD first where the connection's server
    /// has not got the script yet; EVAL if it lost it). Routed by their first key.
    @_optimize(size) package func runAll(_ calls: [RedisScriptCall], timeoutMs: Int) throws(PassAuthError) -> [RedisValue] {
        try execute(calls.map { Item(words: RedisClient.evalsha($0), script: $0, key: $0.keys.first) }, timeoutMs: timeoutMs)
    }

    @_optimize(size) private static func evalsha(_ call: RedisScriptCall) -> [String] {
        ["EVALSHA", call.script.sha, String(call.keys.count)] + call.keys + call.arguments
    }

    @_optimize(size) package func publish(_ channel: String, _ message: String, timeoutMs: Int) throws(PassAuthError) -> Int64 {
        let reply = try command(["PUBLISH", channel, message], timeoutMs: timeoutMs)
        if let error = reply.errorMessage { throw failure("PUBLISH on \(channel) failed: \(error)") }
        return reply.integer ?? 0
    }

    /// Throws the reply's error as a PASSAUTH_E_STORE naming `what`.
    @_optimize(size) package func check(_ reply: RedisValue, _ what: String) throws(PassAuthError) -> RedisValue {
        if let error = reply.errorMessage { throw failure("\(what): \(error)") }
        return reply
    }

    @_optimize(size) package func failure(_ message: String) -> PassAuthError {
        PassAuthError(.store, "\(description): \(message)")
    }

    // MARK: - Routing (Redis Cluster)

    /// A command or script of a batch, with the key that routes it.
    private struct Item {
        var words: [String]
        var script: RedisScriptCall?
        var key: String?
    }

    /// Commands whose second word is their (only) key.
    private static let singleKeyCommands: Set<String> = [
        "GET", "SET", "DEL", "EXISTS", "TYPE", "PTTL", "TTL", "PEXPIRE", "EXPIRE", "PERSIST", "HGET", "HSET", "HMGET",
        "HGETALL", "HDEL", "INCR", "INCRBY", "DECR", "GETDEL", "UNLINK",
    ]

    @_optimize(size) private static func inferredKey(_ words: [String]) -> String? {
        guard words.count >= 2, singleKeyCommands.contains(words[0].uppercased()) else { return nil }
        return words[1]
    }

    /// The cluster slot of a key: CRC16 (XMODEM) of its hash tag (the text between the first '{' and
    /// the next '}', when not empty), else of the whole key, modulo 16384.
    @_optimize(size) package static func slot(of key: String) -> Int {
        var bytes = Array(key.utf8)
        if let open = bytes.firstIndex(of: UInt8(ascii: "{")),
           let close = bytes[(open + 1)...].firstIndex(of: UInt8(ascii: "}")), close > open + 1 {
            bytes = Array(bytes[(open + 1)..<close])
        }
        var crc: UInt16 = 0
        for byte in bytes {
            crc ^= UInt16(byte) << 8
            for _ in 0..<8 { crc = crc & 0x8000 != 0 ? (crc << 1) ^ 0x1021 : crc << 1 }
        }
        return Int(crc) % 16384
    }

    /// The node serving `key`'s slot as far as this client knows (learned from MOVED answers and
    /// CLUSTER SLOTS), else the server of the URL.
    @_optimize(size) private func node(for key: String?) -> NodePool {
        guard let key, let address = slots.withLock({ $0.isEmpty ? nil : $0[RedisClient.slot(of: key)] }) else { return seed }
        return pool(address)
    }

    @_optimize(size) private func pool(_ address: String) -> NodePool {
        if address == seed.address { return seed }
        return nodes.withLock { nodes in
            if let pool = nodes[address] { return pool }
            var node = location
            if let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]) {
                var host = address[..<colon]
                if host.hasPrefix("[") && host.hasSuffix("]") { host = host.dropFirst().dropLast() }
                node.host = String(host)
                node.port = port
            }
            let pool = NodePool(location: node)
            nodes[address] = pool
            return pool
        }
    }

    private enum Redirect {
        case moved(slot: Int, address: String)
        case ask(address: String)

        @_optimize(size) init?(_ reply: RedisValue) {
            guard let message = reply.errorMessage else { return nil }
            let words = message.split(separator: " ")
            guard words.count == 3, let slot = Int(words[1]) else { return nil }
            switch words[0] {
            case "MOVED": self = .moved(slot: slot, address: String(words[2]))
            case "ASK": self = .ask(address: String(words[2]))
            default: return nil
            }
        }
    }

    /// Runs a batch: one round trip per node, then each MOVED / ASK answer followed (a few hops at
    /// most), all within `timeoutMs`.
    @_optimize(size) private func execute(_ items: [Item], timeoutMs: Int) throws(PassAuthError) -> [RedisValue] {
        guard !items.isEmpty else { return [] }
        let deadline = Clock.monotonicMs() + Int64(max(timeoutMs, 1))
        let first = used.withLock { (flag: inout Bool) -> Bool in
            defer { flag = true }
            return !flag
        }
        if first {
            wakeBackground(start: true)
            for hook in firstUse.withLock({ hooks in defer { hooks = [] }; return hooks }) { hook() }
        }
        var replies = [RedisValue](repeating: .null, count: items.count)
        var order: [ObjectIdentifier] = []
        var groups: [ObjectIdentifier: (NodePool, [Int])] = [:]
        for (index, item) in items.enumerated() {
            let node = node(for: item.key)
            let id = ObjectIdentifier(node)
            if groups[id] == nil { order.append(id); groups[id] = (node, []) }
            groups[id]!.1.append(index)
        }
        for id in order {
            let (node, indices) = groups[id]!
            let answers = try exchange(indices.map { items[$0] }, on: node, asking: false, deadline: deadline)
            for (index, answer) in zip(indices, answers) { replies[index] = answer }
        }
        for index in items.indices {
            var hops = 0
            while let redirect = Redirect(replies[index]), hops < 5 {
                hops += 1
                switch redirect {
                case .moved(let slot, let address):
                    learn(slot: slot, address: address, deadline: deadline)
                    replies[index] = try exchange([items[index]], on: pool(address), asking: false, deadline: deadline)[0]
                case .ask(let address):
                    replies[index] = try exchange([items[index]], on: pool(address), asking: true, deadline: deadline)[0]
                }
            }
        }
        return replies
    }

    /// A slot has moved: remember where, and learn the whole map from that node once (CLUSTER SLOTS).
    @_optimize(size) private func learn(slot: Int, address: String, deadline: Int64) {
        let first = slots.withLock { slots in
            let first = slots.isEmpty
            if first { slots = [String?](repeating: nil, count: 16384) }
            slots[slot] = address
            return first
        }
        guard first, let reply = try? exchange([Item(words: ["CLUSTER", "SLOTS"], script: nil, key: nil)], on: pool(address),
                                               asking: false, deadline: deadline)[0],
              let ranges = reply.elements else { return }
        slots.withLock { slots in
            for range in ranges {
                guard let parts = range.elements, parts.count >= 3, let low = parts[0].integer, let high = parts[1].integer,
                      let master = parts[2].elements, master.count >= 2, let host = master[0].text, let port = master[1].integer,
                      low >= 0, high < 16384, low <= high else { continue }
                let name = host.isEmpty ? location.host : host
                let address = (name.containsBytes(":") ? "[\(name)]" : name) + ":\(port)"
                for index in Int(low)...Int(high) { slots[index] = address }
            }
        }
    }

    /// One round trip on one node: the items (each preceded by ASKING when `asking`), with the scripts
    /// this connection's server lacks loaded first, and EVAL for any it lost.
    @_optimize(size) private func exchange(_ items: [Item], on node: NodePool, asking: Bool, deadline: Int64) throws(PassAuthError) -> [RedisValue] {
        try withConnection(node, deadline: deadline) { connection throws(RedisFailure) in
            var loading: [RedisScript] = []
            for item in items {
                if let call = item.script, !connection.loadedScripts.contains(call.script.sha), !loading.contains(call.script) {
                    loading.append(call.script)
                }
            }
            for script in loading { try connection.append(["SCRIPT", "LOAD", script.source]) }
            for item in items {
                if asking { try connection.append(["ASKING"]) }
                try connection.append(item.words)
            }
            var replies = try connection.exchange(deadline: deadline)
            for (script, reply) in zip(loading, replies) where reply.text == script.sha { connection.loadedScripts.insert(script.sha) }
            replies.removeFirst(loading.count)
            if asking { replies = stride(from: 1, to: replies.count, by: 2).map { replies[$0] } }
            // Lost meanwhile (SCRIPT FLUSH): EVAL carries the source.
            let missing = replies.indices.filter { replies[$0].errorMessage?.hasPrefix("NOSCRIPT") == true && items[$0].script != nil }
            if !missing.isEmpty {
                for index in missing {
                    let call = items[index].script!
                    if asking { try connection.append(["ASKING"]) }
                    try connection.append(["EVAL", call.script.source, String(call.keys.count)] + call.keys + call.arguments)
                }
                var again = try connection.exchange(deadline: deadline)
                if asking { again = stride(from: 1, to: again.count, by: 2).map { again[$0] } }
                for (index, reply) in zip(missing, again) { replies[index] = reply }
            }
            return replies
        }
    }

    // MARK: - The pools

    /// The connections to one server: at most `maximumConnections`, idle ones reused.
    final class NodePool: @unchecked Sendable {
        let location: RedisLocation
        let address: String
        let monitor = Monitor()
        // Guarded by monitor.
        var idle: [RedisConnection] = []
        var opened = 0

        @_optimize(size) init(location: RedisLocation) {
            self.location = location
            address = (location.host.containsBytes(":") ? "[\(location.host)]" : location.host) + ":\(location.port)"
        }
    }

    /// Runs `body` on a pooled connection of `node` (opened if none is idle and fewer than the maximum
    /// are open), by `deadline`. A connection that failed is closed, never returned to the pool.
    @_optimize(size) private func withConnection<T>(_ node: NodePool, deadline: Int64, _ body: (RedisConnection) throws(RedisFailure) -> T) throws(PassAuthError) -> T {
        let connection = try checkOut(node, deadline: deadline)
        do throws(RedisFailure) {
            let result = try body(connection)
            checkIn(connection, to: node)
            return result
        } catch {
            checkIn(connection, to: node)
            throw failure(error.message + RedisClient.hint(error.message))
        }
    }

    private enum CheckOut { case pooled(RedisConnection), open, busy }

    @_optimize(size) private func checkOut(_ node: NodePool, deadline: Int64) throws(PassAuthError) -> RedisConnection {
        let outcome: CheckOut = node.monitor.withLock {
            while true {
                while let connection = node.idle.popLast() {
                    if !connection.isStale { return .pooled(connection) }
                    node.opened -= 1  // closed by the server meanwhile: dropped, never used
                }
                if node.opened < RedisClient.maximumConnections {
                    node.opened += 1
                    return .open
                }
                if Clock.monotonicMs() >= deadline { return .busy }
                node.monitor.wait(until: deadline)
            }
        }
        switch outcome {
        case .pooled(let connection): return connection
        case .busy: throw failure("timed out waiting for a connection to \(node.address) (all \(RedisClient.maximumConnections) busy)")
        case .open: break
        }
        switch openConnection(node.location, timeoutMs: RedisConnection.remaining(deadline)) {
        case .success(let connection): return connection
        case .failure(let error):
            node.monitor.withLock {
                node.opened -= 1
                node.monitor.broadcast()
            }
            throw error
        }
    }

    @_optimize(size) private func checkIn(_ connection: RedisConnection, to node: NodePool) {
        node.monitor.withLock {
            if connection.broken { node.opened -= 1 } else { node.idle.append(connection) }
            node.monitor.broadcast()
        }
    }

    /// A new connection to `node` (default: the URL's server), authenticated and on the configured
    /// database.
    @_optimize(size) func openConnection(_ node: RedisLocation? = nil, timeoutMs: Int) -> Result<RedisConnection, PassAuthError> {
        let deadline = Clock.monotonicMs() + Int64(max(timeoutMs, 1))
        let connection: RedisConnection
        switch RedisConnection.open(node ?? location, caFile: caFile, timeoutMs: timeoutMs) {
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
            let replies = try connection.exchange(deadline: deadline)
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
    @_optimize(size) private static func hint(_ message: String) -> String {
        if message.containsBytes("Connection refused") { return " (is redis-server running there?)" }
        if message.containsBytes("closed the connection during the handshake") || message.containsBytes("wrong version number") {
            return " (does the URL's scheme match the server: redis:// for plain TCP, rediss:// for TLS?)"
        }
        return ""
    }

    // MARK: - Subscriptions

    @_optimize(size) package func subscribe(_ channel: String, _ handler: @escaping @Sendable (RedisEvent) -> Void) -> RedisSubscription {
        let id: UInt64 = background.withLock { state in
            let id = state.nextId
            state.nextId += 1
            state.handlers[channel, default: []].append((id, handler))
            return id
        }
        wakeBackground(start: used.withLock { $0 })
        return RedisSubscription(channel: channel, id: id)
    }

    @_optimize(size) package func unsubscribe(_ subscription: RedisSubscription) {
        background.withLock { state in
            state.handlers[subscription.channel]?.removeAll { $0.id == subscription.id }
            if state.handlers[subscription.channel]?.isEmpty == true { state.handlers[subscription.channel] = nil }
        }
        wakeBackground(start: false)
    }

    // MARK: - Leases (renewed by the background thread)

    @_optimize(size) func holdLease(_ lease: Lease) {
        background.withLock { $0.leases[lease.key + "\u{0}" + lease.token] = lease }
        wakeBackground(start: true)
    }

    @_optimize(size) func releaseLease(key: String, token: String) {
        _ = background.withLock { $0.leases.removeValue(forKey: key + "\u{0}" + token) }
    }

    // MARK: - The background thread

    /// Wakes the thread; starts it first when `start` (and there is something for it to do).
    @_optimize(size) private func wakeBackground(start: Bool) {
        let launch: Bool = background.withLock { state in
            guard start, state.thread == nil, !state.stopping, !(state.handlers.isEmpty && state.leases.isEmpty) else { return false }
            let weak = WeakClient(self)
            guard case .success(let thread) = Threads.start("passauth-redis", { RedisClient.backgroundLoop(weak) }) else { return false }
            state.thread = thread
            return true
        }
        if !launch { wakePipe?.wake() }
    }

    private final class WeakClient {
        weak var client: RedisClient?
        @_optimize(size) init(_ client: RedisClient) { self.client = client }
    }

    @_optimize(size) private func stop() {
        if background.withLock({ $0.stopping && $0.thread == nil }) { return }
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
    @_optimize(size) private static func backgroundLoop(_ weak: WeakClient) {
        var subscriber = Subscriber()
        while true {
            guard let client = weak.client else { return }
            guard client.step(&subscriber) else { return }
        }
    }

    /// One round: leases due, subscriptions in line with the handlers, then a read of at most a
    /// second. false when stopping.
    @_optimize(size) private func step(_ subscriber: inout Subscriber) -> Bool {
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
            switch openConnection(timeoutMs: 2000) {
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

    @_optimize(size) private func wait(ms: Int64) {
        guard let wakePipe else { Clock.sleep(ms: ms); return }
        var descriptor = pollfd(fd: wakePipe.readFd, events: Int16(POLLIN), revents: 0)
        _ = poll(&descriptor, 1, Int32(clamping: ms))
        wakePipe.drain()
    }

    @_optimize(size) private func deliver(_ reply: RedisValue, _ subscriber: inout Subscriber) {
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

    @_optimize(size) private func renew(_ lease: Lease) {
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
