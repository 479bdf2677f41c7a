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

    /// The upper bound of bucket `index` (ms).
    static func bound(_ index: Int) -> Double { firstBoundMs * pow(ratio, Double(index)) }

    /// The upper bounds of the buckets holding the median and the 99th percentile, in one pass.
    func medianAndP99() -> (Double, Double) {
        guard total > 0 else { return (0, 0) }
        let p50 = max(1, (total + 1) / 2), p99 = max(1, Int((0.99 * Double(total)).rounded(.up)))
        let (median, high) = counts.withUnsafeBufferPointer { counts -> (Int, Int) in
            var seen = 0, median = -1
            for index in 0..<counts.count {
                seen += Int(counts[index])
                if median < 0 && seen >= p50 { median = index }
                if seen >= p99 { return (median, index) }
            }
            return (median < 0 ? counts.count - 1 : median, counts.count - 1)
        }
        return (LatencyHistogram.bound(median), LatencyHistogram.bound(high))
    }
}

/// What `passauth_stats` reports. Counts only; nothing here can carry a secret.
package final class Stats: Sendable {
    /// Requests and latency per endpoint, in Endpoint order (a fixed table: no hashing per request).
    private let endpoints = Locked<[PerEndpoint]>(Array(repeating: PerEndpoint(), count: Endpoint.allCases.count))
    /// Exchanges of names outside the Endpoint table (the tests' own control calls).
    private let others = Locked<[String: Int]>([:])
    private static let index: [String: Int] = Dictionary(uniqueKeysWithValues: Endpoint.allCases.map { ($0.name, $0.rawValue) })

    private struct PerEndpoint {
        var requests = 0
        var latency = LatencyHistogram()
        /// The percentiles as of `percentilesAt` exchanges (a dashboard polling the counters between
        /// requests does not rescan the histogram).
        var percentilesAt = 0
        var percentiles = (0.0, 0.0)
    }

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
    /// With a Redis store: this client's id in the fleet (FleetEvents.instance; passauth_poll_info's
    /// "instance" names the one that made a poll's last request).
    let fleetInstance = Locked<String?>(nil)

    package init() {}

    /// One exchange with the service ended (answered or failed) after `elapsedMs`.
    func countRequest(_ endpoint: String, elapsedMs: Double? = nil) {
        guard let slot = Stats.index[endpoint] else { return others.withLock { $0[endpoint, default: 0] += 1 } }
        endpoints.withLock { table in
            table[slot].requests += 1
            if let elapsedMs { table[slot].latency.record(ms: elapsedMs) }
        }
    }

    /// The counters as one JSON object, written directly into bytes (callers may read it often).
    package var json: [UInt8] {
        // Summarised under the lock (a few numbers per endpoint), formatted outside it.
        var summary = [Summary](repeating: Summary(), count: Endpoint.allCases.count)
        endpoints.withLock { table in
            for index in table.indices where table[index].requests > 0 || table[index].latency.total > 0 {
                if table[index].percentilesAt != table[index].latency.total {
                    table[index].percentiles = table[index].latency.medianAndP99()
                    table[index].percentilesAt = table[index].latency.total
                }
                let (p50, p99) = table[index].percentiles
                summary[index] = Summary(requests: table[index].requests, latencyCount: table[index].latency.total, p50: p50, p99: p99)
            }
        }
        let extra = others.withLock { $0.isEmpty ? [] : $0.sorted { $0.key < $1.key } }
        var out = ByteWriter(capacity: 1024)
        out.raw("{\"requests\":{")
        var total = 0, first = true
        for endpoint in Endpoint.sortedByName where summary[endpoint.rawValue].requests > 0 {
            if !first { out.byte(UInt8(ascii: ",")) }
            first = false
            out.string(endpoint.staticName)
            out.byte(UInt8(ascii: ":"))
            out.integer(Int64(summary[endpoint.rawValue].requests))
            total += summary[endpoint.rawValue].requests
        }
        for (name, value) in extra {
            if !first { out.byte(UInt8(ascii: ",")) }
            first = false
            out.string(name)
            out.byte(UInt8(ascii: ":"))
            out.integer(Int64(value))
            total += value
        }
        out.raw("},\"requestsTotal\":"); out.integer(Int64(total))
        out.raw(",\"retries\":"); out.integer(Int64(retries.current))
        out.raw(",\"unauthorizedRefreshes\":"); out.integer(Int64(unauthorizedRefreshes.current))
        out.raw(",\"throttled\":"); out.integer(Int64(throttled.current))
        out.raw(",\"cacheHits\":"); out.integer(Int64(cacheHits.current))
        out.raw(",\"connectionsOpened\":"); out.integer(Int64(connectionsOpened.current))
        out.raw(",\"registrations\":"); out.integer(Int64(registrations.current))
        out.raw(",\"reregistrations\":"); out.integer(Int64(reregistrations.current))
        out.raw(",\"tokenFetches\":"); out.integer(Int64(tokenFetches.current))
        out.raw(",\"deviceInfoWarnings\":"); out.integer(Int64(deviceInfoWarnings.current))
        out.raw(",\"activePolls\":"); out.integer(Int64(activePolls.current))
        out.raw(",\"clockOffsetMs\":"); out.integer(clockOffsetMs.load(ordering: .relaxed))
        if let instance = fleetInstance.withLock({ $0 }) { out.raw(",\"fleetInstance\":"); out.string(instance) }
        out.raw(",\"latency\":{")
        first = true
        for endpoint in Endpoint.sortedByName where summary[endpoint.rawValue].latencyCount > 0 {
            let entry = summary[endpoint.rawValue]
            if !first { out.byte(UInt8(ascii: ",")) }
            first = false
            out.string(endpoint.staticName)
            out.raw(":{\"count\":"); out.integer(Int64(entry.latencyCount))
            out.raw(",\"p50Ms\":"); Stats.tenths(entry.p50, to: &out)
            out.raw(",\"p99Ms\":"); Stats.tenths(entry.p99, to: &out)
            out.byte(UInt8(ascii: "}"))
        }
        out.raw("}}")
        return out.finish()
    }

    /// A non-negative number with one decimal (0.1 ms precision).
    private static func tenths(_ value: Double, to out: inout ByteWriter) {
        let tenths = Int64(saturatingCeil: (value * 10).rounded())
        out.integer(tenths / 10)
        out.byte(UInt8(ascii: "."))
        out.byte(UInt8(ascii: "0") + UInt8(tenths % 10))
    }

    private struct Summary {
        var requests = 0, latencyCount = 0
        var p50 = 0.0, p99 = 0.0
    }

    package var asJSON: JSON { (try? JSON.parse(json)) ?? .null }
}

