/// The earliest time (monotonic ms) each device may send again after a 429. Waiting happens outside
/// the lock; a wait longer than the caller's budget fails fast with PASSAUTH_E_THROTTLED.
final class ThrottleGate: Sendable {
    private let notBefore = Locked<[String: Int64]>([:])

    func deferRequests(for key: String, byMs wait: Int) {
        let until = Clock.monotonicMs().addingSaturated(Int64(wait))
        notBefore.withLock { table in
            table[key] = max(table[key] ?? 0, until)
            if table.count > 10_000 {
                let now = Clock.monotonicMs()
                table = table.filter { $0.value > now }
            }
        }
    }

    /// Remaining wait for `key`, 0 when it may send now.
    func remainingMs(for key: String) -> Int64 {
        let now = Clock.monotonicMs()
        return notBefore.withLock { table in
            guard let until = table[key] else { return 0 }
            if until <= now { table[key] = nil; return 0 }
            return until - now
        }
    }

    /// Sleeps (without any lock) until `key` may send, or throws if that is more than `timeoutMs` away.
    func waitTurn(for key: String, timeoutMs: Int, endpoint: String) throws(PassAuthError) {
        let wait = remainingMs(for: key)
        guard wait > 0 else { return }
        guard wait <= Int64(timeoutMs) else {
            var error = PassAuthError(.throttled, "\(endpoint): throttled by the service; the next request for this device may leave in \(wait) ms, more than timeoutMs (\(timeoutMs))")
            error.retryAfterMs = Int(wait)
            error.endpoint = endpoint
            throw error
        }
        Clock.sleep(ms: wait)
    }
}
