/// The service is not uniform about time: the sessions samples send `notBefore`/`notAfter` as strings
/// of milliseconds, other endpoints as numbers. Results handed to callers always use numbers.
private let timestampKeys: Set<String> = ["notBefore", "notAfter", "issuedAt", "expiresAt", "createdAt"]

func normalizingTimestamps(_ json: JSON) -> JSON {
    switch json {
    case .object(let members):
        return .object(members.map { key, value in
            if timestampKeys.contains(key), case .string(let text) = value, let number = Int64(text) {
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
