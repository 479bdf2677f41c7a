/// The service is not uniform about time: the sessions samples send `notBefore`/`notAfter` as strings
/// of milliseconds, the profiles and decisions samples as numbers. Results handed to callers always
/// carry numbers of milliseconds.
let timestampKeys: Set<String> = ["notBefore", "notAfter", "issuedAt", "expiresAt", "createdAt"]

/// Walks the whole document and turns every timestamp member (`notBefore`, `notAfter`, `issuedAt`,
/// `expiresAt`, `createdAt`) that is a string of ASCII digits into an integer. Anything else (other
/// keys, numbers, non-digit strings, values too large for 64 bits) is left as it is.
func normalizingTimestamps(_ json: JSON) -> JSON {
    switch json {
    case .object(let members):
        return .object(members.map { key, value in
            if timestampKeys.contains(key), case .string(let text) = value, let number = millisecondsValue(text) {
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

private func millisecondsValue(_ text: String) -> Int64? {
    let trimmed = text.trimmingCharacters(in: " ")
    guard !trimmed.isEmpty, trimmed.utf8.count <= 19,
          trimmed.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return nil }
    return Int64(trimmed)
}
