import Glibc
import PassAuthCore

/// The client configuration, merged from three layers: the config file, then PASSAUTH_* environment
/// variables, then flags (each layer overrides the previous one key by key).
enum Settings {
    /// (flag, environment variable, config key)
    static let layered: [(flag: String, env: String, key: String)] = [
        ("base-url", "PASSAUTH_BASE_URL", "baseUrl"),
        ("environment", "PASSAUTH_ENVIRONMENT", "environment"),
        ("service-provider", "PASSAUTH_SERVICE_PROVIDER", "serviceProvider"),
        ("software-statement", "PASSAUTH_SOFTWARE_STATEMENT", "softwareStatement"),
        ("store", "PASSAUTH_STORE", "store"),
        ("ca-file", "PASSAUTH_CA_FILE", "caFile"),
        ("log-level", "PASSAUTH_LOG_LEVEL", "logLevel"),
        ("device-id", "PASSAUTH_DEVICE_ID", "device.id"),
        ("proxy", "PASSAUTH_PROXY", "proxy"),
    ]

    /// Where the explicit proxy came from ("--proxy", "PASSAUTH_PROXY", "the config file"), if any.
    nonisolated(unsafe) static var proxySource: String?
    /// The explicit proxy URL of the merged configuration, if any.
    nonisolated(unsafe) static var configuredProxy: String?

    static func environment(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        let text = String(cString: value)
        return text.isEmpty ? nil : text
    }

    static func configuration(_ arguments: ParsedArguments) throws(CLIFailure) -> ClientSettings {
        var config = try fileLayer(arguments)
        if config["proxy"] != nil { proxySource = "the config file" }
        for layer in 0..<2 {
            var values: [String: String] = [:]
            for entry in layered {
                if let value = layer == 0 ? environment(entry.env) : arguments.value(entry.flag) {
                    values[entry.key] = value
                    if entry.key == "proxy" { proxySource = layer == 0 ? entry.env : "--proxy" }
                }
            }
            // An environment named in a higher layer beats a base URL from a lower one.
            if values["environment"] != nil && values["baseUrl"] == nil { config = config.removing("baseUrl") }
            for (key, value) in values.sorted(by: { $0.key < $1.key }) {
                if key == "device.id" {
                    config = config.setting("device", (config["device"] ?? [:]).setting("id", .string(value)))
                } else {
                    config = config.setting(key, .string(value))
                }
            }
        }
        if config["logLevel"] == nil { config = config.setting("logLevel", "error") }
        if config["device"]?["id"] == nil {
            config = config.setting("device", (config["device"] ?? [:]).setting("id", .string(defaultDeviceId())))
        }
        configuredProxy = config["proxy"]?.stringValue
        do {
            return try ClientSettings(json: config)
        } catch {
            throw CLIFailure(error, hint: hint(forKey: error.key))
        }
    }

    /// The proxy libcurl uses for `baseURL`: the configured one, else the environment's as libcurl
    /// reads it (https_proxy / HTTPS_PROXY, http_proxy for plain http, then all_proxy / ALL_PROXY);
    /// none when no_proxy / NO_PROXY names the host (libcurl applies it to a configured proxy too).
    /// (url, where it comes from).
    static func proxy(for baseURL: String) -> (url: String, source: String)? {
        let (scheme, host) = Endpoint.parts(of: baseURL)
        let bypass = environment("no_proxy") ?? environment("NO_PROXY") ?? ""
        for entry in bypass.split(separator: ",") {
            var pattern = String(entry.filter { $0 != " " && $0 != "\t" }).lowercased()
            if pattern == "*" { return nil }
            if pattern.hasPrefix(".") { pattern.removeFirst() }
            if !pattern.isEmpty && (host == pattern || host.hasSuffix("." + pattern)) { return nil }
        }
        if let configured = configuredProxy, !configured.isEmpty { return (configured, proxySource ?? "the configuration") }
        for name in (scheme == "https" ? ["https_proxy", "HTTPS_PROXY"] : ["http_proxy"]) + ["all_proxy", "ALL_PROXY"] {
            if let url = environment(name) { return (url, name) }
        }
        return nil
    }

    private static func hint(forKey key: String?) -> String? {
        guard let key, let entry = layered.first(where: { $0.key == key }) else { return nil }
        return "set --\(entry.flag), \(entry.env), or \"\(key)\" in the config file"
    }

    /// The config file: --config, PASSAUTH_CONFIG, else ~/.config/passauth/config.json when it exists.
    private static func fileLayer(_ arguments: ParsedArguments) throws(CLIFailure) -> JSON {
        var path = arguments.value("config") ?? environment("PASSAUTH_CONFIG")
        if path == nil {
            let base = environment("XDG_CONFIG_HOME") ?? environment("HOME").map { $0 + "/.config" }
            if let base, access(base + "/passauth/config.json", R_OK) == 0 { path = base + "/passauth/config.json" }
        }
        guard let path else { return [:] }
        let bytes: [UInt8]
        do { bytes = try readFile(path) } catch { throw CLIFailure(usage: "cannot read config file '\(path)': \(error.message)", key: "config") }
        let document: JSON
        do { document = try JSON.parse(bytes) } catch {
            throw CLIFailure(usage: "config file '\(path)' is not valid JSON: \(error.message) (line \(error.line))", key: "config")
        }
        guard document.objectValue != nil else { throw CLIFailure(usage: "config file '\(path)' must hold a JSON object", key: "config") }
        return document
    }

    struct FileError: Error { let message: String }

    static func readFile(_ path: String) throws(FileError) -> [UInt8] {
        guard let file = fopen(path, "rb") else { throw FileError(message: String(cString: strerror(errno))) }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = fread(&chunk, 1, chunk.count, file)
            if count > 0 { bytes.append(contentsOf: chunk[0..<count]) }
            if count < chunk.count { break }
            if bytes.count > 16 << 20 { throw FileError(message: "file too large") }
        }
        if ferror(file) != 0 { throw FileError(message: "read error") }
        return bytes
    }

    /// A stable id for this machine when none is configured: /etc/machine-id, else the host name.
    static func defaultDeviceId() -> String {
        if let bytes = try? readFile("/etc/machine-id") {
            let id = String(decoding: bytes, as: UTF8.self).filter { $0.isHexDigit }
            if !id.isEmpty { return "passauth-cli-" + id }
        }
        var name = [CChar](repeating: 0, count: 256)
        gethostname(&name, name.count - 1)
        let host = String(decoding: name.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return "passauth-cli-" + (host.isEmpty ? "localhost" : host)
    }
}
