import CJansson
import Glibc

/// Preauthorization permits kept in memory (checklist: "cache successful permit decisions in memory"),
/// per device identity and MVPD (a scope) and resource, each until its `notAfter` (or `defaultTTLMs`
/// when the service sent none, as in the preauthorization samples), as the text the caller receives.
/// Bounded: past `capacity` entries the oldest go first, except those used since they were stored,
/// which get a second chance (the CLOCK policy: O(1) per insert, no sort). Denials and media tokens are
/// never stored here.
final class DecisionCache: Sendable {
    /// Whose decisions: `Device.decisionKey` and the MVPD.
    struct Scope: Hashable, Sendable {
        var device: String
        var mvpd: String
    }

    /// One permit's place: scope and resource, hashed once when made (FNV-1a over the bytes), so the
    /// table, its eviction and its deletions never hash the strings again.
    private struct Key: Hashable, Sendable {
        let scope: Scope
        let resource: String
        let digest: UInt64

        init(_ scope: Scope, _ resource: String, scopeDigest: UInt64) {
            self.scope = scope
            self.resource = resource
            digest = Key.fnv(resource, from: scopeDigest)
        }

        static func digest(of scope: Scope) -> UInt64 {
            fnv(scope.mvpd, from: fnv(scope.device, from: 0xcbf2_9ce4_8422_2325))
        }

        private static func fnv(_ text: String, from start: UInt64) -> UInt64 {
            var text = text
            return text.withUTF8 { bytes in
                var hash = start
                for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
                return (hash ^ 0xFF) &* 0x100_0000_01b3  // ends each part: ("ab","c") != ("a","bc")
            }
        }

        static func == (a: Key, b: Key) -> Bool { a.digest == b.digest && a.resource == b.resource && a.scope == b.scope }
        func hash(into hasher: inout Hasher) { hasher.combine(digest) }
    }

    /// Unchecked: a decision node is read only under the cache's lock, and answers are never changed
    /// once decoded.
    private enum Permit: @unchecked Sendable {
        case text([UInt8])
        /// Not asked for since it was stored: the decision in its answer (which it keeps alive),
        /// written out on first use. A miss then costs no serialisation for permits never asked again.
        case decision(JSONNode)
    }

    private struct Entry: Sendable {
        var permit: Permit
        var expiresAt: Int64   // service time (notAfter is the service's)
        var used = false
    }

    private struct Table: Sendable {
        var entries: [Key: Entry] = [:]
        /// Insertion order for eviction (the CLOCK hand is `head`); keys removed meanwhile are skipped
        /// when they come up, or dropped when the order is rebuilt.
        var order: [Key] = []
        var head = 0
    }

    let capacity: Int
    let defaultTTLMs: Int64
    private let table = Locked<Table>(Table())

    init(capacity: Int = 10_000, defaultTTLMs: Int64 = 600_000) {
        self.capacity = max(1, capacity)
        self.defaultTTLMs = defaultTTLMs
    }

    /// The cached permit texts of `resources` in `scope` (nil where none is valid at `now`), under
    /// one lock.
    func lookup(_ scope: Scope, _ resources: [String], now: Int64) -> [[UInt8]?] {
        let scopeDigest = Key.digest(of: scope)
        return table.withLock { table in
            guard !table.entries.isEmpty else { return Array(repeating: nil, count: resources.count) }
            return resources.map { resource in
                guard let index = table.entries.index(forKey: Key(scope, resource, scopeDigest: scopeDigest)) else { return nil }
                guard table.entries.values[index].expiresAt > now else {
                    table.entries.remove(at: index)
                    return nil
                }
                table.entries.values[index].used = true
                switch table.entries.values[index].permit {
                case .text(let text): return text
                case .decision(let node):
                    let text = node.raw.compactText()
                    table.entries.values[index].permit = .text(text)
                    return text
                }
            }
        }
    }

    /// Stores the permits among `decisions` (decision objects of an answer, with the resource each
    /// answers) that have not expired yet, under one lock. A permit is handed out as compact text
    /// without a media token (a preauthorization carries none; nothing secret may sit in the cache: a
    /// decision that has one is written out without it at once).
    func storePermits(_ decisions: [(decision: JSONNode, resource: String)], in scope: Scope, now: Int64) {
        let scopeDigest = Key.digest(of: scope)
        var permits: [(key: Key, entry: Entry)] = []
        for (decision, resource) in decisions {
            let raw = decision.raw
            guard raw.member("authorized")?.bool == true, raw.member("error") == nil else { continue }
            let expiresAt = raw.member("notAfter")?.int64 ?? now + defaultTTLMs
            guard expiresAt > now else { continue }
            let permit: Permit = raw.member("token") == nil ? .decision(decision) : .text(raw.compactText(omitting: "token"))
            permits.append((Key(scope, resource, scopeDigest: scopeDigest), Entry(permit: permit, expiresAt: expiresAt)))
        }
        guard !permits.isEmpty else { return }
        table.withLock { table in
            for (key, entry) in permits where table.entries.updateValue(entry, forKey: key) == nil {
                table.order.append(key)
            }
            while table.entries.count > capacity { evictOne(&table, now: now) }
            // The consumed prefix, and keys removed meanwhile (expired, logouts) that have not come up
            // yet, stay in `order`: rebuilt from the live keys once they are half of it (amortised O(1)).
            if table.order.count > 2 * max(table.entries.count, 1_024) {
                var seen = Set<Key>(minimumCapacity: table.entries.count)
                table.order = table.order[table.head...].filter { table.entries[$0] != nil && seen.insert($0).inserted }
                table.head = 0
            }
        }
    }

    /// CLOCK: the oldest entry goes, unless it was used since it was stored (then it goes to the back
    /// once, unused again).
    private func evictOne(_ table: inout Table, now: Int64) {
        while table.head < table.order.count {
            let key = table.order[table.head]
            table.head += 1
            guard let index = table.entries.index(forKey: key) else { continue }  // removed meanwhile
            if table.entries.values[index].used && table.entries.values[index].expiresAt > now {
                table.entries.values[index].used = false
                table.order.append(key)
                continue
            }
            table.entries.remove(at: index)
            return
        }
    }

    /// Forgets every decision of one device id (whatever identity it was cached under, see
    /// `Device.decisionKey`) for one MVPD, or for all when `mvpd` is nil (logout, profile gone).
    func removeAll(device: String, mvpd: String?) {
        let identities = device + "\u{0}"
        table.withLock { table in
            table.entries = table.entries.filter { key, _ in
                !((key.scope.device == device || key.scope.device.hasPrefix(identities)) && (mvpd == nil || key.scope.mvpd == mvpd))
            }
        }
    }

    /// Forgets every decision (the fleet's invalidations may have been missed).
    func removeAll() {
        table.withLock { $0 = Table() }
    }

    var count: Int { table.withLock { $0.entries.count } }
}
