import Glibc
import Synchronization

/// Wall-clock milliseconds (for expiries that are persisted or come from the service) and monotonic
/// milliseconds (for intervals that must not jump with the wall clock).
package enum Clock {
    package static func nowMs() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    package static func monotonicMs() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    static func sleep(ms: Int64) {
        guard ms > 0 else { return }
        var request = timespec(tv_sec: Int(ms / 1000), tv_nsec: Int(ms % 1000) * 1_000_000)
        var remaining = timespec()
        while nanosleep(&request, &remaining) == -1 && errno == EINTR { request = remaining }
    }
}

/// The service's time as this client estimates it (checklist: set-top box clocks are often minutes
/// off). Every answer's HTTP Date header gives the service's clock to the second; the offset is the
/// latest such reading minus the local clock at the answer (centred on the header's one-second
/// resolution). Offsets within that resolution are treated as none, so an accurate local clock is
/// used as it is. Validity decisions (profile pick, code expiry, permit cache) read `nowMs()`.
package final class ServiceClock: Sendable {
    /// Below this the Date header cannot tell the clocks apart.
    static let resolutionMs: Int64 = 1_500
    private let offset: Atomic<Int64>
    private let stats: Stats?
    /// The last Date header read: answers within one second repeat it, and are not parsed again.
    private let lastDate = Locked<String>("")

    init(stats: Stats? = nil) {
        offset = Atomic(0)
        self.stats = stats
    }

    package var offsetMs: Int64 { offset.load(ordering: .relaxed) }

    package func nowMs() -> Int64 { Clock.nowMs() &+ offsetMs }

    /// An answer carried `Date: <dateHeader>` and arrived at local time `receivedAt`.
    func observe(dateHeader: String, receivedAt: Int64 = Clock.nowMs()) {
        guard lastDate.withLock({ last in last == dateHeader ? false : { last = dateHeader; return true }() }),
              let serviceMs = HTTPDate.milliseconds(dateHeader) else { return }
        // The header truncates to the second: the service's clock was in [date, date + 1 s).
        let estimate = serviceMs + 500 - receivedAt
        let applied = abs(estimate) < ServiceClock.resolutionMs ? 0 : estimate
        offset.store(applied, ordering: .relaxed)
        stats?.clockOffsetMs.store(applied, ordering: .relaxed)
    }
}
