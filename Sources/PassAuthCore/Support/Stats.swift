import Glibc
import Synchronization

/// A counter that many threads bump without a lock.
package final class Counter: Sendable {
    private let value = Atomic<Int>(0)
    package init() {}
    package func add(_ amount: Int = 1) { value.add(amount, ordering: .relaxed) }
    package var current: Int { value.load(ordering: .relaxed) }
}

/// Exchange durations of one endpoint: a log-scaled histogram (buckets 10% apart from 0.1 ms to about
/// 6 minutes), so percentiles cost a fixed amount of memory whatever the number of requests.
struct LatencyHistogram {
    static let ratio = 1.1
    static let firstBoundMs = 0.1
    static let bucketCount = 160
    var counts = [UInt32](repeating: 0, count: LatencyHistogram.bucketCount)
    var total = 0

    mutating func record(ms: Double) {
        let index = ms <= LatencyHistogram.firstBoundMs ? 0 : Int(saturatingCeil: log(ms / LatencyHistogram.firstBoundMs) / log(LatencyHistogram.ratio))
        counts[min(max(index, 0), LatencyHistogram.bucketCount - 1)] &+= 1
        total += 1
    }

    /// The upper bound of the bucket holding the q-quantile.
    func quantileMs(_ q: Double) -> Double {
        guard total > 0 else { return 0 }
        let rank = max(1, Int((q * Double(total)).rounded(.up)))
        var seen = 0
        for (index, count) in counts.enumerated() {
            seen += Int(count)
            if seen >= rank { return LatencyHistogram.firstBoundMs * pow(LatencyHistogram.ratio, Double(index)) }
        }
        return LatencyHistogram.firstBoundMs * pow(LatencyHistogram.ratio, Double(LatencyHistogram.bucketCount - 1))
    }
}

/// What `passauth_stats` reports. Counts only; nothing here can carry a secret.
package final class Stats: Sendable {
    private struct PerEndpoint {
        var requests = 0
        var latency = LatencyHistogram()
    }
    private let endpoints = Locked<[String: PerEndpoint]>([:])
    package let retries = Counter()
    package let unauthorizedRefreshes = Counter()
    package let throttled = Counter()
    package let cacheHits = Counter()
    package let connectionsOpened = Counter()
    package let registrations = Counter()
    package let reregistrations = Counter()
    package let tokenFetches = Counter()
    package let deviceInfoWarnings = Counter()
    package let activePolls = Counter()
    /// The service's clock minus ours (ms), as last estimated (ServiceClock).
    let clockOffsetMs = Atomic<Int64>(0)

    package init() {}

    /// One exchange with the service ended (answered or failed) after `elapsedMs`.
    func countRequest(_ endpoint: String, elapsedMs: Double? = nil) {
        endpoints.withLock { table in
            table[endpoint, default: PerEndpoint()].requests += 1
            if let elapsedMs { table[endpoint]!.latency.record(ms: elapsedMs) }
        }
    }

    /// The counters as one JSON object, written directly (callers may read it often).
    package var json: String {
        // Copied under the lock: a copy read after unlocking would share the dictionary's storage with
        // the next countRequest, a hand-over only the reference count orders (invisible to helgrind).
        let table = endpoints.withLock { $0.sorted { $0.key < $1.key } }
        var out = #"{"requests":{"#
        var total = 0
        for (index, (name, entry)) in table.enumerated() {
            if index > 0 { out += "," }
            out += "\"\(name)\":\(entry.requests)"
            total += entry.requests
        }
        out += "},\"requestsTotal\":\(total)"
        for (name, counter) in [("retries", retries), ("unauthorizedRefreshes", unauthorizedRefreshes), ("throttled", throttled),
                                ("cacheHits", cacheHits), ("connectionsOpened", connectionsOpened),
                                ("registrations", registrations), ("reregistrations", reregistrations),
                                ("tokenFetches", tokenFetches), ("deviceInfoWarnings", deviceInfoWarnings),
                                ("activePolls", activePolls)] {
            out += ",\"\(name)\":\(counter.current)"
        }
        out += ",\"clockOffsetMs\":\(clockOffsetMs.load(ordering: .relaxed)),\"latency\":{"
        var first = true
        for (name, entry) in table where entry.latency.total > 0 {
            if !first { out += "," }
            first = false
            out += "\"\(name)\":{\"count\":\(entry.latency.total),\"p50Ms\":\(Stats.milliseconds(entry.latency.quantileMs(0.5)))"
            out += ",\"p99Ms\":\(Stats.milliseconds(entry.latency.quantileMs(0.99)))}"
        }
        return out + "}}"
    }

    /// A duration with 0.1 ms precision, as JSON number text.
    private static func milliseconds(_ value: Double) -> String {
        let tenths = Int64((value * 10).rounded())
        return "\(tenths / 10).\(tenths % 10)"
    }

    package var asJSON: JSON { (try? JSON.parse(json)) ?? .null }
}
