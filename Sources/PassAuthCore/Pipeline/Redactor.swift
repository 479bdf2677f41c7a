/// Remembers the secrets a client holds (client secret, access token, media and SSO tokens) so that
/// nothing the library prints or returns as an error can carry them, even when a hostile server
/// echoes them back.
///
/// Bounded, so that a long-lived client (a player running for days, a server-to-server back-end
/// serving many devices, a client re-registered many times) does not grow without limit and
/// scrubbing stays as cheap as on day one:
/// - the configuration's secrets are kept for the client's lifetime;
/// - the current client secret and access token are kept while current;
/// - per-call secrets (media tokens, callers' SSO tokens) and replaced credentials are kept in a
///   window of the `recentCapacity` most recent, first in first out.
///
/// `scrub` costs one pass over the text whatever the number of secrets: secrets are indexed by
/// their first `minimumLength` bytes.
public final class Redactor: Sendable {
    public static let recentCapacity = 1024
    /// Shorter values would redact ordinary words; real secrets are long.
    static let minimumLength = 6

    /// The client's rotating credentials, each held while current.
    public enum Credential: Sendable { case clientSecret, accessToken }

    private struct Secrets {
        var configured: Set<String> = []
        var clientSecret: String?
        var accessToken: String?
        var recent: Set<String> = []
        var order: [String] = []  // ring buffer of `recent`, oldest at `next` once full
        var next = 0
        /// Every secret of every tier, by its first `minimumLength` bytes; `holders` counts the
        /// tiers holding each, so a secret leaves the index only when no tier holds it.
        var index: [UInt64: [[UInt8]]] = [:]
        var holders: [String: Int] = [:]

        mutating func add(_ secret: String) {
            holders[secret, default: 0] += 1
            if holders[secret] == 1 { index[Redactor.key(secret.utf8), default: []].append(Array(secret.utf8)) }
        }

        mutating func drop(_ secret: String) {
            guard let count = holders[secret] else { return }
            if count > 1 { holders[secret] = count - 1; return }
            holders[secret] = nil
            let key = Redactor.key(secret.utf8), bytes = Array(secret.utf8)
            index[key]?.removeAll { $0 == bytes }
            if index[key]?.isEmpty == true { index[key] = nil }
        }

        mutating func addRecent(_ secret: String) {
            guard recent.insert(secret).inserted else { return }
            add(secret)
            if order.count < Redactor.recentCapacity {
                order.append(secret)
            } else {
                recent.remove(order[next])
                drop(order[next])
                order[next] = secret
                next = (next + 1) % Redactor.recentCapacity
            }
        }
    }

    private let secrets = Locked(Secrets())

    public init() {}

    /// Kept for the client's lifetime: the configuration's secrets (software statement, the
    /// configured device's SSO tokens).
    public func remember(_ secret: String?) {
        guard let secret, Redactor.worthRemembering(secret) else { return }
        secrets.withLock { s in if s.configured.insert(secret).inserted { s.add(secret) } }
    }

    /// Held while it is the current `credential`; the one it replaces joins the recent window.
    public func hold(_ secret: String?, as credential: Credential) {
        guard let secret, Redactor.worthRemembering(secret) else { return }
        secrets.withLock { s in
            let previous: String?
            switch credential {
            case .clientSecret: previous = s.clientSecret; s.clientSecret = secret
            case .accessToken: previous = s.accessToken; s.accessToken = secret
            }
            guard previous != secret else { return }
            s.add(secret)
            if let previous {
                s.addRecent(previous)
                s.drop(previous)
            }
        }
    }

    /// Kept among the most recent `recentCapacity` (media tokens, callers' SSO tokens).
    public func rememberRecent(_ secret: String?) {
        guard let secret, Redactor.worthRemembering(secret) else { return }
        secrets.withLock { $0.addRecent(secret) }
    }

    /// How many distinct secrets are held; for tests.
    var count: Int { secrets.withLock { $0.holders.count } }

    /// `text` with every held secret replaced by `[redacted]` (the longest match wins where two overlap).
    public func scrub(_ text: String) -> String {
        let index = secrets.withLock { $0.index }  // a copy-on-write snapshot: the scan runs unlocked
        let bytes = Array(text.utf8)
        guard !index.isEmpty, bytes.count >= Redactor.minimumLength else { return text }
        var out: [UInt8] = []
        var i = 0, copied = 0
        while i + Redactor.minimumLength <= bytes.count {
            let length = index[Redactor.key(bytes[i...])]?
                .filter { i + $0.count <= bytes.count && bytes[i..<(i + $0.count)].elementsEqual($0) }
                .map(\.count).max()
            guard let length else { i += 1; continue }
            out.append(contentsOf: bytes[copied..<i])
            out.append(contentsOf: "[redacted]".utf8)
            i += length
            copied = i
        }
        guard copied > 0 else { return text }
        out.append(contentsOf: bytes[copied...])
        return String(decoding: out, as: UTF8.self)
    }

    /// The first `minimumLength` bytes packed into one integer.
    private static func key<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> UInt64 {
        bytes.prefix(minimumLength).reduce(0) { $0 << 8 | UInt64($1) }
    }

    private static func worthRemembering(_ secret: String) -> Bool { secret.utf8.count >= minimumLength }
}
