import Glibc

/// The Adobe Pass Authentication environments. The checklist requires testing in the prequal and
/// staging environments before production, so all four are first-class.
package enum Environment: String, Sendable, CaseIterable {
    case production
    case staging
    case prequalProduction = "prequal-production"
    case prequalStaging = "prequal-staging"

    package var baseURL: String {
        switch self {
        case .production: return "https://sp.auth.adobe.com"
        case .staging: return "https://sp.auth-staging.adobe.com"
        // The hosts of Adobe's OpenAPI descriptions (`servers`) and its pre-qualification notes.
        case .prequalProduction: return "https://sp-prequal.auth.adobe.com"
        case .prequalStaging: return "https://sp-prequal.auth-staging.adobe.com"
        }
    }
}

/// The parts of a base URL the library needs to decide on transport security.
struct BaseURL: Sendable, Equatable {
    let text: String
    let scheme: String
    let host: String

    /// Accepts `http(s)://host[:port][/path]`; the result has no trailing slash.
    init?(_ raw: String) {
        let lower = raw.lowercased()
        let scheme: String
        if lower.hasPrefix("https://") { scheme = "https" } else if lower.hasPrefix("http://") { scheme = "http" } else { return nil }
        let rest = raw.dropFirst(scheme.count + 3)
        let authority = rest.prefix(while: { $0 != "/" && $0 != "?" && $0 != "#" })
        guard !authority.isEmpty, !authority.contains(Character("@")),
              !raw.contains(where: { $0 == "?" || $0 == "#" || $0.isWhitespace || $0.asciiValue.map { $0 < 0x20 || $0 == 0x7f } == true })
        else { return nil }
        var host = String(authority)
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return nil }
            host = String(host[host.index(after: host.startIndex)..<close])
        } else if let colon = host.lastIndex(of: ":") {
            let port = host[host.index(after: colon)...]
            guard !port.isEmpty, port.allSatisfy(\.isNumber), Int(port).map({ $0 > 0 && $0 < 65536 }) == true else { return nil }
            host = String(host[..<colon])
        }
        guard !host.isEmpty else { return nil }
        var text = raw
        while text.hasSuffix("/") { text.removeLast() }
        self.text = text
        self.scheme = scheme
        self.host = host.lowercased()
    }

    /// Only literal loopback addresses (127.0.0.0/8, ::1) and the name "localhost" count: a name such as
    /// "127.evil.example.com" resolves wherever its owner wants.
    var isLoopback: Bool {
        host == "localhost" || host == "localhost." || BaseURL.isLoopbackAddress(host)
    }

    /// Whether `text` is a literal IPv4 address in 127.0.0.0/8, or ::1 (also as ::ffff:127.x.y.z).
    static func isLoopbackAddress(_ text: String) -> Bool {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return UInt32(bigEndian: v4.s_addr) >> 24 == 127 }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, text, &v6) == 1 else { return false }
        let bytes = withUnsafeBytes(of: &v6) { Array($0) }
        if bytes[0..<15].allSatisfy({ $0 == 0 }) && bytes[15] == 1 { return true }
        return bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF && bytes[12] == 127
    }
}
