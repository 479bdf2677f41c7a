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
        // Copied under the lock, then formatted outside it.
        let table = endpoints.withLock { $0 }
        let extra = others.withLock { $0.sorted { $0.key < $1.key } }
        var out = JSONWriter()
        out.raw("{\"requests\":{")
        var total = 0, first = true
        for endpoint in Endpoint.sortedByName where table[endpoint.rawValue].requests > 0 {
            out.member(endpoint.name, table[endpoint.rawValue].requests, first: &first)
            total += table[endpoint.rawValue].requests
        }
        for (name, count) in extra {
            out.member(name, count, first: &first)
            total += count
        }
        out.raw("},\"requestsTotal\":")
        out.integer(total)
        for (name, counter) in [("retries", retries), ("unauthorizedRefreshes", unauthorizedRefreshes), ("throttled", throttled),
                                ("cacheHits", cacheHits), ("connectionsOpened", connectionsOpened),
                                ("registrations", registrations), ("reregistrations", reregistrations),
                                ("tokenFetches", tokenFetches), ("deviceInfoWarnings", deviceInfoWarnings),
                                ("activePolls", activePolls)] {
            out.raw(",\"" + name + "\":")
            out.integer(counter.current)
        }
        out.raw(",\"clockOffsetMs\":")
        out.integer(Int(clockOffsetMs.load(ordering: .relaxed)))
        out.raw(",\"latency\":{")
        first = true
        for endpoint in Endpoint.sortedByName where table[endpoint.rawValue].latency.total > 0 {
            let latency = table[endpoint.rawValue].latency
            if !first { out.raw(",") }
            first = false
            out.raw("\"" + endpoint.name + "\":{\"count\":")
            out.integer(latency.total)
            out.raw(",\"p50Ms\":")
            out.tenths(latency.quantileMs(0.5))
            out.raw(",\"p99Ms\":")
            out.tenths(latency.quantileMs(0.99))
            out.raw("}")
        }
        out.raw("}}")
        return out.bytes
    }

    package var asJSON: JSON { (try? JSON.parse(json)) ?? .null }
}

/// Appends JSON text to bytes (names are the library's own: no escaping needed).
private struct JSONWriter {
    var bytes: [UInt8] = []

    init() { bytes.reserveCapacity(1024) }

    mutating func raw(_ text: String) { bytes += text.utf8 }

    mutating func member(_ name: String, _ value: Int, first: inout Bool) {
        if !first { bytes.append(UInt8(ascii: ",")) }
        first = false
        bytes.append(UInt8(ascii: "\""))
        bytes += name.utf8
        bytes += "\":".utf8
        integer(value)
    }

    mutating func integer(_ value: Int) {
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        var digits: [UInt8] = []
        repeat {
            digits.append(UInt8(ascii: "0") + UInt8(magnitude % 10))
            magnitude /= 10
        } while magnitude > 0
        bytes += digits.reversed()
    }

    /// A non-negative number with one decimal (0.1 ms precision).
    mutating func tenths(_ value: Double) {
        let tenths = Int((value * 10).rounded())
        integer(tenths / 10)
        bytes.append(UInt8(ascii: "."))
        bytes.append(UInt8(ascii: "0") + UInt8(tenths % 10))
    }
}
