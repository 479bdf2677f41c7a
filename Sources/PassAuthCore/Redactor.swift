import Synchronization

/// Remembers the secrets a client holds (client secret, access token, media and SSO tokens) so that
/// nothing the library prints or returns as an error can carry them, even when a hostile server
/// echoes them back.
public final class Redactor: Sendable {
    private let secrets = Mutex<Set<String>>([])

    public init() {}

    public func remember(_ secret: String?) {
        // Very short values would redact ordinary words; real secrets are long.
        guard let secret, secret.utf8.count >= 6 else { return }
        secrets.withLock { _ = $0.insert(secret) }
    }

    public func scrub(_ text: String) -> String {
        let known = secrets.withLock { $0 }
        var result = text
        for secret in known where result.contains(secret) {
            result = result.replacing(secret, with: "[redacted]")
        }
        return result
    }
}
