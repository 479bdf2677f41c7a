/// The Adobe Pass Authentication environments. The checklist requires testing in the prequal and
/// staging environments before production, so all four are first-class.
public enum Environment: String, Sendable, CaseIterable {
    case production
    case staging
    case prequalProduction = "prequal-production"
    case prequalStaging = "prequal-staging"

    public var baseURL: String {
        switch self {
        case .production: return "https://sp.auth.adobe.com"
        case .staging: return "https://sp.auth-staging.adobe.com"
        case .prequalProduction: return "https://sp-preprod.auth.adobe.com"
        case .prequalStaging: return "https://sp-preprod.auth-staging.adobe.com"
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

    var isLoopback: Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.") && host.split(separator: ".").count == 4
    }
}
