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
        // Every part has a bounded length: the capacity is known before writing.
        let capacity = 512 + Endpoint.allCases.count * 128 + extra.reduce(0) { $0 + $1.key.utf8.count + 32 }
        return [UInt8](unsafeUninitializedCapacity: capacity) { buffer, count in
            var out = JSONWriter(buffer.baseAddress!)
            out.raw("{\"requests\":{")
            var total = 0, first = true
            for endpoint in Endpoint.sortedByName where summary[endpoint.rawValue].requests > 0 {
                out.separator(&first)
                out.string(endpoint.staticName)
                out.raw(":")
                out.integer(summary[endpoint.rawValue].requests)
                total += summary[endpoint.rawValue].requests
            }
            for (name, value) in extra {
                out.separator(&first)
                out.string(name)
                out.raw(":")
                out.integer(value)
                total += value
            }
            out.raw("},\"requestsTotal\":"); out.integer(total)
            out.raw(",\"retries\":"); out.integer(retries.current)
            out.raw(",\"unauthorizedRefreshes\":"); out.integer(unauthorizedRefreshes.current)
            out.raw(",\"throttled\":"); out.integer(throttled.current)
            out.raw(",\"cacheHits\":"); out.integer(cacheHits.current)
            out.raw(",\"connectionsOpened\":"); out.integer(connectionsOpened.current)
            out.raw(",\"registrations\":"); out.integer(registrations.current)
            out.raw(",\"reregistrations\":"); out.integer(reregistrations.current)
            out.raw(",\"tokenFetches\":"); out.integer(tokenFetches.current)
            out.raw(",\"deviceInfoWarnings\":"); out.integer(deviceInfoWarnings.current)
            out.raw(",\"activePolls\":"); out.integer(activePolls.current)
            out.raw(",\"clockOffsetMs\":"); out.integer(Int(clockOffsetMs.load(ordering: .relaxed)))
            out.raw(",\"latency\":{")
            first = true
            for endpoint in Endpoint.sortedByName where summary[endpoint.rawValue].latencyCount > 0 {
                let entry = summary[endpoint.rawValue]
                out.separator(&first)
                out.string(endpoint.staticName)
                out.raw(":{\"count\":"); out.integer(entry.latencyCount)
                out.raw(",\"p50Ms\":"); out.tenths(entry.p50)
                out.raw(",\"p99Ms\":"); out.tenths(entry.p99)
                out.raw("}")
            }
            out.raw("}}")
            count = out.count
            precondition(count <= capacity)
        }
    }

    private struct Summary {
        var requests = 0, latencyCount = 0
        var p50 = 0.0, p99 = 0.0
    }

    package var asJSON: JSON { (try? JSON.parse(json)) ?? .null }
}

/// Appends JSON text to bytes (names are the library's own: no escaping needed).
/// Writes JSON into memory the caller sized: no checks per byte, no reference counting.
private struct JSONWriter {
    private let base: UnsafeMutablePointer<UInt8>
    private(set) var count = 0

    init(_ base: UnsafeMutablePointer<UInt8>) { self.base = base }

    mutating func raw(_ text: StaticString) {
        memcpy(base + count, text.utf8Start, text.utf8CodeUnitCount)
        count += text.utf8CodeUnitCount
    }

    mutating func separator(_ first: inout Bool) {
        if !first { byte(UInt8(ascii: ",")) }
        first = false
    }

    /// A name that needs no escaping (endpoint names).
    mutating func string(_ text: StaticString) {
        byte(UInt8(ascii: "\""))
        raw(text)
        byte(UInt8(ascii: "\""))
    }

    /// Any name (the extra counters' names are the library's own, escaped anyway).
    mutating func string(_ text: String) {
        byte(UInt8(ascii: "\""))
        for unit in text.utf8 {
            if unit == UInt8(ascii: "\"") || unit == UInt8(ascii: "\\") || unit < 0x20 { byte(UInt8(ascii: "_")) } else { byte(unit) }
        }
        byte(UInt8(ascii: "\""))
    }

    mutating func byte(_ value: UInt8) {
        base[count] = value
        count += 1
    }

    mutating func integer(_ value: Int) {
        if value < 0 { byte(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        var divisor: UInt = 1
        while magnitude / divisor >= 10 { divisor *= 10 }
        repeat {
            byte(UInt8(ascii: "0") + UInt8(magnitude / divisor))
            magnitude %= divisor
            divisor /= 10
        } while divisor > 0
    }

    /// A non-negative number with one decimal (0.1 ms precision).
    mutating func tenths(_ value: Double) {
        let tenths = Int(saturatingCeil: (value * 10).rounded())
        integer(tenths / 10)
        byte(UInt8(ascii: "."))
        byte(UInt8(ascii: "0") + UInt8(tenths % 10))
    }
}
