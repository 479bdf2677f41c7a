/// "At most once per period per key" (the profile refresh after an authorization), bounded: past
/// `capacity` keys the ones whose period is over are forgotten (amortised, never a scan per call).
final class RateLimiter: Sendable {
    struct Key: Hashable, Sendable {
        let device: String
        let mvpd: String
    }

    private struct Table {
        var last: [Key: Int64] = [:]
        var pruneAt: Int
    }
    private let table: Locked<Table>
    private let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
        table = Locked(Table(pruneAt: capacity))
    }

    /// Whether `key` may act now (and records that it does), given `periodMs` between actions.
    func admit(_ key: Key, periodMs: Int64, now: Int64 = Clock.monotonicMs()) -> Bool {
        table.withLock { table in
            if let last = table.last[key], now - last < periodMs { return false }
            table.last[key] = now
            if table.last.count > table.pruneAt {
                table.last = table.last.filter { now - $0.value < periodMs }
                table.pruneAt = max(capacity, table.last.count * 2)
            }
            return true
        }
    }
}
