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
        cache.storePermit(["authorized": true], for: .init(device: a.decisionKey, mvpd: "m", resource: "r"), now: Clock.nowMs())
        cache.storePermit(["authorized": true], for: .init(device: plain.decisionKey, mvpd: "m", resource: "r"), now: Clock.nowMs())
        #expect(cache.lookup(.init(device: b.decisionKey, mvpd: "m", resource: "r"), now: Clock.nowMs()) == nil)
        #expect(cache.lookup(.init(device: other.decisionKey, mvpd: "m", resource: "r"), now: Clock.nowMs()) == nil)
        cache.removeAll(device: "dev", mvpd: "m")  // logout forgets every identity of the device
        #expect(cache.count == 0)
    }

    @Test func knownCodeExpiriesAreBounded() {
        let poller = Poller()
        let later = Clock.nowMs() + 600_000
        for i in 0..<(Poller.maxKnownExpiries + 500) {
            var device = Device(); device.id = "d\(i)"
            poller.started(code: "C\(i)", notAfter: later + Int64(i), for: device)
        }
        #expect(poller.knownExpiryCount <= Poller.maxKnownExpiries)
        poller.shutdown()
    }

    @Test func callbackStoreFailuresAreTypedAndSaveNothing() throws {
        final class Box: @unchecked Sendable { var doc: String? = nil; var failing = false; var saves = 0 }
        let box = Box()
        let store = CallbackStore(serviceProvider: "REF30", operations: .init(
            load: { box.failing ? (9, nil) : (0, box.doc) },
            save: { text in if box.failing { return 9 }; box.doc = text; box.saves += 1; return 0 },
            lock: { _ in box.failing ? (9, nil) : (0, nil) },
            unlock: { _ in 0 }))
        #expect(try store.load() == .empty)
        var state = StoredState.empty
        state["mvpdSelection"] = ["dev": ["id": "Cablevision"]]
        try store.withLock(timeoutMs: 100) { () throws(PassAuthError) in try store.save(state) }
        #expect(try store.load() == state)
        box.failing = true
        do { _ = try store.load(); Issue.record("load: expected a store error") } catch { #expect(error.status == .store) }
        do { try store.save(.empty); Issue.record("save: expected a store error") } catch { #expect(error.status == .store) }
        do {
            _ = try store.withLock(timeoutMs: 100) { () throws(PassAuthError) in Issue.record("the body ran without the lock") }
            Issue.record("lock: expected a store error")
        } catch { #expect(error.status == .store) }
        box.failing = false
        let reloaded = try store.load()
        #expect(box.saves == 1)
        #expect(reloaded == state)
        box.doc = "[1,2]"
        do { _ = try store.load(); Issue.record("expected a store error") } catch { #expect(error.status == .store) }
    }
}

@Suite struct StoredProfileBoundsTests {
    @Test func expiredProfilesAreDroppedWithTheirDevices() {
        let section: JSON = ["old": ["Dish": ["notAfter": 100]],
                             "mixed": ["Dish": ["notAfter": 100], "Cablevision": ["notAfter": 5_000]],
                             "undated": ["Dish": ["type": "regular"]]]
        let pruned = Client.withoutExpiredProfiles(section, now: 1_000)
        #expect(pruned["old"] == nil)
        #expect(pruned["mixed"]?["Dish"] == nil)
        #expect(pruned["mixed"]?["Cablevision"] != nil)
        #expect(pruned["undated"]?["Dish"] != nil)
    }
}
