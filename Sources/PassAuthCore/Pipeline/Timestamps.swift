import CJansson

/// The service is not uniform about time: the sessions samples send `notBefore`/`notAfter` as strings
/// of milliseconds, the profiles and decisions samples as numbers. Results handed to callers always
/// carry numbers of milliseconds; anything else under a timestamp key is a malformed answer.
let timestampKeys: Set<String> = ["notBefore", "notAfter", "issuedAt", "expiresAt", "createdAt"]

enum Timestamps {
    /// Turns every timestamp member of the answer into an integer in place. Returns whether anything
    /// changed; throws PASSAUTH_E_PROTOCOL for a timestamp that is neither a non-negative integer nor
    /// a string of digits within 64 bits.
    static func normalize(_ node: JSONNode, endpoint: Endpoint) throws(PassAuthError) -> Bool {
        var changed = false
        try walk(node, endpoint: endpoint, changed: &changed)
        return changed
    }

    private static func walk(_ node: JSONNode, endpoint: Endpoint, changed: inout Bool) throws(PassAuthError) {
        if node.isArray {
            for element in node.elements { try walk(element, endpoint: endpoint, changed: &changed) }
            return
        }
        guard node.isObject else { return }
        var replacements: [(String, Int64)] = []
        var failure: PassAuthError? = nil
        try node.forEachMember { (key, value) throws(PassAuthError) in
            if timestampKeys.contains(key) {
                switch value.raw.pointee.type {
                case JSON_INTEGER:
                    guard json_integer_value(value.raw) >= 0 else { failure = invalid(key, value, endpoint); return }
                case JSON_REAL:
                    guard let whole = value.int64, whole >= 0 else { failure = invalid(key, value, endpoint); return }
                    replacements.append((key, whole))
                case JSON_STRING:
                    guard let text = value.string, let whole = milliseconds(text) else { failure = invalid(key, value, endpoint); return }
                    replacements.append((key, whole))
                default:
                    failure = invalid(key, value, endpoint)
                }
            } else {
                try walk(value, endpoint: endpoint, changed: &changed)
            }
        }
        if let failure { throw failure }
        for (key, value) in replacements { node.set(key, .int(value)) }
        if !replacements.isEmpty { changed = true }
    }

    private static func invalid(_ key: String, _ value: JSONNode, _ endpoint: Endpoint) -> PassAuthError {
        let shown = value.string.map { "'\($0.prefix(40))'" } ?? "a \(value.typeName)"
        return ResponseShape.malformed(endpoint, "\"\(key)\" is \(shown), not a number of milliseconds")
    }

    static func milliseconds(_ text: String) -> Int64? {
        let trimmed = text.trimmingCharacters(in: " ")
        guard !trimmed.isEmpty, trimmed.utf8.count <= 19,
              trimmed.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return nil }
        return Int64(trimmed)
    }
}

/// Timestamps of a caller's document (passauth_profile_pick) as numbers where they are strings of
/// digits; anything else is left as it is.
func normalizingTimestamps(_ json: JSON) -> JSON {
    switch json {
    case .object(let members):
        return .object(members.map { key, value in
            if timestampKeys.contains(key), case .string(let text) = value, let number = Timestamps.milliseconds(text) {
                return (key, .int(number))
            }
            return (key, normalizingTimestamps(value))
        })
    case .array(let items):
        return .array(items.map(normalizingTimestamps))
    default:
        return json
    }
}
