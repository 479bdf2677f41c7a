import Glibc

/// The per-device context every call carries (`device_json`): who the streaming device is, where it
/// connects from, and the SSO / TempPass identities it holds. In a server-to-server deployment each
/// call names its own device; a client-side player sets one default device in the config.
package struct Device: Sendable, Equatable {
    /// The stable raw device identifier; sent as `AP-Device-Identifier: fingerprint <base64>`.
    package var id: String? { didSet { deviceIdentifierHeader = Device.identifierHeader(id); lineCache = HeaderLineCache() } }
    /// X-Device-Info fields, sent base64-encoded as JSON.
    package var info: JSON? { didSet { encodeInfo() } }
    /// The device's package IP, forwarded as X-Forwarded-For (server-to-server).
    package var ip: String? { didSet { encodeInfo() } }
    /// The device's source port (server-to-server): X-Device-Info's connectionPort.
    package var port: Int? { didSet { encodeInfo() } }
    package var userAgent: String? { didSet { lineCache = HeaderLineCache() } }
    /// Platform SSO (Adobe-Subject-Token), Roku SSO, service token SSO. When both platform identities
    /// are set, only Adobe-Subject-Token is sent (the reference lists them as alternatives).
    package var subjectToken: String? { didSet { lineCache = HeaderLineCache() } }
    package var rokuConnectToken: String? { didSet { lineCache = HeaderLineCache() } }
    package var serviceToken: String? { didSet { lineCache = HeaderLineCache() } }
    /// Partner SSO status (AP-Partner-Framework-Status), an object serialised and base64-encoded;
    /// validated by PartnerFrameworkStatus.
    package var partnerFrameworkStatus: JSON? { didSet { partnerFrameworkStatusHeader = Device.encodedHeader(partnerFrameworkStatus); lineCache = HeaderLineCache() } }
    /// Promotional TempPass identity (AP-TempPass-Identity), an object serialised and base64-encoded;
    /// validated by TempPassIdentity.
    package var tempPassIdentity: JSON? { didSet { tempPassIdentityHeader = Device.encodedHeader(tempPassIdentity); lineCache = HeaderLineCache() } }
    /// AP-Visitor-Identifier.
    package var visitorId: String? { didSet { lineCache = HeaderLineCache() } }

    /// The encoded header values, computed once per device value (every call of a device sends them;
    /// serialising and base64-encoding them per call showed in the authorize profile).
    private(set) var deviceIdentifierHeader: String? = nil
    private(set) var deviceInfoHeader: String? = nil
    /// X-Device-Info describing this host, for a device without `info` (config "defaultDeviceInfo").
    private(set) var hostInfoHeader: String = Device.hostInfoHeader
    private(set) var partnerFrameworkStatusHeader: String? = nil
    private(set) var tempPassIdentityHeader: String? = nil

    /// The header lines of each endpoint, computed on first use: the default device sends the same
    /// lines on every call. Replaced (never shared) when a field changes.
    private var lineCache = HeaderLineCache()

    package init() {}

    /// The device header lines `endpoint` sends for this device (Endpoint.deviceHeaders).
    func headerLines(for endpoint: Endpoint, hostInfo: Bool) -> [String] {
        let slot = endpoint.rawValue * 2 + (hostInfo ? 1 : 0)
        if let lines = lineCache.lines.withLock({ $0[slot] }) { return lines }
        let lines = endpoint.deviceHeaders.lines(for: self, hostInfo: hostInfo)
        lineCache.lines.withLock { $0[slot] = lines }
        return lines
    }

    static func identifierHeader(_ id: String?) -> String? { id.map { "fingerprint " + Base64.encode($0) } }
    static func encodedHeader(_ object: JSON?) -> String? { object.map { Base64.encode($0.serialized()) } }

    static let keys = ["id", "info", "ip", "port", "userAgent", "subjectToken", "rokuConnectToken", "serviceToken",
                       "partnerFrameworkStatus", "tempPassIdentity", "visitorId"]

    /// Reads a device document. `origin` names it in error messages ("device" or "config.device").
    package init(json: JSON, origin: String = "device") throws(PassAuthError) {
        guard case .object(let members) = json else {
            throw .invalid("\(origin) must be a JSON object, got \(json.typeName)", key: origin)
        }
        for (key, value) in members {
            let path = "\(origin).\(key)"
            switch key {
            case "info", "partnerFrameworkStatus", "tempPassIdentity":
                guard case .object = value else { throw .invalid("\(path) must be an object, got \(value.typeName)", key: path) }
                switch key {
                case "info": info = value
                case "partnerFrameworkStatus": partnerFrameworkStatus = try PartnerFrameworkStatus.validated(value, key: path)
                default: tempPassIdentity = try TempPassIdentity.validated(value, key: path)
                }
            case "port":
                guard let number = value.int64Value, (1...65535).contains(number) else {
                    throw .invalid("\(path) must be an integer port 1-65535", key: path)
                }
                port = Int(number)
            case "id", "ip", "userAgent", "subjectToken", "rokuConnectToken", "serviceToken", "visitorId":
                guard let text = value.stringValue else { throw .invalid("\(path) must be a string, got \(value.typeName)", key: path) }
                try HeaderValue.check(text, key: path)
                switch key {
                case "id":
                    guard !text.isEmpty else { throw .invalid("\(path) must not be empty", key: path) }
                    id = text
                case "ip": ip = text
                case "userAgent": userAgent = text
                case "subjectToken": subjectToken = text
                case "rokuConnectToken": rokuConnectToken = text
                case "serviceToken": serviceToken = text
                default: visitorId = text
                }
            default:
                throw .invalid("unknown key '\(path)' (expected one of: \(Device.keys.joined(separator: ", ")))", key: path)
            }
        }
        deviceIdentifierHeader = Device.identifierHeader(id)
        encodeInfo()
        partnerFrameworkStatusHeader = Device.encodedHeader(partnerFrameworkStatus)
        tempPassIdentityHeader = Device.encodedHeader(tempPassIdentity)
    }

    /// What a fleet poll's record keeps of the device (FleetPolls): what its requests send (GET
    /// /profiles/code and GET /sessions/{code}: X-Forwarded-For, User-Agent, AP-Visitor-Identifier,
    /// AP-TempPass-Identity), what keys its state and pacing (id, ip), and its X-Device-Info fields and
    /// port (should the access token need fetching). Never the SSO or service tokens: those requests send
    /// none, so no secret is written to Redis.
    var fleetJSON: JSON {
        var members: [(String, JSON)] = []
        if let id { members.append(("id", .string(id))) }
        if let ip { members.append(("ip", .string(ip))) }
        if let port { members.append(("port", .int(Int64(port)))) }
        if let userAgent { members.append(("userAgent", .string(userAgent))) }
        if let visitorId { members.append(("visitorId", .string(visitorId))) }
        if let info { members.append(("info", info)) }
        if let tempPassIdentity { members.append(("tempPassIdentity", tempPassIdentity)) }
        return .object(members)
    }

    /// The secrets this device carries, for the redactor.
    var secrets: [String] { [subjectToken, rokuConnectToken, serviceToken].compactMap { $0 } }

    /// `X-Device-Info` for calls where the header is required (DCR): the caller's fields, or a minimal
    /// description of this host when the caller gave none.
    var deviceInfoHeaderOrDefault: String { deviceInfoHeader ?? hostInfoHeader }

    /// This host as X-Device-Info fields: the appendix's required ones (model, version, osName,
    /// osVersion, connectionType) from uname(2); the platform stays "Unknown" hardware.
    static let hostInfo: JSON = {
        var names = utsname()
        uname(&names)
        func field<T>(_ tuple: T) -> String {
            withUnsafeBytes(of: tuple) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
        }
        return ["primaryHardwareType": "Unknown", "model": .string(field(names.machine)), "version": .string(field(names.machine)),
                "osName": "Linux", "osFamily": "Linux", "osVersion": .string(field(names.release)), "connectionType": "LAN"]
    }()

    private static let hostInfoHeader = encodedHeader(hostInfo)!

    /// The server-to-server cookbook and the X-Device-Info page ask for the device's connectionIp and
    /// connectionPort (home-based authentication): filled from `ip` / `port` unless `info` has them.
    private mutating func encodeInfo() {
        func withConnection(_ fields: JSON) -> JSON {
            var fields = fields
            if let ip, fields["connectionIp"] == nil { fields = fields.setting("connectionIp", .string(ip)) }
            if let port, fields["connectionPort"] == nil { fields = fields.setting("connectionPort", .int(Int64(port))) }
            return fields
        }
        lineCache = HeaderLineCache()
        deviceInfoHeader = info.map { Device.encodedHeader(withConnection($0))! }
        hostInfoHeader = ip == nil && port == nil ? Device.hostInfoHeader : Device.encodedHeader(withConnection(Device.hostInfo))!
    }

    /// The key of the device's state (profiles, MVPD choice, polls): its id. A device without one has
    /// no state; calls that need it fail naming the key.
    func stateKey(for what: String) throws(PassAuthError) -> String {
        guard let id else {
            throw .invalid("\(what) needs a device id: set 'id' in the device context or in the config's 'device'", key: "device.id")
        }
        return id
    }

    /// The state key of a device already known to have an id.
    var stateKey: String { id ?? "" }

    /// Who a cached decision belongs to: the device id and every identity header that can change the
    /// service's answer (SSO tokens, partner status, TempPass identity), hashed so no secret is kept
    /// as a key. Two contexts of one device id with different identities never share a cached permit.
    var decisionKey: String {
        if subjectToken == nil && rokuConnectToken == nil && serviceToken == nil && partnerFrameworkStatus == nil
            && tempPassIdentity == nil { return id ?? "" }  // the usual device: no array of parts to build
        let parts = [id ?? "", subjectToken ?? "", rokuConnectToken ?? "", serviceToken ?? "",
                     partnerFrameworkStatus?.serialized() ?? "", tempPassIdentity?.serialized() ?? ""]
        guard parts.dropFirst().contains(where: { !$0.isEmpty }) else { return id ?? "" }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for part in parts.dropFirst() {
            for byte in part.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
            hash = (hash ^ 0x1F) &* 0x100_0000_01b3
        }
        return (id ?? "") + "\u{0}" + String(hash, radix: 16)
    }
}

/// Values that end up in an HTTP header line must not be able to start a new one.
enum HeaderValue {
    static func check(_ value: String, key: String) throws(PassAuthError) {
        if value.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == 0x00 }) {
            throw .invalid("\(key) must not contain CR, LF or NUL characters", key: key)
        }
    }
}

/// Device.headerLines' memo, a reference so that copies of an unchanged device share it.
final class HeaderLineCache: Sendable {
    let lines = Locked<[[String]?]>(Array(repeating: nil, count: Endpoint.allCases.count * 2))
}

extension Device {
    package static func == (lhs: Device, rhs: Device) -> Bool {
        lhs.id == rhs.id && lhs.info == rhs.info && lhs.ip == rhs.ip && lhs.port == rhs.port && lhs.userAgent == rhs.userAgent
            && lhs.subjectToken == rhs.subjectToken && lhs.rokuConnectToken == rhs.rokuConnectToken
            && lhs.serviceToken == rhs.serviceToken && lhs.partnerFrameworkStatus == rhs.partnerFrameworkStatus
            && lhs.tempPassIdentity == rhs.tempPassIdentity && lhs.visitorId == rhs.visitorId
    }
}
