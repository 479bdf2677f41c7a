/// The service's host as connection errors name it.
enum Endpoint {
    /// ("https", "sp.auth.adobe.com") for "https://sp.auth.adobe.com:443/path" (host lower-cased,
    /// without port or IPv6 brackets).
    static func parts(of url: String) -> (scheme: String, host: String) {
        let authority = authorityOf(url)
        var host = authority
        if host.hasPrefix("["), let close = host.firstIndex(of: "]") {
            host = String(host[host.index(after: host.startIndex)..<close])
        } else if let colon = host.lastIndex(of: ":") {
            host = String(host[..<colon])
        }
        let scheme = url.prefix(while: { $0 != ":" }).lowercased()
        return (scheme, host.lowercased())
    }

    /// "host[:port]" of a URL.
    static func authorityOf(_ url: String) -> String {
        var rest = Substring(url)
        if let scheme = rest.firstRange(of: "://") { rest = rest[scheme.upperBound...] }
        rest = rest.prefix(while: { $0 != "/" && $0 != "?" && $0 != "#" })
        if let at = rest.lastIndex(of: "@") { rest = rest[rest.index(after: at)...] }  // no credentials in messages
        return String(rest)
    }

    /// "host 127.0.0.1:8642", or "host 127.0.0.1:8642; proxy proxy:3128 from --proxy".
    static func describe(_ baseURL: String) -> String {
        var text = "host " + authorityOf(baseURL)
        if let proxy = Settings.proxy(for: baseURL) { text += "; proxy \(authorityOf(proxy.url)) from \(proxy.source)" }
        return text
    }
}
