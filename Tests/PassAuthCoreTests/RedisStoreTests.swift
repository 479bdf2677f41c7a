import Foundation
import Synchronization
import Testing
@testable import PassAuthCore

/// The Redis store against real redis-server processes (RedisSupport.swift): what the shared contract
/// (StateStoreContractTests, kind redis) does not cover.
@Suite(.serialized) struct RedisStoreTests {
    func store(_ server: RedisServer = .shared, prefix: String = uniquePrefix(), leaseMs: Int64 = 10_000) -> PrefixedStore {
        PrefixedStore(RedisStore(client: server.client(), leaseMs: leaseMs), prefix: prefix)
    }

    @Test func compareAndSetAcrossTwoClients() throws {
        let prefix = uniquePrefix()
        let a = store(prefix: prefix), b = store(prefix: prefix)
        guard case .stored(let v1) = try a.put("k", value: "from-a", expectedVersion: 0, ttlMs: 0, timeoutMs: 2000) else {
            Issue.record("a's first write conflicted"); return
        }
        // b reads a's write, a writes again, b's write computed from the old version conflicts.
        let seen = try #require(try b.get("k", timeoutMs: 2000))
        #expect(seen == StoredValue(value: "from-a", version: v1))
        guard case .stored = try a.put("k", value: "a-again", expectedVersion: v1, ttlMs: 0, timeoutMs: 2000) else {
            Issue.record("a's second write conflicted"); return
        }
        #expect(try b.put("k", value: "from-b", expectedVersion: seen.version, ttlMs: 0, timeoutMs: 2000) == .conflict)
        #expect(try b.get("k", timeoutMs: 2000)?.value == "a-again")
        #expect(try a.put("new", value: "x", expectedVersion: 0, ttlMs: 0, timeoutMs: 2000) != .conflict)
        #expect(try b.put("new", value: "y", expectedVersion: 0, ttlMs: 0, timeoutMs: 2000) == .conflict)
    }

    /// A delete leaves a tombstone with the version and a TTL; the key's versions keep growing.
    @Test func deleteKeepsATombstoneAndVersionsNeverRepeat() throws {
        let prefix = uniquePrefix()
        let redis = RedisServer.shared.client()
        let s = PrefixedStore(RedisStore(client: redis, tombstoneTTLMs: 60_000), prefix: prefix)
        guard case .stored(let v1) = try s.put("k", value: "1", expectedVersion: 0, ttlMs: 0, timeoutMs: 2000),
              case .stored(let v2) = try s.put("k", value: nil, expectedVersion: v1, ttlMs: 0, timeoutMs: 2000) else {
            Issue.record("writes conflicted"); return
        }
        let fields = try redis.command(["HGETALL", prefix + "k"], timeoutMs: 2000).elements?.compactMap(\.text) ?? []
        #expect(fields == ["v", String(v2)])
        let ttl = try #require(try redis.command(["PTTL", prefix + "k"], timeoutMs: 2000).integer)
        #expect(ttl > 50_000 && ttl <= 60_000)
        #expect(try s.get("k", timeoutMs: 2000) == nil)
        #expect(try s.put("k", value: "stale", expectedVersion: v1, ttlMs: 0, timeoutMs: 2000) == .conflict)
        guard case .stored(let v3) = try s.put("k", value: "2", expectedVersion: 0, ttlMs: 0, timeoutMs: 2000) else {
            Issue.record("write after delete conflicted"); return
        }
        #expect(v3 > v2)
        #expect(try redis.command(["PTTL", prefix + "k"], timeoutMs: 2000).integer == -1)  // a live value without TTL: no expiry
        // Even once the key is gone entirely (its TTL passed), a new version is above all old ones.
        _ = try redis.command(["DEL", prefix + "k"], timeoutMs: 2000)
        guard case .stored(let v4) = try s.put("k", value: "3", expectedVersion: 0, ttlMs: 0, timeoutMs: 2000) else {
            Issue.record("write after expiry conflicted"); return
        }
        #expect(v4 > v3)
    }

