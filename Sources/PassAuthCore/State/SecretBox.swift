import COpenSSL

/// Secrets at rest (config `storeEncryptionKey`): the client secret and the access token are stored as
/// `{"alg": "A256GCM", "iv": <base64 96-bit random nonce>, "data": <base64 ciphertext + 16-byte tag>}`,
/// AES-256-GCM under the configured key, a fresh nonce per write. The additional authenticated data is
/// the store key and the field name, so a sealed value copied under another key or field (another
/// origin's registration, say) does not open. The key itself is never stored.
package struct SecretBox: Sendable {
    static let algorithm = "A256GCM"
    private let key: [UInt8]
    /// The configured text, for the redactor (never stored).
    let encodedKey: String

    /// `encodedKey`: base64 of exactly 32 bytes.
    package init(base64Key encodedKey: String) throws(PassAuthError) {
        guard let key = SecretBox.decodeBase64(encodedKey), key.count == 32 else {
            throw .invalid("config key 'storeEncryptionKey' must be the base64 encoding of exactly 32 bytes (e.g. the output of `openssl rand -base64 32`)",
                           key: "storeEncryptionKey")
        }
        self.key = key
        self.encodedKey = encodedKey
    }

    static func isSealed(_ value: JSON) -> Bool { value["alg"] != nil }

    func seal(_ plaintext: String, context: String) throws(PassAuthError) -> JSON {
        var iv = [UInt8](repeating: 0, count: 12)
        guard passauth_random_bytes(&iv, 12) == 1 else { throw PassAuthError(.internal, "no random bytes for an encryption nonce") }
        let input = Array(plaintext.utf8)
        let aad = Array(context.utf8)
        var output = [UInt8](repeating: 0, count: input.count)
        var tag = [UInt8](repeating: 0, count: 16)
        guard passauth_aes256gcm_seal(key, iv, aad, Int32(aad.count), input, Int32(input.count), &output, &tag) == 1 else {
            throw PassAuthError(.internal, "AES-256-GCM encryption failed")
        }
        return ["alg": .string(SecretBox.algorithm), "iv": .string(Base64.encode(iv)), "data": .string(Base64.encode(output + tag))]
    }

    enum Opened: Equatable {
        case plaintext(String)
        /// The tag does not verify: another key, or altered data.
        case wrongKey
        /// Not a sealed value of this format.
        case malformed
    }

    func open(_ sealed: JSON, context: String) -> Opened {
        guard sealed["alg"]?.stringValue == SecretBox.algorithm, let ivText = sealed["iv"]?.stringValue,
              let dataText = sealed["data"]?.stringValue, let iv = SecretBox.decodeBase64(ivText), iv.count == 12,
              let data = SecretBox.decodeBase64(dataText), data.count >= 16 else { return .malformed }
        let ciphertext = Array(data.dropLast(16))
        let tag = Array(data.suffix(16))
        let aad = Array(context.utf8)
        var output = [UInt8](repeating: 0, count: ciphertext.count)
        guard passauth_aes256gcm_open(key, iv, aad, Int32(aad.count), ciphertext, Int32(ciphertext.count), tag, &output) == 1 else {
            return .wrongKey
        }
        return String(validating: output, as: UTF8.self).map { .plaintext($0) } ?? .malformed
    }

    /// Standard base64 (RFC 4648 §4); the padding may be left out. nil for anything else.
    static func decodeBase64(_ text: String) -> [UInt8]? {
        var values: [UInt8] = []
        values.reserveCapacity(text.utf8.count)
        var padding = 0
        for byte in text.utf8 {
            let value: UInt8
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): value = byte - UInt8(ascii: "A")
            case UInt8(ascii: "a")...UInt8(ascii: "z"): value = byte - UInt8(ascii: "a") + 26
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = byte - UInt8(ascii: "0") + 52
            case UInt8(ascii: "+"): value = 62
            case UInt8(ascii: "/"): value = 63
            case UInt8(ascii: "="): padding += 1; continue
            default: return nil
            }
            guard padding == 0 else { return nil }
            values.append(value)
        }
        guard padding <= 2, values.count % 4 != 1, padding == 0 || (values.count + padding) % 4 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(values.count * 3 / 4)
        var index = 0
        while index < values.count {
            let chunk = values[index..<min(index + 4, values.count)]
            var n: UInt32 = 0
            for (offset, value) in chunk.enumerated() { n |= UInt32(value) << (18 - 6 * offset) }
            let bytes = [UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF)]
            out += bytes.prefix(chunk.count - 1)
            index += 4
        }
        return out
    }
}
