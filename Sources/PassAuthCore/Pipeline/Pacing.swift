/// The client side of throttling-mechanism.md: a token bucket per device IP (the service's key) —
/// 1 request per second, an initial burst of 10 — so a well-behaved caller never meets a 429. Callers
/// are delayed, not failed, unless the wait would exceed their timeout. Waiting happens outside the
/// lock; a reservation is taken before sleeping so concurrent callers queue in order.
final class Pacer: Sendable {
    static let maxTrackedDevices = 10_000
    let burst: Double
    let refillPerMs: Double

    /// `ratePerSecond` requests per second per device, `burst` at once (config pacingRatePerSecond, pacingBurst).
    init(ratePerSecond: Double = 1, burst: Int = 10) {
        self.burst = Double(burst)
        refillPerMs = ratePerSecond / 1000
    }

    private struct Bucket {
        var tokens: Double
        var updated: Int64
    }

    private struct Table {
        var buckets: [String: Bucket] = [:]
        /// Prune when the table grows past this (doubled after a prune that freed little), so that
        /// many live devices cost an amortised O(1) per request, not a scan each time.
        var pruneAt = Pacer.maxTrackedDevices
    }

    private let buckets = Locked<Table>(Table())

    /// Milliseconds the caller must wait before sending for `key` (0: at once); the slot is reserved.
    func reserve(for key: String, timeoutMs: Int, endpoint: String, now: Int64 = Clock.monotonicMs()) throws(PassAuthError) -> Int64 {
        let (wait, reserved): (Int64, Bool) = withBucket(key, now: now) { bucket in
            let wait = waitMs(bucket)
            guard wait <= Int64(timeoutMs) else { return (wait, false) }
            bucket.tokens -= 1
            return (wait, true)
        }
        guard reserved else {
            var error = PassAuthError(.throttled, "\(endpoint): this device has used its request budget (\(refillPerMs * 1000)/s, burst \(Int(burst))); waiting would exceed timeoutMs (\(timeoutMs))")
            error.retryAfterMs = Int(clamping: wait)
            error.endpoint = endpoint
            throw error
        }
        return wait
    }

    /// For callers that reschedule instead of sleeping (the poller): 0 when a token was available (it
    /// is taken), otherwise the wait until one is (nothing is taken).
    func take(for key: String, now: Int64 = Clock.monotonicMs()) -> Int64 {
        withBucket(key, now: now) { bucket in
            let wait = waitMs(bucket)
            if wait == 0 { bucket.tokens -= 1 }
            return wait
        }
    }

    /// A wait longer than a day exceeds every timeout (a call's, a poll's); the poller checks again then.
    static let maxWaitMs: Int64 = 86_400_000

    /// Saturating: a tiny rate (pacingRatePerSecond 1e-300, or 5e-324 whose per-ms rate is 0) means a
    /// wait beyond any Int64, or an infinite one.
    private func waitMs(_ bucket: Bucket) -> Int64 {
        bucket.tokens >= 1 ? 0 : min(Int64(saturatingCeil: (1 - bucket.tokens) / refillPerMs), Pacer.maxWaitMs)
    }

    /// Runs `body` on `key`'s bucket, refilled up to `now`.
    private func withBucket<T>(_ key: String, now: Int64, _ body: (inout Bucket) -> T) -> T {
        buckets.withLock { state in
            if state.buckets.count > state.pruneAt {
                forgetIdle(&state.buckets, now: now)
                state.pruneAt = max(Pacer.maxTrackedDevices, state.buckets.count * 2)
            }
            var bucket = state.buckets[key] ?? Bucket(tokens: burst, updated: now)
            bucket.tokens = min(burst, bucket.tokens + Double(now - bucket.updated) * refillPerMs)
            bucket.updated = now
            let result = body(&bucket)
            state.buckets[key] = bucket
            return result
        }
    }

    /// Devices whose bucket has refilled completely carry no information: drop them.
    private func forgetIdle(_ table: inout [String: Bucket], now: Int64) {
        table = table.filter { Double(now - $0.value.updated) * refillPerMs + $0.value.tokens < burst }
    }
}