    @Test func ttlIsAPexpire() throws {
        let prefix = uniquePrefix()
        let redis = RedisServer.shared.client()
        let s = PrefixedStore(RedisStore(client: redis), prefix: prefix)
        _ = try s.put("t", value: "v", expectedVersion: 0, ttlMs: 5_000, timeoutMs: 2000)
        let ttl = try #require(try redis.command(["PTTL", prefix + "t"], timeoutMs: 2000).integer)
        #expect(ttl > 4_000 && ttl <= 5_000)
    }

    /// putAll: one round trip for many keys, each conditional on its own.
    @Test func putAllIsOnePipeline() throws {
        let s = store()
        _ = try s.put("d3", value: "old", expectedVersion: 0, ttlMs: 0, timeoutMs: 2000)
        let writes = (0..<50).map { StoreWrite(key: "d\($0)", value: "v\($0)", expectedVersion: 0) }
        let results = try s.putAll(writes, timeoutMs: 2000)
        #expect(results.filter { $0 == .conflict }.count == 1 && results[3] == .conflict)
        #expect(try s.get("d49", timeoutMs: 2000)?.value == "v49")
    }

    /// A holder that died (its lease is never renewed nor released) keeps the lock at most its lease.
    @Test func deadHoldersLeaseExpires() throws {
        let prefix = uniquePrefix()
        let redis = RedisServer.shared.client()
        _ = try redis.command(["SET", prefix + "L", "a-dead-process", "NX", "PX", "400"], timeoutMs: 2000)
        let s = store(prefix: prefix)
        #expect(throws: PassAuthError.self) { try s.withLock("L", timeoutMs: 100) { () throws(PassAuthError) in } }
        let start = Clock.monotonicMs()
        try s.withLock("L", timeoutMs: 3000) { () throws(PassAuthError) in
            #expect(try! redis.command(["GET", prefix + "L"], timeoutMs: 2000).text != "a-dead-process")
        }
        #expect(Clock.monotonicMs() - start >= 200)
        #expect(try redis.command(["EXISTS", prefix + "L"], timeoutMs: 2000).integer == 0)  // released
    }

    /// A body that runs longer than the lease keeps the lock: the lease is renewed while held.
    @Test func leaseIsRenewedWhileHeld() throws {
        let prefix = uniquePrefix()
        let a = store(prefix: prefix, leaseMs: 300), b = store(prefix: prefix, leaseMs: 300)
        let bGotIt = Atomic<Bool>(false)
        try a.withLock("L", timeoutMs: 2000) { () throws(PassAuthError) in
            let other = Thread {
                if (try? b.withLock("L", timeoutMs: 700) { () throws(PassAuthError) in }) != nil { bGotIt.store(true, ordering: .relaxed) }
            }
            other.start()
            usleep(1_000_000)  // > 3 leases
        }
        usleep(100_000)
        let bWasLetIn = bGotIt.load(ordering: .relaxed)
        #expect(!bWasLetIn)
        try b.withLock("L", timeoutMs: 1000) { () throws(PassAuthError) in }
    }

