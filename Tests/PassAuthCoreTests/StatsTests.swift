import Testing
@testable import PassAuthCore

/// `passauth_stats`' document: valid JSON, counts per endpoint, percentiles from the histogram, and
/// percentiles that follow new exchanges (they are kept between reads).
@Suite struct StatsTests {
    private func document(_ stats: Stats) throws -> JSON { try JSON.parse(stats.json) }

    private func number(_ json: JSON?) -> Double? {
        switch json {
        case .int(let value)?: return Double(value)
        case .double(let value)?: return value
        default: return nil
        }
    }

    @Test func emptyStatsAreADocumentOfZeros() throws {
        let json = try document(Stats())
        #expect(json["requests"] == .object([]))
        #expect(json["requestsTotal"]?.int64Value == 0)
        #expect(json["latency"] == .object([]))
        for key in ["retries", "cacheHits", "connectionsOpened", "activePolls", "clockOffsetMs"] {
            #expect(json[key]?.int64Value == 0, "\(key)")
        }
    }

    @Test func countsAndPercentilesPerEndpoint() throws {
        let stats = Stats()
        for _ in 0..<98 { stats.countRequest("decisions.authorize", elapsedMs: 2) }
        stats.countRequest("decisions.authorize", elapsedMs: 50)
        stats.countRequest("decisions.authorize", elapsedMs: 900)
        stats.countRequest("profiles")  // failed before an answer: counted, no latency
        stats.countRequest("odd\"name")  // outside the table: counted, its name escaped
        stats.retries.add(3)
        stats.clockOffsetMs.store(-1234, ordering: .relaxed)
        var json = try document(stats)
        #expect(json["requests"]?["decisions.authorize"]?.int64Value == 100)
        #expect(json["requests"]?["profiles"]?.int64Value == 1)
        #expect(json["requests"]?["odd\"name"]?.int64Value == 1)
        #expect(json["requestsTotal"]?.int64Value == 102)
        #expect(json["retries"]?.int64Value == 3)
        #expect(json["clockOffsetMs"]?.int64Value == -1234)
        #expect(json["latency"]?["profiles"] == nil)
        let latency = try #require(json["latency"]?["decisions.authorize"])
        #expect(latency["count"]?.int64Value == 100)
        // Buckets are 10% wide: the bound of 2 ms' bucket is within 10% above it.
        let p50 = try #require(number(latency["p50Ms"])), p99 = try #require(number(latency["p99Ms"]))
        #expect(p50 >= 2 && p50 <= 2.3, "\(p50)")
        #expect(p99 >= 50 && p99 <= 55.1, "\(p99)")

        // New exchanges move the percentiles (nothing stale is kept between reads).
        for _ in 0..<200 { stats.countRequest("decisions.authorize", elapsedMs: 900) }
        json = try document(stats)
        let later = try #require(json["latency"]?["decisions.authorize"])
        #expect(later["count"]?.int64Value == 300)
        #expect((number(later["p50Ms"]) ?? 0) >= 900 && (number(later["p99Ms"]) ?? 0) <= 990)
    }
}
