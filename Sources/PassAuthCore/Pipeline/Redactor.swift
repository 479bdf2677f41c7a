import Glibc

/// Remembers the secrets a client holds (client secret, access token, media and SSO tokens) so that
/// nothing the library logs, returns as an error or hands back as a result can carry them, even when
/// a hostile server echoes them back, in any field, as they are or in an encoding the library itself
/// uses on the wire (percent/form encoding, base64, JSON's escaped "\/"). A secret of any length is a
/// secret.
///
/// Bounded, so that a long-lived client does not grow without limit and scrubbing costs the same on
/// day one and day one hundred:
/// - the configuration's secrets are kept for the client's lifetime;
/// - the current client secret and access token are kept while current;
/// - per-call secrets (media tokens, callers' SSO tokens) and replaced credentials are kept in a
///   window of the `recentCapacity` most recent, first in first out.
///
/// Cost: adding or evicting a secret is O(its length), whatever the other secrets look like (real
/// media tokens share long prefixes, so nothing is filed by prefix alone); `scrub` is one pass over
/// the text: at each position one 8-byte word is tested against a filter, and only where a held
/// secret could start is the candidate compared, by a rolling hash of the whole secret and then its
/// bytes. Reads take a shared lock, so threads scrub concurrently.
package final class Redactor: @unchecked Sendable {
    package static let recentCapacity = 1024
    static let marker: [UInt8] = Array("[redacted]".utf8)

    /// The client's rotating credentials, each held while current.
    package enum Credential: Sendable { case clientSecret, accessToken }

    private let lock = UnsafeMutablePointer<pthread_rwlock_t>.allocate(capacity: 1)
    // Guarded by `lock`.
    private var index = SecretIndex()
    private var configured: Set<[UInt8]> = []
    private var clientSecret: [UInt8]?
    private var accessToken: [UInt8]?
    private var recent: [[UInt8]: Int] = [:]   // secret -> slot in `ring`
    private var ring: [[UInt8]] = []
    private var next = 0

    package init() { pthread_rwlock_init(lock, nil) }

    deinit {
        pthread_rwlock_destroy(lock)
        lock.deallocate()
    }

    private func writing<T>(_ body: () -> T) -> T {
        pthread_rwlock_wrlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return body()
    }

    /// Kept for the client's lifetime: the configuration's secrets (software statement, the
    /// configured device's SSO tokens, a store encryption key).
    package func remember(_ secret: String?) {
        guard let secret = Redactor.bytes(secret) else { return }
        writing { if configured.insert(secret).inserted { index.add(secret, encodings: .all) } }
    }

    /// Held while it is the current `credential`; the one it replaces joins the recent window.
    package func hold(_ secret: String?, as credential: Credential) {
        guard let secret = Redactor.bytes(secret) else { return }
        writing {
            let previous: [UInt8]?
            switch credential {
            case .clientSecret: previous = clientSecret; clientSecret = secret
            case .accessToken: previous = accessToken; accessToken = secret
            }
            guard previous != secret else { return }
            index.add(secret, encodings: .all)
            if let previous {
                addRecent(previous, encodings: .all)
                index.remove(previous, encodings: .all)
            }
        }
    }

    /// Kept among the most recent `recentCapacity` (media tokens, callers' SSO tokens). Media tokens
    /// are never base64-encoded by the library, so that form is not searched for.
    package func rememberRecent(_ secret: String?, mediaToken: Bool = false) {
        guard let secret = Redactor.bytes(secret) else { return }
        writing { addRecent(secret, encodings: mediaToken ? .wire : .all) }
    }

    /// `rememberRecent` for a secret already in bytes (a media token read from an answer).
    func rememberRecent(bytes secret: UnsafeRawBufferPointer, mediaToken: Bool) {
        guard secret.count > 0 else { return }
        let copy = Array(secret)
        writing { addRecent(copy, encodings: mediaToken ? .wire : .all) }
    }

    private func addRecent(_ secret: [UInt8], encodings: SecretIndex.Encodings) {
        guard recent[secret] == nil else { return }
        index.add(secret, encodings: encodings)
        if ring.count < Redactor.recentCapacity {
            recent[secret] = ring.count
            ring.append(secret)
        } else {
            let evicted = ring[next]
            recent[evicted] = nil
            index.remove(evicted, encodings: .all)
            ring[next] = secret
            recent[secret] = next
            next = (next + 1) % Redactor.recentCapacity
        }
    }

    /// How many distinct secrets are held (not counting their encoded forms); for tests.
    var count: Int {
        writing {
            var all = configured.union(recent.keys)
            if let clientSecret { all.insert(clientSecret) }
            if let accessToken { all.insert(accessToken) }
            return all.count
        }
    }

    /// `text` with every held secret (and its encoded forms) replaced by `[redacted]`; the longest
    /// match wins where two overlap.
    package func scrub(_ text: String) -> String {
        var utf8 = Array(text.utf8)
        guard scrub(&utf8) else { return text }
        return String(decoding: utf8, as: UTF8.self)
    }

    /// `bytes` scrubbed (unchanged storage when nothing was found).
    func scrub(bytes: [UInt8]) -> [UInt8] {
        var copy = bytes
        return scrub(&copy) ? copy : bytes
    }

    /// Scrubs `bytes` in place; returns whether anything was replaced.
    @discardableResult
    func scrub(_ bytes: inout [UInt8]) -> Bool {
        pthread_rwlock_rdlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        guard !index.isEmpty, !bytes.isEmpty else { return false }
        let matches = bytes.withUnsafeBytes { index.matches(in: $0) }
        guard !matches.isEmpty else { return false }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var copied = 0
        for (start, length) in matches {
            out.append(contentsOf: bytes[copied..<start])
            out.append(contentsOf: Redactor.marker)
            copied = start + length
        }
        out.append(contentsOf: bytes[copied...])
        bytes = out
        return true
    }

    private static func bytes(_ secret: String?) -> [UInt8]? {
        guard let secret, !secret.isEmpty else { return nil }
        return Array(secret.utf8)
    }
}

