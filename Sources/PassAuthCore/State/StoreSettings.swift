/// The config keys of the state layer: "store", "storeKeyPrefix", "storeEncryptionKey", "reregister"
/// (Include/passauth.h, passauth_client_new).
package struct StoreSettings: Sendable {
    package enum Location: Sendable, Equatable {
        /// A directory holding passauth.sqlite3.
        case directory(String)
        /// A Redis server shared by a fleet ("redis://" or "rediss://").
        case redis(RedisLocation)
    }

    package var location: Location
    /// Prefix of every key (default "passauth:").
    package var keyPrefix = StateKeys.defaultPrefix
    /// Seals the client secret and access token at rest when set.
    package var encryption: SecretBox?
    package var reregister: ReregisterPolicy = .auto

    /// Reads the keys from the config's members (types already known to be JSON values).
    init(_ seen: [String: JSON], environment env: (String) -> String?) throws(PassAuthError) {
        func string(_ key: String) throws(PassAuthError) -> String? {
            guard let value = seen[key] else { return nil }
            guard let text = value.stringValue else { throw .invalid("config key '\(key)' must be a string, got \(value.typeName)", key: key) }
            return text
        }
        if let value = try string("store") {
            guard !value.isEmpty else { throw .invalid("config key 'store' must be a directory path or a redis:// URL", key: "store") }
            let lower = value.lowercased()
            if lower.hasPrefix("redis://") || lower.hasPrefix("rediss://") {
                location = .redis(try RedisLocation(value))
            } else if lower.containsBytes("://") {
                throw .invalid("config key 'store' must be a directory path, redis://host:port/db or rediss://host:port/db, got a URL of another scheme", key: "store")
            } else {
                location = .directory(value)
            }
        } else if let state = env("XDG_STATE_HOME"), state.hasPrefix("/") {
            location = .directory(state + "/passauth")
        } else if let home = env("HOME"), !home.isEmpty {
            location = .directory(home + "/.local/state/passauth")
        } else {
            throw .invalid("config key 'store' is required when neither XDG_STATE_HOME nor HOME is set", key: "store")
        }
        if let prefix = try string("storeKeyPrefix") {
            guard prefix.utf8.count <= 128, prefix.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "{") && $0 != UInt8(ascii: "}") }) else {
                throw .invalid("config key 'storeKeyPrefix' must be at most 128 printable ASCII characters without spaces or braces", key: "storeKeyPrefix")
            }
            keyPrefix = prefix
        }
        if let key = try string("storeEncryptionKey") { encryption = try SecretBox(base64Key: key) }
        if let policy = try string("reregister") {
            guard let parsed = ReregisterPolicy(rawValue: policy) else {
                throw .invalid("config key 'reregister' must be \"auto\" or \"never\", got '\(policy)'", key: "reregister")
            }
            reregister = parsed
        }
    }
}

/// Whether a new DCR registration may replace a client (it logs every user of the old client out).
package enum ReregisterPolicy: String, Sendable {
    case auto, never
}

/// `redis://[[user]:password@]host[:port][/db]` (rediss: TLS), validated.
package struct RedisLocation: Sendable, Equatable {
    package var tls: Bool
    package var host: String
    package var port: Int
    package var database: Int
    package var username: String?
    package var password: String?

    init(_ url: String) throws(PassAuthError) {
        func invalid(_ why: String) -> PassAuthError {
            .invalid("config key 'store': \(why) (expected redis://[[user]:password@]host[:port][/db] or rediss://...)", key: "store")
        }
        tls = url.lowercased().hasPrefix("rediss://")
        var rest = Substring(url.dropFirst(tls ? 9 : 8))
        guard !rest.contains(where: { $0 == "?" || $0 == "#" || $0.isWhitespace }) else { throw invalid("query, fragment and spaces are not supported") }
        var path = Substring("")
        if let slash = rest.firstIndex(of: "/") {
            path = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
        }
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = credentials.firstIndex(of: ":") {
                username = credentials[..<colon].isEmpty ? nil : String(credentials[..<colon])
                password = String(credentials[credentials.index(after: colon)...])
            } else {
                password = String(credentials)
            }
        }
        var hostPart = rest
        port = 6379
        if hostPart.hasPrefix("[") {
            guard let close = hostPart.firstIndex(of: "]") else { throw invalid("unclosed IPv6 address") }
            let after = hostPart[hostPart.index(after: close)...]
            hostPart = hostPart[hostPart.index(after: hostPart.startIndex)..<close]
            if !after.isEmpty {
                guard after.hasPrefix(":"), let number = Int(after.dropFirst()), (1...65535).contains(number) else { throw invalid("bad port") }
                port = number
            }
        } else if let colon = hostPart.lastIndex(of: ":") {
            guard let number = Int(hostPart[hostPart.index(after: colon)...]), (1...65535).contains(number) else { throw invalid("bad port") }
            port = number
            hostPart = hostPart[..<colon]
        }
        guard !hostPart.isEmpty else { throw invalid("no host") }
        host = String(hostPart)
        if path.isEmpty {
            database = 0
        } else {
            guard let number = Int(path), number >= 0, number <= 1_000_000 else { throw invalid("the database must be a number") }
            database = number
        }
    }
}

extension ClientSettings {
    /// The store directory (nil for a Redis store).
    package var storeDirectory: String? {
        if case .directory(let path) = storage.location { return path }
        return nil
    }

    package var reregister: ReregisterPolicy { storage.reregister }
}
