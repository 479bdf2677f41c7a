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

    /// Upper bounds of the buckets, computed once.
    static let bounds: [Double] = (0..<bucketCount).map { firstBoundMs * pow(ratio, Double($0)) }

    /// The upper bounds of the buckets holding the median and the 99th percentile, in one pass.
    func medianAndP99() -> (Double, Double) {
        guard total > 0 else { return (0, 0) }
        let p50 = max(1, (total + 1) / 2), p99 = max(1, Int((0.99 * Double(total)).rounded(.up)))
        var seen = 0, median: Double? = nil
        for index in 0..<LatencyHistogram.bucketCount {
            seen += Int(counts[index])
            if median == nil && seen >= p50 { median = LatencyHistogram.bounds[index] }
            if seen >= p99 { return (median ?? LatencyHistogram.bounds[index], LatencyHistogram.bounds[index]) }
        }
        let last = LatencyHistogram.bounds[LatencyHistogram.bucketCount - 1]
        return (median ?? last, last)
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
        let summary: [(requests: Int, latencyCount: Int, p50: Double, p99: Double)] = endpoints.withLock { table in
            table.map { entry in
                let (p50, p99) = entry.latency.medianAndP99()
                return (entry.requests, entry.latency.total, p50, p99)
            }
        }
        let extra = others.withLock { $0.isEmpty ? [] : $0.sorted { $0.key < $1.key } }
        var out = JSONWriter()
        out.raw(Stats.text.requests)
        var total = 0, first = true
        for endpoint in Endpoint.sortedByName where summary[endpoint.rawValue].requests > 0 {
            out.member(Stats.text.names[endpoint.rawValue], summary[endpoint.rawValue].requests, first: &first)
            total += summary[endpoint.rawValue].requests
        }
        for (name, count) in extra {
            out.member(Array(name.utf8), count, first: &first)
            total += count
        }
        out.raw(Stats.text.total)
        out.integer(total)
        for (index, counter) in [retries, unauthorizedRefreshes, throttled, cacheHits, connectionsOpened, registrations,
                                 reregistrations, tokenFetches, deviceInfoWarnings, activePolls].enumerated() {
            out.raw(Stats.text.counters[index])
            out.integer(counter.current)
        }
        out.raw(Stats.text.clockOffset)
        out.integer(Int(clockOffsetMs.load(ordering: .relaxed)))
        out.raw(Stats.text.latency)
        first = true
        for endpoint in Endpoint.sortedByName where summary[endpoint.rawValue].latencyCount > 0 {
            let entry = summary[endpoint.rawValue]
            if !first { out.raw(Stats.text.comma) }
            first = false
            out.raw(Stats.text.quote)
            out.raw(Stats.text.names[endpoint.rawValue])
            out.raw(Stats.text.count)
            out.integer(entry.latencyCount)
            out.raw(Stats.text.p50)
            out.tenths(entry.p50)
            out.raw(Stats.text.p99)
            out.tenths(entry.p99)
            out.raw(Stats.text.close)
        }
        out.raw(Stats.text.end)
        return out.bytes
    }

    /// The fixed parts of the document, as bytes once.
    private enum text {
        static let requests = Array("{\"requests\":{".utf8)
        static let total = Array("},\"requestsTotal\":".utf8)
        static let names = Endpoint.allCases.map { Array($0.name.utf8) }
        static let counters = ["retries", "unauthorizedRefreshes", "throttled", "cacheHits", "connectionsOpened", "registrations",
                               "reregistrations", "tokenFetches", "deviceInfoWarnings", "activePolls"].map { Array(",\"\($0)\":".utf8) }
        static let clockOffset = Array(",\"clockOffsetMs\":".utf8)
        static let latency = Array(",\"latency\":{".utf8)
        static let comma = Array(",".utf8)
        static let quote = Array("\"".utf8)
        static let count = Array("\":{\"count\":".utf8)
        static let p50 = Array(",\"p50Ms\":".utf8)
        static let p99 = Array(",\"p99Ms\":".utf8)
        static let close = Array("}".utf8)
        static let end = Array("}}".utf8)
    }

    package var asJSON: JSON { (try? JSON.parse(json)) ?? .null }
}

/// Appends JSON text to bytes (names are the library's own: no escaping needed).
private struct JSONWriter {
    var bytes: [UInt8] = []

    init() { bytes.reserveCapacity(1024) }

    mutating func raw(_ text: [UInt8]) { bytes.append(contentsOf: text) }

    mutating func member(_ name: [UInt8], _ value: Int, first: inout Bool) {
        if !first { bytes.append(UInt8(ascii: ",")) }
        first = false
        bytes.append(UInt8(ascii: "\""))
        bytes.append(contentsOf: name)
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
        integer(value)
    }

    mutating func integer(_ value: Int) {
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        var divisor: UInt = 1
        while magnitude / divisor >= 10 { divisor *= 10 }
        repeat {
            bytes.append(UInt8(ascii: "0") + UInt8(magnitude / divisor))
            magnitude %= divisor
            divisor /= 10
        } while divisor > 0
    }

    /// A non-negative number with one decimal (0.1 ms precision).
    mutating func tenths(_ value: Double) {
        let tenths = Int(saturatingCeil: (value * 10).rounded())
        integer(tenths / 10)
        bytes.append(UInt8(ascii: "."))
        bytes.append(UInt8(ascii: "0") + UInt8(tenths % 10))
    }
}