/// The searchable form of the held secrets: each secret and its encoded forms, reference-counted (two
/// tiers may hold the same value), findable in a text in one pass.
struct SecretIndex {
    struct Encodings: OptionSet {
        let rawValue: Int
        static let percent = Encodings(rawValue: 1)
        static let jsonEscaped = Encodings(rawValue: 2)
        static let base64 = Encodings(rawValue: 4)
        /// How the secret may travel as the library sends it (URL, form, JSON).
        static let wire: Encodings = [.percent, .jsonEscaped]
        static let all: Encodings = [.percent, .jsonEscaped, .base64]
    }

    /// Anchor: the first 8 bytes of a secret of 8 bytes or more, as one little-endian word.
    private var anchors: [UInt64: [Int: Int]] = [:]          // word -> (length -> count)
    /// Shorter secrets: length -> (zero-padded word -> count).
    private var short: [Int: [UInt64: Int]] = [:]
    /// Every searchable form by (rolling hash, length), with its bytes and reference count.
    private var forms: [Key: [(bytes: [UInt8], count: Int)]] = [:]
    /// Counts per 16-bit hash of an anchor word: a position whose word's slot is 0 holds no secret.
    private var filter = [UInt16](repeating: 0, count: 1 << 16)
    private var formCount = 0

    struct Key: Hashable {
        let hash: UInt64
        let length: Int
    }

    var isEmpty: Bool { formCount == 0 }

    mutating func add(_ secret: [UInt8], encodings: Encodings) {
        for form in SecretIndex.forms(of: secret, encodings) { adjust(form, by: 1) }
    }

    mutating func remove(_ secret: [UInt8], encodings: Encodings) {
        for form in SecretIndex.forms(of: secret, encodings) { adjust(form, by: -1) }
    }

    private static func forms(of secret: [UInt8], _ encodings: Encodings) -> Set<[UInt8]> {
        var all: Set<[UInt8]> = [secret]
        let text = String(decoding: secret, as: UTF8.self)
        if encodings.contains(.percent) { all.insert(Array(URLEncoding.component(text).utf8)) }
        if encodings.contains(.jsonEscaped) && secret.contains(UInt8(ascii: "/")) {
            all.insert(Array(text.replacingAll("/", with: "\\/").utf8))
        }
        if encodings.contains(.base64) { all.insert(Array(Base64.encode(secret).utf8)) }
        return all
    }

