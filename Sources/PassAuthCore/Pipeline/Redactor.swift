import Glibc

/// Remembers the secrets a client holds so that nothing the library logs, returns as an error or hands
/// back as a result can carry them, even when a hostile server echoes them back, in any field, as they
/// are or in an encoding the library itself uses on the wire (percent/form encoding, base64, JSON's
/// escaped "\/"). A secret of any length is a secret.
///
/// Two tiers, because they are searched in different places:
/// - the client's own secrets, which no caller may ever see: the configuration's secrets (software
///   statement, the configured device's SSO tokens), the current client secret and access token and
///   the last `replacedCapacity` replaced ones. Every answer of the service is scrubbed of these
///   before anything reads it, results included.
/// - per-call secrets, the callers' own values: media tokens (a result of authorize) and callers' SSO
///   tokens, the `recentCapacity` most recent, first in first out. Errors, logs and statistics are
///   scrubbed of both tiers.
///
/// Cost: adding or evicting a secret is O(its length), whatever the other secrets look like (real
/// media tokens share long prefixes, so nothing is filed by prefix alone); scrubbing is one pass over
/// the text, and for answers (own secrets only) a probe every 8 bytes. Reads take a shared lock.
package final class Redactor: @unchecked Sendable {
    package static let recentCapacity = 1024
    static let replacedCapacity = 16
    static let marker: [UInt8] = Array("[redacted]".utf8)

    /// The client's rotating credentials, each held while current.
    package enum Credential: Sendable { case clientSecret, accessToken }

    private let lock = UnsafeMutablePointer<pthread_rwlock_t>.allocate(capacity: 1)
    // Guarded by `lock`.
    private var own = SecretIndex(strided: true)
    private var recent = SecretIndex(strided: false)
    private var configured: Set<SecretKey> = []
    private var clientSecret: [UInt8]?
    private var accessToken: [UInt8]?
    private var replaced = Window(capacity: Redactor.replacedCapacity)
    private var perCall = Window(capacity: Redactor.recentCapacity)

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

    /// Kept for the client's lifetime: the configuration's secrets.
    package func remember(_ secret: String?) {
        guard let secret = Redactor.bytes(secret) else { return }
        writing { if configured.insert(SecretKey(secret)).inserted { own.add(secret, encodings: .all) } }
    }

    /// Held while it is the current `credential`; the one it replaces stays searched for a while.
    package func hold(_ secret: String?, as credential: Credential) {
        guard let secret = Redactor.bytes(secret) else { return }
        writing {
            let previous: [UInt8]?
            switch credential {
            case .clientSecret: previous = clientSecret; clientSecret = secret
            case .accessToken: previous = accessToken; accessToken = secret
            }
            guard previous != secret else { return }
            own.add(secret, encodings: .all)
            // The replaced value's reference moves from "current" to the replaced window.
            if let previous {
                let key = SecretKey(previous)
                if replaced.contains(key) {
                    own.remove(previous, encodings: .all)
                } else if let evicted = replaced.insert(key, .all) {
                    own.remove(evicted.key.bytes, encodings: evicted.encodings)
                }
            }
        }
    }

    /// Kept among the most recent `recentCapacity` (callers' SSO tokens).
    package func rememberRecent(_ secret: String?) {
        guard let secret = Redactor.bytes(secret) else { return }
        writing { addPerCall(secret, encodings: .all) }
    }

    /// A media token read from an answer. The library never sends one anywhere (no URL, form, JSON or
    /// base64 of it carries one), so it is searched for as it is.
    func rememberMediaToken(_ token: UnsafeRawBufferPointer) {
        guard token.count > 0 else { return }
        let copy = Array(token)
        writing { addPerCall(copy, encodings: []) }
    }

    private func addPerCall(_ secret: [UInt8], encodings: SecretIndex.Encodings) {
        let key = SecretKey(secret)  // hashed once for the lookup, the insert and, later, the eviction
        guard !perCall.contains(key) else { return }
        recent.add(secret, encodings: encodings)
        if let evicted = perCall.insert(key, encodings) { recent.remove(evicted.key.bytes, encodings: evicted.encodings) }
    }

    /// How many distinct secrets are held (not counting their encoded forms); for tests.
    var count: Int {
        writing {
            var all = configured.union(perCall.keys).union(replaced.keys)
            if let clientSecret { all.insert(SecretKey(clientSecret)) }
            if let accessToken { all.insert(SecretKey(accessToken)) }
            return all.count
        }
    }

    /// `text` with every held secret (both tiers, and their encoded forms) replaced by `[redacted]`;
    /// the longest match wins where two overlap. For errors, logs and statistics.
    package func scrub(_ text: String) -> String {
        var utf8 = Array(text.utf8)
        guard scrub(&utf8, everything: true) else { return text }
        return String(decoding: utf8, as: UTF8.self)
    }

    /// An answer of the service without the client's own secrets (unchanged storage when none).
    func scrubAnswer(_ bytes: [UInt8]) -> [UInt8] {
        var copy = bytes
        return scrub(&copy, everything: false) ? copy : bytes
    }

    /// An error body without any held secret.
    func scrub(bytes: [UInt8]) -> [UInt8] {
        var copy = bytes
        return scrub(&copy, everything: true) ? copy : bytes
    }

    /// Scrubs `bytes` in place; returns whether anything was replaced.
    private func scrub(_ bytes: inout [UInt8], everything: Bool) -> Bool {
        pthread_rwlock_rdlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        guard !bytes.isEmpty, !own.isEmpty || (everything && !recent.isEmpty) else { return false }
        var matches = bytes.withUnsafeBytes { own.matches(in: $0) }
        if everything { matches += bytes.withUnsafeBytes { recent.matches(in: $0) } }
        guard !matches.isEmpty else { return false }
        // Left to right; at one start the longest; a match inside an earlier one is already covered.
        matches.sort { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 > $1.1 }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var copied = 0
        for (start, length) in matches where start >= copied {
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

/// The most recent `capacity` distinct secrets (with the forms they were indexed under), first in
/// first out, O(1) per insert and lookup.
private struct Window {
    let capacity: Int
    private var slots: [SecretKey: Int] = [:]
    private var ring: [(key: SecretKey, encodings: SecretIndex.Encodings)] = []
    private var next = 0

    init(capacity: Int) { self.capacity = capacity }

    var keys: Dictionary<SecretKey, Int>.Keys { slots.keys }

    func contains(_ key: SecretKey) -> Bool { slots[key] != nil }

    /// Adds `key` (not in the window: the caller checked); returns the one it pushed out, if the window
    /// was full.
    mutating func insert(_ key: SecretKey, _ encodings: SecretIndex.Encodings) -> (key: SecretKey, encodings: SecretIndex.Encodings)? {
        if ring.count < capacity {
            slots[key] = ring.count
            ring.append((key, encodings))
            return nil
        }
        let evicted = ring[next]
        slots[evicted.key] = nil
        ring[next] = (key, encodings)
        slots[key] = next
        next = (next + 1) % capacity
        return evicted
    }
}

/// A secret as a dictionary key, hashed once with the index's rolling hash (the standard library
/// would feed every byte through SipHash, which costs more than the rest of the bookkeeping).
struct SecretKey: Hashable {
    let bytes: [UInt8]
    let hash: UInt64

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
        hash = SecretIndex.hash(bytes)
    }

    static func == (a: SecretKey, b: SecretKey) -> Bool { a.hash == b.hash && a.bytes == b.bytes }
    func hash(into hasher: inout Hasher) { hasher.combine(hash) }
}

/// The searchable form of a set of secrets: each secret and its encoded forms, reference-counted (two
/// tiers or callers may hold the same value), found in a text in one pass.
///
/// A form is found through an anchor, an 8-byte word of it:
/// - strided (the client's own secrets, searched in every answer): a form of 15 bytes or more is
///   anchored at each of its first 8 offsets, so any occurrence has an anchor at a text position that
///   is a multiple of 8, and only those positions are probed;
/// - otherwise a form of 8 bytes or more is anchored at its start and every position is probed;
/// - forms shorter than 8 bytes are matched whole at every position.
/// A probe costs one load and one test of a 64K-bit filter; only where an anchor could be is the
/// candidate checked, by a rolling hash of its whole span and then its bytes.
struct SecretIndex {
    struct Encodings: OptionSet {
        let rawValue: Int
        static let percent = Encodings(rawValue: 1)
        static let jsonEscaped = Encodings(rawValue: 2)
        static let base64 = Encodings(rawValue: 4)
        static let all: Encodings = [.percent, .jsonEscaped, .base64]
    }

    /// An anchor of a form: where it sits in the form, and the form's length.
    private struct Placement: Hashable {
        let offset: Int
        let length: Int
    }

    let strided: Bool
    static let stride = 8
    private var stridedAnchors: [UInt64: [Placement: Int]] = [:]
    private var denseAnchors: [UInt64: [Placement: Int]] = [:]
    /// Forms shorter than 8 bytes: length -> (zero-padded word -> count).
    private var short: [Int: [UInt64: Int]] = [:]
    /// Every form by (rolling hash, length), with its bytes and reference count.
    private var forms: [Key: [(bytes: [UInt8], count: Int)]] = [:]
    /// Bit per 16-bit hash of an anchor word, set while any anchor hashes there (counted in `slots`).
    private var filter = [UInt64](repeating: 0, count: (1 << 16) / 64)
    private var slots = [UInt16](repeating: 0, count: 1 << 16)
    private var formCount = 0

    struct Key: Hashable {
        let hash: UInt64
        let length: Int
    }

    init(strided: Bool) { self.strided = strided }

    var isEmpty: Bool { formCount == 0 }

    mutating func add(_ secret: [UInt8], encodings: Encodings) {
        for form in SecretIndex.forms(of: secret, encodings) { adjust(form, by: 1) }
    }

    mutating func remove(_ secret: [UInt8], encodings: Encodings) {
        for form in SecretIndex.forms(of: secret, encodings) { adjust(form, by: -1) }
    }

    /// The secret and the forms it takes on the wire, each computed on bytes.
    private static func forms(of secret: [UInt8], _ encodings: Encodings) -> [[UInt8]] {
        var all = [secret]
        func add(_ form: [UInt8]) { if !all.contains(form) { all.append(form) } }
        if encodings.contains(.percent) { add(URLEncoding.encode(secret)) }
        if encodings.contains(.jsonEscaped), secret.contains(UInt8(ascii: "/")) {
            var escaped: [UInt8] = []
            escaped.reserveCapacity(secret.count + 8)
            for byte in secret {
                if byte == UInt8(ascii: "/") { escaped.append(UInt8(ascii: "\\")) }
                escaped.append(byte)
            }
            add(escaped)
        }
        if encodings.contains(.base64) { add(Array(Base64.encode(secret).utf8)) }
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
        // The form appeared or disappeared: update the anchors.
        formCount += delta > 0 ? 1 : -1
        if form.count < 8 {
            let word = SecretIndex.word(form, 0)
            short[form.count, default: [:]][word, default: 0] += delta
            if short[form.count]?[word] == 0 { short[form.count]?[word] = nil }
            if short[form.count]?.isEmpty == true { short[form.count] = nil }
        } else if strided && form.count >= SecretIndex.stride + 7 {
            for offset in 0..<SecretIndex.stride { anchor(strided: true, form, offset, delta) }
        } else {
            anchor(strided: false, form, 0, delta)
        }
    }

    private mutating func anchor(strided: Bool, _ form: [UInt8], _ offset: Int, _ delta: Int) {
        let word = SecretIndex.word(form, offset)
        let placement = Placement(offset: offset, length: form.count)
        func update(_ table: inout [UInt64: [Placement: Int]]) {
            table[word, default: [:]][placement, default: 0] += delta
            if table[word]?[placement] == 0 { table[word]?[placement] = nil }
            if table[word]?.isEmpty == true { table[word] = nil }
        }
        if strided { update(&stridedAnchors) } else { update(&denseAnchors) }
        let slot = SecretIndex.slot(word)
        let before = slots[slot]
        slots[slot] = delta > 0 ? before &+ 1 : before &- 1
        if (before == 0) != (slots[slot] == 0) { filter[slot >> 6] ^= 1 << UInt64(slot & 63) }
    }

    /// (start, length) of every held form found in `text` (overlaps included: the caller resolves them).
    func matches(in text: UnsafeRawBufferPointer) -> [(Int, Int)] {
        let n = text.count
        guard let base = text.baseAddress, formCount > 0 else { return [] }
        var found: [(Int, Int)] = []
        var prefix: [UInt64] = []  // rolling-hash prefixes, built at the first candidate
        let lastWord = n - 8
        filter.withUnsafeBufferPointer { filter in
            func probe(_ table: [UInt64: [Placement: Int]], at i: Int) {
                let word = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                let slot = SecretIndex.slot(word)
                guard filter[slot >> 6] & (1 << UInt64(slot & 63)) != 0, let placements = table[word] else { return }
                for placement in placements.keys {
                    let start = i - placement.offset
                    if start >= 0, start + placement.length <= n, verify(text, start, placement.length, &prefix) {
                        found.append((start, placement.length))
                    }
                }
            }
            if !stridedAnchors.isEmpty, lastWord >= 0 {
                for i in Swift.stride(from: 0, through: lastWord, by: SecretIndex.stride) { probe(stridedAnchors, at: i) }
            }
            if !denseAnchors.isEmpty, lastWord >= 0 {
                for i in 0...lastWord { probe(denseAnchors, at: i) }
            }
        }
        if !short.isEmpty {
            for i in 0..<n {
                let word = SecretIndex.word(text, i)
                for (length, words) in short where i + length <= n {
                    if words[word & SecretIndex.mask(length)] != nil, verify(text, i, length, &prefix) { found.append((i, length)) }
                }
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
    private static func word(_ bytes: [UInt8], _ offset: Int) -> UInt64 {
        var word: UInt64 = 0
        for (shift, index) in (offset..<min(offset + 8, bytes.count)).enumerated() { word |= UInt64(bytes[index]) << UInt64(shift * 8) }
        return word
    }

    private static func word(_ text: UnsafeRawBufferPointer, _ offset: Int) -> UInt64 {
        var word: UInt64 = 0
        for (shift, index) in (offset..<min(offset + 8, text.count)).enumerated() { word |= UInt64(text[index]) << UInt64(shift * 8) }
        return word
    }

    private static func mask(_ length: Int) -> UInt64 { length >= 8 ? ~0 : (1 << UInt64(length * 8)) - 1 }

    private static func slot(_ word: UInt64) -> Int { Int((word &* 0x9E37_79B9_7F4A_7C15) >> 48) }
}
