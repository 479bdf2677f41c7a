/// The rules of the X-Device-Info appendix page (rest-api-v2-appendix-headers-x-device-info): the
/// fields it marks required, the fields whose values are restricted to a list, and the types. A
/// device's "info" that breaks them is reported: a warning by default (the service falls back to
/// values it extracts itself, often a wrong platform), an error under config "strictDeviceInfo".
enum DeviceInfo {
    static let required = ["model", "version", "osName", "osVersion", "connectionType"]

    static let restricted: [String: Set<String>] = [
        "primaryHardwareType": ["Camera", "DataCollectionTerminal", "Desktop", "EmbeddedNetworkModule", "eReader", "GamesConsole",
                                "GeolocationTracker", "Glasses", "MediaPlayer", "MobilePhone", "PaymentTerminal", "PluginModem",
                                "SetTopBox", "TV", "Tablet", "WirelessHotspot", "Wristwatch", "Unknown"],
        "osName": ["Android", "Chrome OS", "Linux", "Mac OS", "OS X", "OpenBSD", "Roku OS", "Windows", "iOS", "tvOS", "webOS"],
        "osFamily": ["Android", "BSD", "Linux", "PlayStation OS", "Roku OS", "Symbian", "Tizen", "Windows", "iOS", "tvOS", "macOS",
                     "webOS"],
        "osVendor": ["Amazon", "Apple", "Google", "LG", "Microsoft", "Mozilla", "Nintendo", "Nokia", "Roku", "Samsung", "Sony",
                     "Tizen Project"],
        "browserName": ["Android Browser", "Chrome", "Edge", "Firefox", "Internet Explorer", "Opera", "Safari", "SeaMonkey",
                        "Symbian Browser"],
        "browserVendor": ["Amazon", "Apple", "Google", "Microsoft", "Motorola", "Mozilla", "Netscape", "Nintendo", "Nokia", "Samsung",
                          "Sony Ericsson"],
    ]

    static let numeric: Set<String> = ["displayWidth", "displayHeight", "displayPpi", "diagonalScreenSize", "connectionPort"]
    static let boolean: Set<String> = ["connectionSecure"]
    static let text: Set<String> = ["model", "version", "manufacturer", "vendor", "osVersion", "browserVersion", "userAgent",
                                    "connectionIp", "connectionType", "applicationId"]

    /// What breaks the page's rules in `info`, one message per field (empty when nothing does). Fields
    /// the page does not name are left alone: the service may know more than the page.
    static func problems(_ info: JSON) -> [(field: String, message: String)] {
        guard case .object(let members) = info else { return [("info", "X-Device-Info must be an object")] }
        var found: [(String, String)] = []
        for field in required where info[field] == nil {
            found.append((field, "X-Device-Info field '\(field)' is required by the X-Device-Info page"))
        }
        for (key, value) in members {
            if let allowed = restricted[key] {
                guard let text = value.stringValue, allowed.contains(text) else {
                    found.append((key, "X-Device-Info field '\(key)' must be one of \(allowed.sorted().joined(separator: ", "))"))
                    continue
                }
            } else if numeric.contains(key) {
                let ok: Bool
                switch value {
                case .int, .double: ok = true
                case .string(let digits): ok = Double(digits) != nil
                default: ok = false
                }
                if !ok { found.append((key, "X-Device-Info field '\(key)' must be a number")) }
            } else if boolean.contains(key) {
                if value.boolValue == nil && value.stringValue != "true" && value.stringValue != "false" {
                    found.append((key, "X-Device-Info field '\(key)' must be true or false"))
                }
            } else if text.contains(key), value.stringValue == nil {
                found.append((key, "X-Device-Info field '\(key)' must be a string"))
            }
        }
        return found
    }

    /// The fields the configuration answer depends on (the FAQ: configuration per platform type), so
    /// devices that differ only in ids, addresses or screens share one cached configuration.
    static let platformFields = ["primaryHardwareType", "osName", "osFamily", "osVendor", "model", "applicationId"]

    static func platformKey(_ info: JSON?) -> String {
        guard let info else { return "" }
        return platformFields.map { info[$0]?.stringValue ?? "" }.joined(separator: "\u{1F}")
    }
}
