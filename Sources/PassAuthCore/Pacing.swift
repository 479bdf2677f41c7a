import Synchronization

/// The client side of throttling-mechanism.md: a token bucket per device IP (the service's key) —
/// 1 request per second, an initial burst of 10 — so a well-behaved caller never meets a 429. Callers
/// are delayed, not failed, unless the wait would exceed their timeout. Waiting happens outside the
/// lock; a reservation is taken before sleeping so concurrent callers queue in order.
final class Pacer: Sendable {
    static let burst = 10.0
    static let refillPerMs = 1.0 / 1000
    static let maxTrackedDevices = 10_000

    private struct Bucket {
        var tokens: Double
        var updated: Int64
    }

    private let buckets = Mutex<[String: Bucket]>([:])

    /// Milliseconds the caller must wait before sending for `key` (0: at once); the slot is reserved.
    func reserve(for key: String, timeoutMs: Int, endpoint: String, now: Int64 = Clock.monotonicMs()) throws(PassAuthError) -> Int64 {
        let wait: Int64? = buckets.withLock { table in
            if table.count > Pacer.maxTrackedDevices { Pacer.forgetIdle(&table, now: now) }
            var bucket = table[key] ?? Bucket(tokens: Pacer.burst, updated: now)
            bucket.tokens = min(Pacer.burst, bucket.tokens + Double(now - bucket.updated) * Pacer.refillPerMs)
            bucket.updated = now
            let wait = bucket.tokens >= 1 ? 0 : Int64(((1 - bucket.tokens) / Pacer.refillPerMs).rounded(.up))
            guard wait <= Int64(timeoutMs) else {
                table[key] = bucket
                return nil
            }
            bucket.tokens -= 1
            table[key] = bucket
            return wait
        }
        guard let wait else {
            var error = PassAuthError(.throttled, "\(endpoint): this device has used its request budget (1/s, burst 10); waiting would exceed timeoutMs (\(timeoutMs))")
            error.retryAfterMs = 1_000
            error.endpoint = endpoint
            throw error
        }
        return wait
    }

    /// Devices whose bucket has refilled completely carry no information: drop them.
    private static func forgetIdle(_ table: inout [String: Bucket], now: Int64) {
        table = table.filter { Double(now - $0.value.updated) * refillPerMs + $0.value.tokens < burst }
    }
}
