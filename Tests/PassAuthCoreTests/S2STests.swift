import Testing
@testable import PassAuthCore

/// Server-to-server at scale (issue #7): per-device state is isolated and bounded, pacing is configurable,
/// the application store keeps the file store's guarantees.
@Suite struct S2STests {
    @Test func pacingRateAndBurstAreConfigurable() throws {
        let pacer = Pacer(ratePerSecond: 4, burst: 2)
        for _ in 0..<2 { #expect(try pacer.reserve(for: "a", timeoutMs: 30_000, endpoint: "x", now: 0) == 0) }
        #expect(try pacer.reserve(for: "a", timeoutMs: 30_000, endpoint: "x", now: 0) == 250)
        #expect(try pacer.reserve(for: "b", timeoutMs: 30_000, endpoint: "x", now: 0) == 0)
    }

    @Test func pacingKeysAreValidated() throws {
        let base: [(String, JSON)] = [("serviceProvider", "REF30"), ("softwareStatement", "x.y.z"), ("store", "/tmp/x")]
        let config = try ClientSettings(json: .object(base + [("pacingRatePerSecond", .double(2.5)), ("pacingBurst", 3)]))
        #expect(config.pacingRatePerSecond == 2.5 && config.pacingBurst == 3)
        let defaults = try ClientSettings(json: .object(base))
        #expect(defaults.pacingRatePerSecond == 1 && defaults.pacingBurst == 10)
        for bad: (String, JSON) in [("pacingRatePerSecond", 0), ("pacingRatePerSecond", "1"), ("pacingBurst", 0),
                                    ("pacingBurst", .double(1.5))] {
            #expect(throws: PassAuthError.self) { try ClientSettings(json: .object(base + [bad])) }
        }
    }

    @Test func decisionsOfOneDeviceIdWithAnotherIdentityAreNotShared() throws {
        var a = Device(); a.id = "dev"; a.serviceToken = "user-a"
        var b = Device(); b.id = "dev"; b.serviceToken = "user-b"
        var plain = Device(); plain.id = "dev"
        var other = Device(); other.id = "dev2"
        let keys = Set([a.decisionKey, b.decisionKey, plain.decisionKey, other.decisionKey])
        #expect(keys.count == 4)
        #expect(!a.decisionKey.contains("user-a"))
        let cache = DecisionCache()
        cache.store(["authorized": true], .init(device: a.decisionKey, mvpd: "m"), "r", now: Clock.nowMs())
        cache.store(["authorized": true], .init(device: plain.decisionKey, mvpd: "m"), "r", now: Clock.nowMs())
        #expect(cache.lookup(.init(device: b.decisionKey, mvpd: "m"), "r", now: Clock.nowMs()) == nil)
        #expect(cache.lookup(.init(device: other.decisionKey, mvpd: "m"), "r", now: Clock.nowMs()) == nil)
        cache.removeAll(device: "dev", mvpd: "m")  // logout forgets every identity of the device
        #expect(cache.count == 0)
    }

    @Test func knownCodeExpiriesAreBounded() {
        let poller = Poller()
        let later = Clock.nowMs() + 600_000
        for i in 0..<(KnownExpiries.capacity + 500) {
            var device = Device(); device.id = "d\(i)"
            poller.started(code: "C\(i)", notAfter: later + Int64(i), for: device)
        }
        #expect(poller.knownExpiryCount <= KnownExpiries.capacity)
        poller.shutdown()
    }

    @Test func callbackStoreFailuresAreTypedAndWriteNothing() throws {
        final class Box: @unchecked Sendable { let memory = MemoryStore(); var failing = false; var puts = 0 }
        let box = Box()
        let store = CallbackStore(operations: .init(
            get: { key in
                if box.failing { CallbackStore.setCallbackError("connection refused"); return (9, nil, 0, true) }
                let value = try? box.memory.get(key, timeoutMs: 100)
                return (0, value?.value, value?.version ?? 0, true)
            },
            put: { key, value, expected, ttl in
                if box.failing { return (9, 0) }
                switch try? box.memory.put(key, value: value, expectedVersion: expected, ttlMs: ttl, timeoutMs: 100) {
                case .stored(let version)?: box.puts += 1; return (0, version)
                default: return (CallbackStore.conflictStatus, 0)
                }
            },
            lock: { _, _ in box.failing ? (9, nil) : (0, nil) },
            unlock: { _, _ in 0 }))
        #expect(try store.get("k", timeoutMs: 100) == nil)
        #expect(try store.put("k", value: "v1", expectedVersion: 0, ttlMs: 0, timeoutMs: 100) == .stored(version: 1))
        #expect(try store.put("k", value: "v2", expectedVersion: 0, ttlMs: 0, timeoutMs: 100) == .conflict)
        box.failing = true
        do { _ = try store.get("k", timeoutMs: 100); Issue.record("get: expected a store error") } catch {
            #expect(error.status == .store && error.message.contains("get callback") && error.message.contains("'k'")
                    && error.message.hasSuffix(": connection refused"))
        }
        do { _ = try store.put("k", value: "x", expectedVersion: 1, ttlMs: 0, timeoutMs: 100); Issue.record("put: expected a store error") } catch {
            #expect(error.status == .store && !error.message.contains("connection refused"))  // the reason was consumed
        }
        do {
            _ = try store.withLock("l", timeoutMs: 100) { () throws(PassAuthError) in Issue.record("the body ran without the lock") }
            Issue.record("lock: expected a store error")
        } catch { #expect(error.status == .store) }
        box.failing = false
        #expect(box.puts == 1)
        #expect(try store.get("k", timeoutMs: 100)?.value == "v1")
    }
}
