/// Preauthorization permits kept in memory (checklist: "cache successful permit decisions in memory"),
/// keyed by device, MVPD and resource, each until its `notAfter` (or `defaultTTLMs` when the service
/// sent none, as in the preauthorization samples). Bounded: past `capacity` entries, expired ones go
/// first, then the least recently used (a tenth of the cache at a time). Denials and media tokens are never stored here.
final class DecisionCache: Sendable {
    struct Key: Hashable, Sendable {
        var device: String
        var mvpd: String
        var resource: String
    }

    private struct Entry {
        /// The decision as the caller receives it (compact JSON text).
        var decision: [UInt8]
        var expiresAt: Int64   // wall-clock ms (notAfter is wall-clock)
        var lastUsed: UInt64
    }

    private struct Table {
        var entries: [Key: Entry] = [:]
        var tick: UInt64 = 0
    }

    let capacity: Int
    let defaultTTLMs: Int64
    private let table = Locked<Table>(Table())

    init(capacity: Int = 10_000, defaultTTLMs: Int64 = 600_000) {
        self.capacity = max(1, capacity)
        self.defaultTTLMs = defaultTTLMs
    }

    /// `now` is the service's time (notAfter is the service's).
    func lookup(_ key: Key, now: Int64) -> [UInt8]? {
        table.withLock { table in
            guard var entry = table.entries[key] else { return nil }
            guard entry.expiresAt > now else {
                table.entries[key] = nil
                return nil
            }
            table.tick += 1
            entry.lastUsed = table.tick
            table.entries[key] = entry
            return entry.decision
        }
    }

    /// Stores `decision` if it is a permit that has not expired yet.
    func storePermit(_ decision: JSON, for key: Key, now: Int64) {
        guard decision["authorized"]?.boolValue == true, decision["error"] == nil else { return }
        let expiresAt = decision["notAfter"]?.int64Value ?? now + defaultTTLMs
        guard expiresAt > now else { return }
        // Nothing secret may sit in the cache: a preauthorization carries no media token, drop one if sent.
        let stored = Array((decision["token"] == nil ? decision : decision.removing("token")).serialized().utf8)
        table.withLock { table in
            table.tick += 1
            table.entries[key] = Entry(decision: stored, expiresAt: expiresAt, lastUsed: table.tick)
            if table.entries.count > capacity { evict(&table, now: now) }
        }
    }

    /// Forgets every decision of one device id (whatever identity it was cached under, see
    /// `Device.decisionKey`) for one MVPD, or for all when `mvpd` is nil (logout, profile gone).
    func removeAll(device: String, mvpd: String?) {
        let identities = device + "\u{0}"
        table.withLock { table in
            table.entries = table.entries.filter {
                !(($0.key.device == device || $0.key.device.hasPrefix(identities)) && (mvpd == nil || $0.key.mvpd == mvpd))
            }
        }
    }

    /// Forgets every decision (the fleet's invalidations may have been missed).
    func removeAll() {
        table.withLock { $0.entries.removeAll() }
    }

    var count: Int { table.withLock { $0.entries.count } }

    private func evict(_ table: inout Table, now: Int64) {
        table.entries = table.entries.filter { $0.value.expiresAt > now }
        // Evict a tenth more than needed so a full cache does not sort on every insert.
        let excess = table.entries.count - (capacity - capacity / 10)
        guard excess > 0, table.entries.count > capacity else { return }
        let oldest = table.entries.sorted { $0.value.lastUsed < $1.value.lastUsed }.prefix(excess)
        for (key, _) in oldest { table.entries[key] = nil }
    }
}