    /// Redis down: a typed error naming the cause, nothing half-written; back up: calls work again
    /// (a server with an append-only file, so its data survives the restart).
    @Test func redisDownThenUp() throws {
        let server = try RedisServer(extra: ["--appendonly", "yes", "--appendfsync", "always"])
        let s = store(server)
        guard case .stored(let v1) = try s.put("k", value: "before", expectedVersion: 0, ttlMs: 0, timeoutMs: 2000) else {
            Issue.record("conflict"); return
        }
        server.stop()
        for attempt in 0..<2 {
            #expect { try s.put("k", value: "during", expectedVersion: v1, ttlMs: 0, timeoutMs: 500) } throws: { error in
                let e = error as? PassAuthError
                return e?.status == .store && e?.message.contains("127.0.0.1:\(server.port)") == true
                    && e?.message.contains("Connection refused") == true
            }
            #expect(throws: PassAuthError.self, "attempt \(attempt)") { try s.get("k", timeoutMs: 500) }
        }
        try server.start()
        #expect(try s.get("k", timeoutMs: 2000) == StoredValue(value: "before", version: v1))
        #expect(try s.put("k", value: "after", expectedVersion: v1, ttlMs: 0, timeoutMs: 2000) != .conflict)
    }

    /// A server that does not answer: every call ends within its timeout.
    @Test func unansweredCallsEndWithinTheirTimeout() throws {
        let server = try RedisServer()
        let s = store(server)
        _ = try s.get("k", timeoutMs: 2000)
        kill(server.serverPid(), SIGSTOP)
        defer { kill(server.serverPid(), SIGCONT) }
        let start = Clock.monotonicMs()
        #expect { try s.get("k", timeoutMs: 300) } throws: { error in
            (error as? PassAuthError)?.status == .store && (error as? PassAuthError)?.message.contains("timed out") == true
        }
        #expect(Clock.monotonicMs() - start < 1500)
        kill(server.serverPid(), SIGCONT)
        #expect(try s.get("k", timeoutMs: 2000) == nil)  // the broken connection was dropped, a new one works
    }

    @Test func passwordAndDatabaseFromTheURL() throws {
        let server = try RedisServer(password: "pa55-w0rd")
        let good = RedisStore(client: RedisClient(location: try RedisLocation("redis://:pa55-w0rd@127.0.0.1:\(server.port)/3"),
                                                  caFile: nil))
        _ = try good.put("k", value: "v", expectedVersion: 0, ttlMs: 0, timeoutMs: 2000)
        let inspector = server.client()
        #expect(try inspector.command(["SELECT", "3"], timeoutMs: 2000).text == "OK")  // (on the inspector's own connection)
        let wrong = RedisStore(client: RedisClient(location: try RedisLocation("redis://:nope@127.0.0.1:\(server.port)/0"),
                                                   caFile: nil))
        #expect { try wrong.get("k", timeoutMs: 2000) } throws: { error in
            let message = (error as? PassAuthError)?.message ?? ""
            return message.contains("authentication failed") && !message.contains("nope")
        }
        let none = RedisStore(client: RedisClient(location: try RedisLocation("redis://127.0.0.1:\(server.port)/0"), caFile: nil))
        #expect { try none.get("k", timeoutMs: 2000) } throws: { error in
            (error as? PassAuthError)?.message.contains("NOAUTH") == true
        }
        // Database 3 holds the key, database 0 does not.
        let db0 = RedisStore(client: RedisClient(location: try RedisLocation("redis://:pa55-w0rd@127.0.0.1:\(server.port)/0"),
                                                 caFile: nil))
        #expect(try db0.get("k", timeoutMs: 2000) == nil)
        #expect(try good.get("k", timeoutMs: 2000)?.value == "v")
    }

    /// rediss://: the server's certificate is verified against caFile (or the system's store) and its
    /// name against the host; the same store code runs over TLS.
    @Test func tlsIsVerified() throws {
        let server = try RedisServer(tls: true)
        let verified = RedisStore(client: RedisClient(location: try RedisLocation("rediss://localhost:\(server.port)/0"),
                                                      caFile: server.caFile))
        _ = try verified.put("k", value: "over tls", expectedVersion: 0, ttlMs: 0, timeoutMs: 3000)
        #expect(try verified.get("k", timeoutMs: 3000)?.value == "over tls")
        try verified.withLock("L", timeoutMs: 2000) { () throws(PassAuthError) in }
        // The system's store does not trust a self-signed certificate.
        let untrusted = RedisStore(client: RedisClient(location: try RedisLocation("rediss://localhost:\(server.port)/0"), caFile: nil))
        #expect { try untrusted.get("k", timeoutMs: 3000) } throws: { error in
            (error as? PassAuthError)?.message.contains("certificate was not accepted") == true
        }
        // The certificate names localhost only: 127.0.0.1 is not its name.
        let wrongName = RedisStore(client: RedisClient(location: try RedisLocation("rediss://127.0.0.1:\(server.port)/0"),
                                                       caFile: server.caFile))
        #expect { try wrongName.get("k", timeoutMs: 3000) } throws: { error in
            (error as? PassAuthError)?.message.contains("certificate was not accepted") == true
        }
        // Plain redis:// to a TLS port: a clear failure, within the timeout.
        let plain = RedisStore(client: RedisClient(location: try RedisLocation("redis://localhost:\(server.port)/0"), caFile: nil))
        #expect(throws: PassAuthError.self) { try plain.get("k", timeoutMs: 1000) }
    }

    /// The pool: many threads share at most a few connections.
    @Test func poolIsSmallAndShared() throws {
        let redis = RedisServer.shared.client()
        let s = PrefixedStore(RedisStore(client: redis), prefix: uniquePrefix())
        DispatchQueue.concurrentPerform(iterations: 16) { i in
            for j in 0..<20 { _ = try? s.put("k\(i)-\(j)", value: "v", expectedVersion: 0, ttlMs: 0, timeoutMs: 5000) }
        }
        let clients = try #require(try redis.command(["CLIENT", "LIST"], timeoutMs: 2000).text)
        #expect(clients.split(separator: "\n").count <= 12)  // this client's 4 at most, plus other tests'
        #expect(try s.get("k15-19", timeoutMs: 2000)?.value == "v")
    }

    @Test func publishReachesSubscribers() throws {
        let redis = RedisServer.shared.client()
        let received = Locked<[String]>([])
        let subscribed = Atomic<Int>(0)
        let channel = uniquePrefix() + "events"
        _ = redis.subscribe(channel) { event in
            switch event {
            case .message(let text): received.withLock { $0.append(text) }
            case .subscribed: subscribed.add(1, ordering: .relaxed)
            }
        }
        _ = try redis.command(["PING"], timeoutMs: 2000)  // the first use starts the subscriber
        let deadline = Clock.monotonicMs() + 3000
        while subscribed.load(ordering: .relaxed) == 0 && Clock.monotonicMs() < deadline { usleep(5000) }
        #expect(try redis.publish(channel, "hello", timeoutMs: 2000) == 1)
        while received.withLock({ $0.isEmpty }) && Clock.monotonicMs() < deadline { usleep(5000) }
        #expect(received.withLock { $0 } == ["hello"])
    }

    // MARK: - Clients on one Redis

    func redisConfig(_ server: RedisServer, prefix: String, extra: [(String, JSON)] = []) throws -> ClientSettings {
        try makeConfig(store: server.url(), extra: [("storeKeyPrefix", .string(prefix))] + extra)
    }

    /// Three clients (three instances of a fleet) on one Redis register once and share the token.
    @Test func threeClientsRegisterOnce() throws {
        let prefix = uniquePrefix()
        let fake = serviceFake()
        let clients = try (0..<3).map { _ in try Client(config: redisConfig(.shared, prefix: prefix), transport: fake) }
        let tokens = Locked<Set<String>>([])
        DispatchQueue.concurrentPerform(iterations: 3) { i in
            if let json = try? clients[i].register(device: clients[i].config.device) {
                tokens.withLock { _ = $0.insert(json["clientId"]?.stringValue ?? "?") }
            }
        }
        #expect(fake.count("register") == 1)
        #expect(fake.count("token") == 1)
        #expect(tokens.withLock { $0 } == ["c1"])
    }

    /// Secrets at rest: with a storeEncryptionKey, nothing stored in Redis holds the client secret or
    /// the access token.
    @Test func secretsAreSealedInRedis() throws {
        let prefix = uniquePrefix()
        let key = Data((0..<32).map { UInt8($0) }).base64EncodedString()
        let client = try Client(config: redisConfig(.shared, prefix: prefix, extra: [("storeEncryptionKey", .string(key))]),
                                transport: serviceFake())
        _ = try client.register(device: client.config.device)
        let redis = RedisServer.shared.client()
        let names = try redis.command(["KEYS", prefix + "*"], timeoutMs: 2000).elements?.compactMap(\.text) ?? []
        #expect(!names.isEmpty)
        var dump = ""
        for name in names {
            let type = try redis.command(["TYPE", name], timeoutMs: 2000).text
            if type == "hash" { dump += (try redis.command(["HGETALL", name], timeoutMs: 2000).elements ?? []).compactMap(\.text).joined(separator: " ") }
        }
        #expect(dump.contains("\"clientId\":\"c1\""))
        #expect(!dump.contains("s3cr3t-value") && !dump.contains("token-1-abcdef"))
        // And the client reads them back.
        let again = try Client(config: redisConfig(.shared, prefix: prefix, extra: [("storeEncryptionKey", .string(key))]),
                               transport: serviceFake())
        #expect(try again.storedRegistration()?["clientId"]?.stringValue == "c1")
    }

    /// The fleet's pacing: two instances acting for one device share its bucket (burst 10, 1/s).
    @Test func pacingIsSharedByTheFleet() throws {
        let prefix = uniquePrefix()
        let keys = StateKeys(prefix: prefix, baseURL: "http://127.0.0.1:9", serviceProvider: "REF30")
        let config = try redisConfig(.shared, prefix: prefix)
        let logger = Logger(level: .none, redactor: Redactor())
        let a = FleetTurns(redis: RedisServer.shared.client(), keys: keys, config: config, logger: logger)
        let b = FleetTurns(redis: RedisServer.shared.client(), keys: keys, config: config, logger: logger)
        var ready = 0
        for i in 0..<14 where (i % 2 == 0 ? a : b).readiness("203.0.113.9") == 0 { ready += 1 }
        #expect(ready == 10)
        let wait = try #require(a.readiness("203.0.113.9"))
        #expect(wait > 0 && wait <= 1000)
        #expect(b.readiness("198.51.100.1") == 0)  // another device has its own bucket
        // A blocking caller that may not wait that long is throttled at once.
        #expect { try a.awaitTurn("203.0.113.9", endpoint: "preauthorize", deadline: Clock.monotonicMs() + 50) } throws: { error in
            (error as? PassAuthError)?.status == .throttled
        }
        // A 429 on one instance makes the other wait.
        a.deferRequests("198.51.100.1", byMs: 5_000)
        let deferred = try #require(b.readiness("198.51.100.1"))
        #expect(deferred > 4_000 && deferred <= 5_000)
    }

    /// Redis unreachable: pacing falls back to the instance's own at once, and Redis is not asked
    /// again for a second.
    @Test func fleetPacingFallsBackWhenRedisIsDown() throws {
        let port = RedisServer.freePort()  // nothing listens there
        let keys = StateKeys(prefix: "x:", baseURL: "http://127.0.0.1:9", serviceProvider: "REF30")
        let config = try makeConfig(store: "redis://127.0.0.1:\(port)/0")
        let client = RedisClient(location: try RedisLocation("redis://127.0.0.1:\(port)/0"), caFile: nil)
        let turns = FleetTurns(redis: client, keys: keys, config: config, logger: Logger(level: .none, redactor: Redactor()))
        let start = Clock.monotonicMs()
        #expect(try turns.awaitTurn("203.0.113.5", endpoint: "preauthorize", deadline: start + 5_000) == false)
        #expect(turns.readiness("203.0.113.5") == nil)
        #expect(Clock.monotonicMs() - start < 1_000)
    }

    /// A logout on one instance drops the cached permits of the device on the others.
    @Test func logoutEventsReachTheFleet() throws {
        let prefix = uniquePrefix()
        let keys = StateKeys(prefix: prefix, baseURL: "http://127.0.0.1:9", serviceProvider: "REF30")
        let logger = Logger(level: .none, redactor: Redactor())
        let cacheA = DecisionCache(), cacheB = DecisionCache()
        let a = FleetEvents(redis: RedisServer.shared.client(), keys: keys, decisions: cacheA, refreshes: RefreshesInFlight(), logger: logger, timeoutMs: 2000)
        let b = FleetEvents(redis: RedisServer.shared.client(), keys: keys, decisions: cacheB, refreshes: RefreshesInFlight(), logger: logger, timeoutMs: 2000)
        let permit: JSON = ["authorized": true, "resource": "r"]
        let now = Clock.nowMs()
        for cache in [cacheA, cacheB] {
            cache.store(permit, .init(device: "d1", mvpd: "Cablevision"), "r", now: now)
            cache.store(permit, .init(device: "d2", mvpd: "Cablevision"), "r", now: now)
        }
        _ = try b.redis.command(["PING"], timeoutMs: 2000)  // b's first use: its subscriber starts (a's: below)
        let deadline = Clock.monotonicMs() + 5000
        while (try? a.redis.command(["PUBSUB", "NUMSUB", keys.events], timeoutMs: 1000))?.elements?.last?.integer != 2,
              Clock.monotonicMs() < deadline { usleep(5000) }
        a.publish("logout", device: "d1", mvpd: "Cablevision")
        while cacheB.count != 1 && Clock.monotonicMs() < deadline { usleep(5000) }
        #expect(cacheB.count == 1)
        #expect(cacheB.lookup(.init(device: "d2", mvpd: "Cablevision"), "r", now: now) != nil)
        #expect(cacheA.count == 2)  // a's own message is not applied to a (its caller already cleared it)
    }

    // MARK: - Redis Cluster

    /// On a three-node cluster, from a URL naming one node: each device's keys live on their slot's
    /// node, writes of many devices are one round trip per node, MOVED answers are followed, the lock
    /// and the fleet's scripts run, every key on the node of its hash tag.
    @Test func clusterIsFollowed() throws {
        let cluster = try RedisCluster()
        let client = RedisClient(location: cluster.servers[0].location, caFile: nil)
        let store = RedisStore(client: client)
        // The slot of a key is CRC16 of its hash tag, as the cluster computes it.
        for key in ["passauth:{http://127.0.0.1:9|REF30}:registration", "passauth:{http://127.0.0.1:9|REF30|d-42}:profiles",
                    "no-tag", "{}empty-tag", "a{b}c{d}", "123456789"] {
            let expected = try cluster.servers[0].client().command(["CLUSTER", "KEYSLOT", key], timeoutMs: 2000).integer
            #expect(Int64(RedisClient.slot(of: key)) == expected, "\(key)")
        }
        let keys = StateKeys(prefix: "c:", baseURL: "http://127.0.0.1:9", serviceProvider: "REF30")
        let devices = (0..<60).map { "device-\($0)" }
        let writes = try devices.map { StoreWrite(key: try keys.profiles(device: $0), value: "{\"v\":\"\($0)\"}", expectedVersion: 0) }
        let results = try store.putAll(writes, timeoutMs: 5000)
        #expect(results.allSatisfy { if case .stored = $0 { true } else { false } })
        for device in devices {
            #expect(try store.get(try keys.profiles(device: device), timeoutMs: 5000)?.value == "{\"v\":\"\(device)\"}")
        }
        // Every node holds some of them: the writes were routed, not refused.
        for server in cluster.servers {
            let count = try server.client().command(["DBSIZE"], timeoutMs: 2000).integer ?? 0
            #expect(count > 0)
        }
        // Compare-and-set, lock and registration on the cluster.
        let registration = keys.registration
        guard case .stored(let v1) = try store.put(registration, value: "r1", expectedVersion: 0, ttlMs: 0, timeoutMs: 5000) else {
            Issue.record("conflict"); return
        }
        #expect(try store.put(registration, value: "stale", expectedVersion: 0, ttlMs: 0, timeoutMs: 5000) == .conflict)
        try store.withLock(keys.registrationLock, timeoutMs: 5000) { () throws(PassAuthError) in
            #expect(try! store.put(registration, value: "r2", expectedVersion: v1, ttlMs: 0, timeoutMs: 5000) != .conflict)
        }
        let config = try makeConfig(store: cluster.servers[0].url(), extra: [("storeKeyPrefix", "c:")])
        let turns = FleetTurns(redis: client, keys: keys, config: config, logger: Logger(level: .none, redactor: Redactor()))
        for ip in ["203.0.113.1", "203.0.113.2", "203.0.113.3", "203.0.113.4"] { #expect(turns.readiness(ip) == 0) }
        turns.deferRequests("203.0.113.1", byMs: 3000)
        #expect((turns.readiness("203.0.113.1") ?? 0) > 2000)
    }
}
