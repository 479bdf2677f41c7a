/// Percent-encoding for path segments, query strings and x-www-form-urlencoded bodies. Only RFC 3986
/// unreserved characters pass through, so `../`, `?` and `#` in a caller's value can never change
/// the shape of a URL.
enum URLEncoding {
    static func component(_ value: String) -> String {
        var out = ""
        out.reserveCapacity(value.utf8.count)
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."),
                 UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(UnicodeScalar(byte))
            default:
                out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return out
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
