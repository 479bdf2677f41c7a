import Glibc

/// A validated client configuration (`config_json` of passauth_client_new). Every key is checked for type;
/// unknown keys are an error naming the key, so a typo never silently falls back to a default.
package struct ClientSettings: Sendable {
    package var baseURL: String
    package var environment: Environment?
    package var serviceProvider: String
    package var softwareStatement: String
    package var redirectUri: String?
    /// "store", "storeKeyPrefix", "storeEncryptionKey", "reregister" (StoreSettings).
    package var storage: StoreSettings
    package var device: Device
    package var timeoutMs: Int = 30_000
    package var connectTimeoutMs: Int = 10_000
    package var caFile: String?
    package var allowInsecureHttp = false
    package var pacing = true
    /// The pacing token bucket: refill rate (requests/s per device) and size.
    package var pacingRatePerSecond = 1.0
    package var pacingBurst = 10
    package var logLevel: LogLevel = .warn
    /// Responses larger than this are refused (PASSAUTH_E_PROTOCOL) instead of being buffered.
    package var maxResponseBytes = 4 << 20
    /// How long a configuration answer is reused (checklist: 3–5 minutes); 0 turns the cache off.
    package var configurationCacheMs = 240_000
    /// Default and minimum polling intervals (the checklist: every 3–5 s, never faster).
    package var pollIntervalMs = 4_000

    /// Resources per authorization request (Adobe: "usually up to 1"; more answer 403
    /// too_many_resources) and per preauthorization request; longer lists are split and merged.
    package var authorizeBatchSize = 1
    package var preauthorizeBatchSize = 5
    /// X-Device-Info built from this host for a device without "info", on the calls that list it.
    package var defaultDeviceInfo = true
    /// A device "info" breaking the X-Device-Info page's rules fails the call instead of a warning.
    package var strictDeviceInfo = false
    /// HTTP(S) proxy for every request; nil = libcurl's https_proxy / no_proxy environment.
    package var proxy: String?
    /// A successful authorization refreshes the device's stored profile for the MVPD in the
    /// background, at most once per this period per device and MVPD; 0 = never.
    package var profileRefreshMs = 600_000

    static let keys = ["environment", "baseUrl", "serviceProvider", "softwareStatement", "redirectUri", "store",
                       "device", "timeoutMs", "connectTimeoutMs", "caFile", "allowInsecureHttp", "pacing",
                       "pacingRatePerSecond", "pacingBurst", "logLevel", "maxResponseBytes", "configurationCacheMs", "pollIntervalMs",
                       "authorizeBatchSize", "preauthorizeBatchSize", "defaultDeviceInfo", "strictDeviceInfo", "proxy",
                       "profileRefreshMs", "storeKeyPrefix", "storeEncryptionKey", "reregister"]

    package init(json: JSON, environmentVariables env: (String) -> String? = ClientSettings.processEnvironment) throws(PassAuthError) {
        guard case .object(let members) = json else {
            throw .invalid("config must be a JSON object, got \(json.typeName)", key: "config")
        }
        var seen: [String: JSON] = [:]
        for (key, value) in members {
            guard ClientSettings.keys.contains(key) else {
                throw .invalid("unknown config key '\(key)' (expected one of: \(ClientSettings.keys.joined(separator: ", ")))", key: key)
            }
            seen[key] = value
        }

        func string(_ key: String) throws(PassAuthError) -> String? {
            guard let value = seen[key] else { return nil }
            guard let text = value.stringValue else { throw .invalid("config key '\(key)' must be a string, got \(value.typeName)", key: key) }
            return text
        }
        func bool(_ key: String) throws(PassAuthError) -> Bool? {
            guard let value = seen[key] else { return nil }
            guard let flag = value.boolValue else { throw .invalid("config key '\(key)' must be a boolean, got \(value.typeName)", key: key) }
            return flag
        }
        func integer(_ key: String, in range: ClosedRange<Int>) throws(PassAuthError) -> Int? {
            guard let value = seen[key] else { return nil }
            guard case .int(let number) = value else { throw .invalid("config key '\(key)' must be an integer, got \(value.typeName)", key: key) }
            guard range.contains(Int(clamping: number)) else {
                throw .invalid("config key '\(key)' must be between \(range.lowerBound) and \(range.upperBound), got \(number)", key: key)
            }
            return Int(number)
        }

        guard let sp = try string("serviceProvider") else { throw .invalid("config key 'serviceProvider' is required", key: "serviceProvider") }
        guard !sp.isEmpty, sp != ".", sp != "..", !sp.contains(Character("/")) else {
            throw .invalid("config key 'serviceProvider' must be a non-empty identifier without '/'", key: "serviceProvider")
        }
        try HeaderValue.check(sp, key: "serviceProvider")
        serviceProvider = sp

        guard let statement = try string("softwareStatement"), !statement.isEmpty else {
            throw .invalid("config key 'softwareStatement' is required (the software statement from the Adobe Pass TVE Dashboard)", key: "softwareStatement")
        }
        try HeaderValue.check(statement, key: "softwareStatement")
        softwareStatement = statement

        if let uri = try string("redirectUri") {
            try HeaderValue.check(uri, key: "redirectUri")
            redirectUri = uri
        }

        if let name = try string("environment") {
            guard let parsed = Environment(rawValue: name) else {
                throw .invalid("config key 'environment' must be one of \(Environment.allCases.map(\.rawValue).joined(separator: ", ")), got '\(name)'", key: "environment")
            }
            environment = parsed
        }
        allowInsecureHttp = try bool("allowInsecureHttp") ?? false
        if let raw = try string("baseUrl") {
            guard let url = BaseURL(raw) else {
                throw .invalid("config key 'baseUrl' must be an http(s) URL such as https://host[:port], got '\(raw)'", key: "baseUrl")
            }
            if url.scheme == "http" && !url.isLoopback && !allowInsecureHttp {
                throw .invalid("config key 'baseUrl' uses plain http to a non-loopback host '\(url.host)'; use https or set allowInsecureHttp to true", key: "baseUrl")
            }
            baseURL = url.text
        } else {
            baseURL = (environment ?? .production).baseURL
        }

        if let value = seen["device"] {
            device = try Device(json: value, origin: "device")
        } else {
            device = Device()
        }

        timeoutMs = try integer("timeoutMs", in: 1...600_000) ?? timeoutMs
        connectTimeoutMs = min(try integer("connectTimeoutMs", in: 1...600_000) ?? connectTimeoutMs, timeoutMs)
        maxResponseBytes = try integer("maxResponseBytes", in: 1024...(256 << 20)) ?? maxResponseBytes
        pacing = try bool("pacing") ?? true
        if let value = seen["pacingRatePerSecond"] {
            let rate: Double
            switch value {
            case .int(let number): rate = Double(number)
            case .double(let number): rate = number
            default: throw .invalid("config key 'pacingRatePerSecond' must be a number, got \(value.typeName)", key: "pacingRatePerSecond")
            }
            guard rate > 0, rate <= 1000 else {
                throw .invalid("config key 'pacingRatePerSecond' must be greater than 0 and at most 1000, got \(rate)", key: "pacingRatePerSecond")
            }
            pacingRatePerSecond = rate
        }
        pacingBurst = try integer("pacingBurst", in: 1...1000) ?? pacingBurst
        configurationCacheMs = try integer("configurationCacheMs", in: 0...3_600_000) ?? configurationCacheMs
        pollIntervalMs = try integer("pollIntervalMs", in: Poller.minimumIntervalMs...60_000) ?? pollIntervalMs
        authorizeBatchSize = try integer("authorizeBatchSize", in: 1...50) ?? authorizeBatchSize
        preauthorizeBatchSize = try integer("preauthorizeBatchSize", in: 1...50) ?? preauthorizeBatchSize
        defaultDeviceInfo = try bool("defaultDeviceInfo") ?? true
        strictDeviceInfo = try bool("strictDeviceInfo") ?? false
        profileRefreshMs = try integer("profileRefreshMs", in: 0...86_400_000) ?? profileRefreshMs
        if let url = try string("proxy") {
            let lower = url.lowercased()
            guard ["http://", "https://", "socks5://", "socks5h://", "socks4://"].contains(where: { lower.hasPrefix($0) }), url.utf8.count > 8 else {
                throw .invalid("config key 'proxy' must be a proxy URL such as http://proxy:3128, got '\(url.prefix(80))'", key: "proxy")
            }
            try HeaderValue.check(url, key: "proxy")
            proxy = url
        }

        if let path = try string("caFile") {
            guard access(path, R_OK) == 0 else {
                throw .invalid("config key 'caFile': cannot read '\(path)' (\(String(cString: strerror(errno))))", key: "caFile")
            }
            caFile = path
        }

        if let level = try string("logLevel") {
            guard let parsed = LogLevel(rawValue: level) else {
                throw .invalid("config key 'logLevel' must be one of \(LogLevel.allCases.map(\.rawValue).joined(separator: ", ")), got '\(level)'", key: "logLevel")
            }
            logLevel = parsed
        }

        storage = try StoreSettings(seen, environment: env)
    }

    /// Plain http without allowInsecureHttp: only a loopback peer may receive requests.
    var requiresLoopbackPeer: Bool { baseURL.lowercased().hasPrefix("http://") && !allowInsecureHttp }

    package static func processEnvironment(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }
}
