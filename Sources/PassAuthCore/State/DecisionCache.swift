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

    private struct Entry {
        var text: [UInt8]
        var expiresAt: Int64   // service time (notAfter is the service's)
        var used = false
    }

    private struct Table {
        var scopes: [Scope: [String: Entry]] = [:]
        /// Insertion order for eviction; entries removed meanwhile are skipped when they come up.
        var order: [(Scope, String)] = []
        var head = 0
        var count = 0
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
        table.withLock { table in
            guard var entries = table.scopes[scope] else { return Array(repeating: nil, count: resources.count) }
            var found: [[UInt8]?] = []
            found.reserveCapacity(resources.count)
            var changed = false
            for resource in resources {
                guard var entry = entries[resource] else { found.append(nil); continue }
                if entry.expiresAt <= now {
                    entries[resource] = nil
                    table.count -= 1
                    changed = true
                    found.append(nil)
                    continue
                }
                if !entry.used {
                    entry.used = true
                    entries[resource] = entry
                    changed = true
                }
                found.append(entry.text)
            }
            if changed { table.scopes[scope] = entries.isEmpty ? nil : entries }
            return found
        }
    }

    /// Stores `decision` (a decision object of an answer) if it is a permit that has not expired yet.
    func storePermit(_ decision: RawJSON, for resource: String, in scope: Scope, now: Int64) {
        guard decision.member("authorized")?.bool == true, decision.member("error") == nil else { return }
        let expiresAt = decision.member("notAfter")?.int64 ?? now + defaultTTLMs
        guard expiresAt > now, let text = DecisionCache.text(decision) else { return }
        table.withLock { table in
            if table.scopes[scope]?.updateValue(Entry(text: text, expiresAt: expiresAt), forKey: resource) == nil {
                table.scopes[scope, default: [:]][resource] = Entry(text: text, expiresAt: expiresAt)
                table.count += 1
                table.order.append((scope, resource))
            }
            while table.count > capacity { evictOne(&table, now: now) }
            // Keep the order's consumed prefix from growing without bound.
            if table.head > 1_024 && table.head * 2 > table.order.count {
                table.order.removeFirst(table.head)
                table.head = 0
            }
        }
    }

    /// The decision as compact JSON text, without a media token (a preauthorization carries none;
    /// nothing secret may sit in the cache).
    private static func text(_ decision: RawJSON) -> [UInt8]? {
        var source = decision
        var copy: RawJSON? = nil
        if decision.member("token") != nil {
            copy = json_copy(decision)
            guard let copy else { return nil }
            json_object_del(copy, "token")
            source = copy
        }
        defer { if let copy { passauth_json_decref(copy) } }
        guard let dumped = json_dumps(source, Int(JSON_COMPACT | JSON_PRESERVE_ORDER)) else { return nil }
        defer { free(dumped) }
        return Array(UnsafeRawBufferPointer(start: dumped, count: strlen(dumped)))
    }

    /// CLOCK: the oldest entry goes, unless it was used since it was stored (then it goes to the back
    /// once, unused again).
    private func evictOne(_ table: inout Table, now: Int64) {
        while table.head < table.order.count {
            let (scope, resource) = table.order[table.head]
            table.head += 1
            guard var entry = table.scopes[scope]?[resource] else { continue }  // removed meanwhile
            if entry.used && entry.expiresAt > now {
                entry.used = false
                table.scopes[scope]?[resource] = entry
                table.order.append((scope, resource))
                continue
            }
            table.scopes[scope]?[resource] = nil
            if table.scopes[scope]?.isEmpty == true { table.scopes[scope] = nil }
            table.count -= 1
            return
        }
    }

    /// Forgets every decision of one device id (whatever identity it was cached under, see
    /// `Device.decisionKey`) for one MVPD, or for all when `mvpd` is nil (logout, profile gone).
    func removeAll(device: String, mvpd: String?) {
        let identities = device + "\u{0}"
        table.withLock { table in
            for scope in table.scopes.keys where (scope.device == device || scope.device.hasPrefix(identities))
                && (mvpd == nil || scope.mvpd == mvpd) {
                table.count -= table.scopes[scope]?.count ?? 0
                table.scopes[scope] = nil
            }
        }
    }

    var count: Int { table.withLock { $0.count } }
}
