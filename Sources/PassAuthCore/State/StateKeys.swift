/// The keys of a client's state (Include/passauth.h, `passauth_store`):
///
///     <prefix>{<origin>|<serviceProvider>}:registration            client credentials + access token
///     <prefix>{<origin>|<serviceProvider>|<device>}:profiles        the device's stored profiles
///     <prefix>{<origin>|<serviceProvider>|<device>}:mvpd            the device's MVPD choice
///     <prefix>{<origin>|<serviceProvider>}:lock                     the registration lock (a lock name)
///
/// and, with a Redis store only (Redis/Fleet.swift):
///
///     <prefix>{<origin>|<serviceProvider>}:events                   pub/sub channel: permits to drop
///     <prefix>{<origin>|<serviceProvider>|@<device key>}:pacing     the fleet's pacing bucket of a device
///     <prefix>{<origin>|<serviceProvider>|@<device key>}:throttled  the fleet's 429 wait of a device
///
/// The origin is the normalised base URL, so credentials obtained from one service are never found,
/// let alone sent, under another. The part in braces is a Redis Cluster hash tag: a device's keys and
/// its registration may live on different nodes, each key stands alone. Keys are printable ASCII.
package struct StateKeys: Sendable, Equatable {
    package static let defaultPrefix = "passauth:"
    /// The longest key a store must accept (the contract's limit).
    package static let maximumLength = 1024

    package let prefix: String
    package let origin: String
    package let serviceProvider: String
    private let scope: String

    package init(prefix: String = StateKeys.defaultPrefix, baseURL: String, serviceProvider: String) {
        self.prefix = prefix
        origin = StateKeys.origin(of: baseURL)
        self.serviceProvider = serviceProvider
        scope = StateKeys.escaped(origin) + "|" + StateKeys.escaped(serviceProvider)
    }

    package var registration: String { prefix + "{" + scope + "}:registration" }
    package var registrationLock: String { prefix + "{" + scope + "}:lock" }
    /// The fleet's channel of cache invalidations (Redis store: FleetEvents).
    package var events: String { prefix + "{" + scope + "}:events" }

    /// The fleet's pacing bucket and 429 wait of one device key (its IP, else its id; Redis store:
    /// FleetTurns). Both under one hash tag: one script reads them together.
    package func turn(_ deviceKey: String) -> (pacing: String, throttled: String) {
        let tag = prefix + "{" + scope + "|@" + URLEncoding.component(deviceKey) + "}:"
        return (tag + "pacing", tag + "throttled")
    }

    /// `<prefix>{<origin>|<serviceProvider>}:<name>`: a key (or channel) of this client's scope for a
    /// fleet feature of its own (the fleet poller), in the registration's hash tag.
    package func scoped(_ name: String) -> String { prefix + "{" + scope + "}:" + name }

    package func profiles(device id: String) throws(PassAuthError) -> String { try deviceKey(id, "profiles") }
    package func mvpd(device id: String) throws(PassAuthError) -> String { try deviceKey(id, "mvpd") }

    private func deviceKey(_ id: String, _ kind: String) throws(PassAuthError) -> String {
        let key = prefix + "{" + scope + "|" + URLEncoding.component(id) + "}:" + kind
        guard key.utf8.count <= StateKeys.maximumLength else {
            throw .invalid("device.id is too long to key the store: \(key.utf8.count) bytes once percent-encoded into the key, at most \(StateKeys.maximumLength)", key: "device.id")
        }
        return key
    }

    /// The origin of a base URL as it appears in keys: scheme and host lower-cased, the scheme's default
    /// port dropped, the path kept as it is, no trailing slash. `https://SP.Auth.Adobe.com:443/` and
    /// `https://sp.auth.adobe.com` are one origin; `http://127.0.0.1:8642` and
    /// `http://localhost:8642` are two.
    package static func origin(of baseURL: String) -> String {
        var text = Substring(baseURL)
        while text.hasSuffix("/") { text = text.dropLast() }
        guard let colon = text.firstIndex(of: ":"), text[colon...].hasPrefix("://") else { return String(text) }
        let scheme = text[..<colon].lowercased()
        let rest = text[text.index(colon, offsetBy: 3)...]
        let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
        var authority = rest[..<authorityEnd].lowercased()
        let path = rest[authorityEnd...]
        let defaultPort = scheme == "https" ? ":443" : scheme == "http" ? ":80" : nil
        // The port follows the last ':' outside an IPv6 literal's brackets.
        if let defaultPort, authority.hasSuffix(defaultPort),
           !authority.hasPrefix("[") || authority.dropLast(defaultPort.count).hasSuffix("]") {
            authority.removeLast(defaultPort.count)
        }
        return scheme + "://" + authority + path
    }

    /// Keys are printable ASCII and the braces and bar delimit their parts: anything else in an origin
    /// or a service provider id is percent-encoded (`REF30` and usual URLs are unchanged).
    static func escaped(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            if byte > 0x20 && byte < 0x7F && byte != UInt8(ascii: "{") && byte != UInt8(ascii: "}") && byte != UInt8(ascii: "|") {
                out.unicodeScalars.append(UnicodeScalar(byte))
            } else {
                out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return out
    }
}