    private mutating func adjust(_ form: [UInt8], by delta: Int) {
        let key = Key(hash: SecretIndex.hash(form), length: form.count)
        var chain = forms[key] ?? []
        if let at = chain.firstIndex(where: { $0.bytes == form }) {
            chain[at].count += delta
            if chain[at].count > 0 {
                forms[key] = chain
                return
            }
            chain.remove(at: at)
            forms[key] = chain.isEmpty ? nil : chain
        } else {
            guard delta > 0 else { return }
            chain.append((form, delta))
            forms[key] = chain
        }
        // The form appeared (delta > 0) or disappeared: update the search structures.
        formCount += delta > 0 ? 1 : -1
        let word = SecretIndex.word(form, 0)
        if form.count >= 8 {
            anchors[word, default: [:]][form.count, default: 0] += delta
            if anchors[word]?[form.count] == 0 { anchors[word]?[form.count] = nil }
            if anchors[word]?.isEmpty == true { anchors[word] = nil }
            let slot = SecretIndex.slot(word)
            filter[slot] = delta > 0 ? filter[slot] &+ 1 : filter[slot] &- 1
        } else {
            short[form.count, default: [:]][word, default: 0] += delta
            if short[form.count]?[word] == 0 { short[form.count]?[word] = nil }
            if short[form.count]?.isEmpty == true { short[form.count] = nil }
        }
    }

    /// Non-overlapping (start, length) of held forms in `text`, left to right, longest at each start.
    func matches(in text: UnsafeRawBufferPointer) -> [(Int, Int)] {
        let n = text.count
        var found: [(Int, Int)] = []
        var prefix: [UInt64] = []  // rolling-hash prefixes, built at the first candidate
        var i = 0
        while i < n {
            let word = SecretIndex.word(text, i)
            var best = 0
            if !short.isEmpty, let shortest = short.keys.min(), i + shortest <= n {
              for (length, words) in short where length > best && i + length <= n {
                if words[word & SecretIndex.mask(length)] != nil, verify(text, i, length, &prefix) { best = length }
              }
            }
            if filter[SecretIndex.slot(word)] != 0, let lengths = anchors[word] {
                for length in lengths.keys where length > best && i + length <= n && verify(text, i, length, &prefix) {
                    best = length
                }
            }
            if best > 0 {
                found.append((i, best))
                i += best
            } else {
                i += 1
            }
        }
        return found
    }

    /// Whether text[i..<i+length] is a held form: its hash first, then its bytes.
    private func verify(_ text: UnsafeRawBufferPointer, _ i: Int, _ length: Int, _ prefix: inout [UInt64]) -> Bool {
        if prefix.isEmpty {
            prefix.reserveCapacity(text.count + 1)
            var h: UInt64 = 0
            prefix.append(0)
            for byte in text { h = h &* SecretIndex.base &+ UInt64(byte); prefix.append(h) }
        }
        let hash = prefix[i + length] &- prefix[i] &* SecretIndex.power(length)
        guard let chain = forms[Key(hash: hash, length: length)] else { return false }
        let candidate = UnsafeRawBufferPointer(rebasing: text[i..<(i + length)])
        return chain.contains { $0.bytes.elementsEqual(candidate) }
    }

    private static let base: UInt64 = 0x100_0000_01b3

    static func hash<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> UInt64 {
        bytes.reduce(0) { $0 &* base &+ UInt64($1) }
    }

    private static func power(_ exponent: Int) -> UInt64 {
        var result: UInt64 = 1, factor = base, e = exponent
        while e > 0 {
            if e & 1 == 1 { result = result &* factor }
            factor = factor &* factor
            e >>= 1
        }
        return result
    }

    /// Up to 8 bytes from `offset`, little-endian, zero-padded past the end.
    private static func word<Bytes: RandomAccessCollection<UInt8>>(_ bytes: Bytes, _ offset: Int) -> UInt64 where Bytes.Index == Int {
        var word: UInt64 = 0
        let end = min(offset + 8, bytes.count)
        var shift: UInt64 = 0
        var index = offset
        while index < end {
            word |= UInt64(bytes[bytes.startIndex + index]) << shift
            shift += 8
            index += 1
        }
        return word
    }

    private static func word(_ text: UnsafeRawBufferPointer, _ offset: Int) -> UInt64 {
        if offset + 8 <= text.count { return UInt64(littleEndian: text.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) }
        return word(Array(text[offset...]), 0)
    }

    private static func mask(_ length: Int) -> UInt64 { length >= 8 ? ~0 : (1 << UInt64(length * 8)) - 1 }

    private static func slot(_ word: UInt64) -> Int { Int((word &* 0x9E37_79B9_7F4A_7C15) >> 48) }
}
