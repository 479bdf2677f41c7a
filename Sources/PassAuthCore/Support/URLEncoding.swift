/// Percent-encoding for path segments, query strings and x-www-form-urlencoded bodies. Only RFC 3986
/// unreserved characters pass through, so `../`, `?` and `#` in a caller's value can never change
/// the shape of a URL.
enum URLEncoding {
    private static let hex = Array("0123456789ABCDEF".utf8)

    static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    /// The percent-encoded bytes of `bytes`.
    static func encode<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.underestimatedCount + 16)
        for byte in bytes {
            if isUnreserved(byte) {
                out.append(byte)
            } else {
                out.append(UInt8(ascii: "%"))
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0x0F)])
            }
        }
        return out
    }

    static func component(_ value: String) -> String {
        if value.utf8.allSatisfy(isUnreserved) { return value }
        return String(decoding: encode(value.utf8), as: UTF8.self)
    }

    /// A path segment: additionally refuses the dot segments that URL normalisation would collapse.
    static func segment(_ value: String) -> String {
        switch value {
        case ".": return "%2E"
        case "..": return "%2E%2E"
        default: return component(value)
        }
    }

    static func form(_ pairs: [(String, String)]) -> String {
        pairs.map { component($0.0) + "=" + component($0.1) }.joined(separator: "&")
    }
}
