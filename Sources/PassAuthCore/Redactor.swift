/// Remembers the secrets a client holds (client secret, access token, media and SSO tokens) so that
/// nothing the library prints or returns as an error can carry them, even when a hostile server
/// echoes them back.
///
/// Two tiers, so that a long-lived client (a player running for days, a server-to-server back-end
/// serving many devices) does not grow without bound: the client's own credentials are kept for the
/// client's lifetime; per-call secrets (media tokens, the SSO tokens of caller-supplied devices) are
/// kept in a bounded first-in-first-out window of the most recent `recentCapacity`.
public final class Redactor: Sendable {
    public static let recentCapacity = 1024

    private struct Secrets {
        var pinned: Set<String> = []
        var recent: Set<String> = []
        var order: [String] = []  // ring buffer of `recent`, oldest at `next` once full
        var next = 0
    }

    private let secrets = Locked(Secrets())

    public init() {}

    /// Kept for the client's lifetime (client secret, access tokens, software statement, the config's device).
    public func remember(_ secret: String?) {
        guard let secret, Redactor.worthRemembering(secret) else { return }
        secrets.withLock { _ = $0.pinned.insert(secret) }
    }

    /// Kept among the most recent `recentCapacity` per-call secrets (media tokens, callers' SSO tokens).
    public func rememberRecent(_ secret: String?) {
        guard let secret, Redactor.worthRemembering(secret) else { return }
        secrets.withLock { s in
            guard !s.pinned.contains(secret), s.recent.insert(secret).inserted else { return }
            if s.order.count < Redactor.recentCapacity {
                s.order.append(secret)
            } else {
                s.recent.remove(s.order[s.next])
                s.order[s.next] = secret
                s.next = (s.next + 1) % Redactor.recentCapacity
            }
        }
    }

    /// How many secrets are held (pinned + recent); for tests.
    var count: Int { secrets.withLock { $0.pinned.count + $0.recent.count } }

    public func scrub(_ text: String) -> String {
        let (pinned, recent) = secrets.withLock { ($0.pinned, $0.recent) }
        var result = text
        for secret in pinned.union(recent) where result.contains(secret) {
            result = result.replacing(secret, with: "[redacted]")
        }
        return result
    }

    /// Very short values would redact ordinary words; real secrets are long.
    private static func worthRemembering(_ secret: String) -> Bool { secret.utf8.count >= 6 }
}
