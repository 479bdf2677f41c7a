/// The notAfter of codes seen in passauth_session_create, for polls started without one (both
/// pollers keep one, under their monitor). Bounded: expired codes go first, then those closest to
/// expiry.
struct KnownExpiries {
    static let capacity = 10_000
    private var byCode: [String: Int64] = [:]

    subscript(code: String) -> Int64? { byCode[code] }
    var count: Int { byCode.count }

    mutating func remember(_ code: String, notAfter: Int64) {
        if byCode.count >= KnownExpiries.capacity, byCode[code] == nil {
            let now = Clock.nowMs()
            byCode = byCode.filter { $0.value > now }
            if byCode.count >= KnownExpiries.capacity {
                let excess = byCode.count - KnownExpiries.capacity * 9 / 10
                for (stale, _) in byCode.sorted(by: { $0.value < $1.value }).prefix(excess) { byCode[stale] = nil }
            }
        }
        byCode[code] = notAfter
    }
}

extension PassAuthError {
    /// How a poll ends when a newer code was started for its device (either poller).
    static let superseded = PassAuthError(.cancelled, "a newer authentication code was started for this device")

    static func codeExpired(_ code: String) -> PassAuthError {
        PassAuthError(.expired, "authentication code \(code) expired before the user finished logging in")
    }
}
