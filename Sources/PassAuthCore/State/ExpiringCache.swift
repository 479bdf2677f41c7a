/// A small time-bounded cache (monotonic expiry, bounded entry count).
final class ExpiringCache<Value: Sendable>: Sendable {
    private let entries = Locked<[String: (value: Value, expiresAt: Int64)]>([:])
    private let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    func lookup(_ key: String, now: Int64) -> Value? {
        entries.withLock { entries in
            guard let entry = entries[key] else { return nil }
            if entry.expiresAt <= now { entries[key] = nil; return nil }
            return entry.value
        }
    }

    func insert(_ key: String, _ value: Value, expiresAt: Int64) {
        entries.withLock { entries in
            if entries.count >= capacity, entries[key] == nil {
                // Drop the entry closest to expiry; the cache stays bounded whatever the device count.
                if let victim = entries.min(by: { $0.value.expiresAt < $1.value.expiresAt })?.key { entries[victim] = nil }
            }
            entries[key] = (value, expiresAt)
        }
    }
}
