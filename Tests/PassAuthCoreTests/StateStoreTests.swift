import Foundation
import Synchronization
import Testing
@testable import PassAuthCore

/// The StateStore contract, the same for every store: versions, compare-and-set, deletes, TTLs, locks.
@Suite struct StateStoreContractTests {
    enum Kind: String, CaseIterable, CustomStringConvertible {
        case sqlite, memory, callback, redis
        var description: String { rawValue }

        func make() -> StateStore {
            switch self {
            // A real redis-server (RedisSupport.swift); each test under a key prefix of its own.
            case .redis: return PrefixedStore(RedisStore(client: RedisServer.shared.client()), prefix: uniquePrefix())
            case .sqlite: return SQLiteStore(directory: temporaryDirectory() + "/store")
            case .memory: return MemoryStore()
            case .callback: return callbackStore(over: MemoryStore())
            }
        }
    }

    @Test(arguments: Kind.allCases) func versionsAndCompareAndSet(_ kind: Kind) throws {
        let store = kind.make()
        #expect(try store.get("a", timeoutMs: 1000) == nil)
        guard case .stored(let v1) = try store.put("a", value: "1", expectedVersion: 0, ttlMs: 0, timeoutMs: 1000) else {
            Issue.record("first write conflicted"); return
        }
        #expect(v1 > 0)
        #expect(try store.get("a", timeoutMs: 1000) == StoredValue(value: "1", version: v1))
        // A writer that read nothing, or an old version, loses: nothing is written.
        #expect(try store.put("a", value: "stale", expectedVersion: 0, ttlMs: 0, timeoutMs: 1000) == .conflict)
        guard case .stored(let v2) = try store.put("a", value: "2", expectedVersion: v1, ttlMs: 0, timeoutMs: 1000) else {
            Issue.record("second write conflicted"); return
        }
        #expect(v2 > v1)
        #expect(try store.put("a", value: "stale", expectedVersion: v1, ttlMs: 0, timeoutMs: 1000) == .conflict)
        #expect(try store.get("a", timeoutMs: 1000)?.value == "2")
        // A delete, then a new value: its version is never one the key had before.
        guard case .stored = try store.put("a", value: nil, expectedVersion: v2, ttlMs: 0, timeoutMs: 1000) else {
            Issue.record("delete conflicted"); return
        }
        #expect(try store.get("a", timeoutMs: 1000) == nil)
        guard case .stored(let v3) = try store.put("a", value: "3", expectedVersion: 0, ttlMs: 0, timeoutMs: 1000) else {
            Issue.record("write after delete conflicted"); return
        }
        #expect(v3 > v2)
        #expect(try store.put("a", value: "stale", expectedVersion: v2, ttlMs: 0, timeoutMs: 1000) == .conflict)
    }

    @Test(arguments: Kind.allCases) func ttlEndsAValue(_ kind: Kind) throws {
        let store = kind.make()
        _ = try store.put("t", value: "short", expectedVersion: 0, ttlMs: 50, timeoutMs: 1000)
        #expect(try store.get("t", timeoutMs: 1000)?.value == "short")
        usleep(80_000)
        #expect(try store.get("t", timeoutMs: 1000) == nil)
        // Expired counts as absent for the next writer.
        guard case .stored = try store.put("t", value: "again", expectedVersion: 0, ttlMs: 0, timeoutMs: 1000) else {
            Issue.record("write over an expired value conflicted"); return
        }
        #expect(try store.get("t", timeoutMs: 1000)?.value == "again")
    }

    @Test(arguments: Kind.allCases) func putAllConflictsOneByOne(_ kind: Kind) throws {
        let store = kind.make()
        _ = try store.put("x", value: "x1", expectedVersion: 0, ttlMs: 0, timeoutMs: 1000)
        let results = try store.putAll([StoreWrite(key: "x", value: "x2", expectedVersion: 0),
                                        StoreWrite(key: "y", value: "y1", expectedVersion: 0)], timeoutMs: 1000)
        #expect(results.count == 2 && results[0] == .conflict)
        if case .stored = results[1] {} else { Issue.record("y was not written: \(results)") }
        #expect(try store.get("x", timeoutMs: 1000)?.value == "x1")
        #expect(try store.get("y", timeoutMs: 1000)?.value == "y1")
    }

    /// Many writers incrementing one counter by read + compare-and-set: no increment is ever lost.
    @Test(arguments: Kind.allCases) func concurrentWritersNeverLoseAWrite(_ kind: Kind) throws {
        let store = kind.make()
        let failures = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            for _ in 0..<25 {
                while true {
                    do {
                        let current = try store.get("counter", timeoutMs: 5000)
                        let next = (current.flatMap { Int($0.value) } ?? 0) + 1
                        if case .stored = try store.put("counter", value: String(next), expectedVersion: current?.version ?? 0,
                                                        ttlMs: 0, timeoutMs: 5000) { break }
                    } catch {
                        failures.add(1, ordering: .relaxed)
                        break
                    }
                }
            }
        }
        #expect(failures.load(ordering: .relaxed) == 0)
        #expect(try store.get("counter", timeoutMs: 1000)?.value == "200")
    }

    @Test(arguments: Kind.allCases) func lockIsExclusiveAndBounded(_ kind: Kind) throws {
        let store = kind.make()
        let inside = Atomic<Int>(0)
        let overlap = Atomic<Bool>(false)
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            for _ in 0..<5 {
                _ = try? store.withLock("L", timeoutMs: 5000) { () throws(PassAuthError) in
                    if inside.add(1, ordering: .relaxed).newValue > 1 { overlap.store(true, ordering: .relaxed) }
                    usleep(1000)
                    inside.subtract(1, ordering: .relaxed)
                }
            }
        }
        let overlapped = overlap.load(ordering: .relaxed)
        #expect(!overlapped)
    }
}

/// A CallbackStore over another store, as the C callbacks would be (locks: a set of held names).
func callbackStore(over inner: StateStore) -> CallbackStore {
    let held = Locked<Set<String>>([])
    return CallbackStore(operations: .init(
        get: { key in
            do {
                let value = try inner.get(key, timeoutMs: 1000)
                return (0, value?.value, value?.version ?? 0, true)
            } catch { return (5, nil, 0, true) }
        },
        put: { key, value, expected, ttl in
            switch try? inner.put(key, value: value, expectedVersion: expected, ttlMs: ttl, timeoutMs: 1000) {
            case .stored(let version)?: return (0, version)
            case .conflict?: return (CallbackStore.conflictStatus, 0)
            case nil: return (6, 0)
            }
        },
        lock: { name, timeoutMs in
            let deadline = Clock.monotonicMs() + Int64(timeoutMs)
            while !held.withLock({ $0.insert(name).inserted }) {
                if Clock.monotonicMs() > deadline { return (4, nil) }
                usleep(500)
            }
            return (0, UnsafeMutableRawPointer(bitPattern: 0x5eed))
        },
        unlock: { name, token in
            guard token == UnsafeMutableRawPointer(bitPattern: 0x5eed) else { return 1 }
            _ = held.withLock { $0.remove(name) }
            return 0
        }))
}
