import CJansson
import Glibc

/// The service is not uniform about time: the sessions samples send `notBefore`/`notAfter` as strings
/// of milliseconds, the profiles and decisions samples as numbers. Results handed to callers always
/// carry numbers of milliseconds; anything else under a timestamp key is a malformed answer.
let timestampKeys: Set<String> = ["notBefore", "notAfter", "issuedAt", "expiresAt", "createdAt"]

enum Timestamps {
    /// Turns every timestamp member of the answer into an integer in place. Returns whether anything
    /// changed; throws PASSAUTH_E_PROTOCOL for a timestamp that is neither a non-negative integer nor
    /// a string of digits within 64 bits.
    static func normalize(_ root: RawJSON, endpoint: Endpoint) throws(PassAuthError) -> Bool {
        var changed = false
        try walk(root, endpoint: endpoint, changed: &changed)
        return changed
    }

    private static func walk(_ node: RawJSON, endpoint: Endpoint, changed: inout Bool) throws(PassAuthError) {
        switch node.pointee.type {
        case JSON_ARRAY:
            for index in 0..<json_array_size(node) {
                if let element = json_array_get(node, index) { try walk(element, endpoint: endpoint, changed: &changed) }
            }
        case JSON_OBJECT:
            var iter = json_object_iter(node)
            while let it = iter {
                defer { iter = json_object_iter_next(node, it) }
                guard let value = json_object_iter_value(it) else { continue }
                let key = json_object_iter_key(it)!
                guard isTimestampKey(key) else {
                    if value.isObject || value.isArray { try walk(value, endpoint: endpoint, changed: &changed) }
                    continue
                }
                switch value.pointee.type {
                case JSON_INTEGER where json_integer_value(value) >= 0:
                    continue
                case JSON_REAL:
                    guard let whole = value.int64, whole >= 0 else { throw invalid(key, value, endpoint) }
                    json_object_iter_set_new(node, it, json_integer(json_int_t(whole)))
                case JSON_STRING:
                    guard let text = value.string, let whole = milliseconds(text) else { throw invalid(key, value, endpoint) }
                    json_object_iter_set_new(node, it, json_integer(json_int_t(whole)))
                default:
                    throw invalid(key, value, endpoint)
                }
                changed = true
            }
        default:
            return
        }
    }

    /// notBefore, notAfter, issuedAt, expiresAt, createdAt, compared as C strings.
    private static func isTimestampKey(_ key: UnsafePointer<CChar>) -> Bool {
        switch UInt8(bitPattern: key[0]) {
        case UInt8(ascii: "n"): return strcmp(key, "notBefore") == 0 || strcmp(key, "notAfter") == 0
        case UInt8(ascii: "i"): return strcmp(key, "issuedAt") == 0
        case UInt8(ascii: "e"): return strcmp(key, "expiresAt") == 0
        case UInt8(ascii: "c"): return strcmp(key, "createdAt") == 0
        default: return false
        }
    }

    private static func invalid(_ key: UnsafePointer<CChar>, _ value: RawJSON, _ endpoint: Endpoint) -> PassAuthError {
        let shown = value.string.map { "'\($0.prefix(40))'" } ?? "a \(JSONNode.typeName(value))"
        return ResponseShape.malformed(endpoint, "\"\(String(cString: key))\" is \(shown), not a number of milliseconds")
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
