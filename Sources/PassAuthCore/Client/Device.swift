import Glibc

/// The per-device context every call carries (GUIDE §3): who the streaming device is, where it
/// connects from, and the SSO / TempPass identities it holds. In a server-to-server deployment each
/// call names its own device; a client-side player sets one default device in the config.
public struct Device: Sendable, Equatable {
    /// The stable raw device identifier; sent as `AP-Device-Identifier: fingerprint <base64>`.
    public var id: String? { didSet { deviceIdentifierHeader = Device.identifierHeader(id) } }
    /// X-Device-Info fields, sent base64-encoded as JSON.
    public var info: JSON? { didSet { deviceInfoHeader = Device.encodedHeader(info) } }
    /// The device's public IP, forwarded as X-Forwarded-For (server-to-server).
    public var ip: String?
    public var userAgent: String?
    /// Platform SSO (Adobe-Subject-Token), Roku SSO, service token SSO. When both platform identities
    /// are set, only Adobe-Subject-Token is sent (the reference lists them as alternatives).
    public var subjectToken: String?
    public var rokuConnectToken: String?
    public var serviceToken: String?
    /// Partner SSO status (AP-Partner-Framework-Status), an object serialised and base64-encoded;
    /// validated by PartnerFrameworkStatus.
    public var partnerFrameworkStatus: JSON? { didSet { partnerFrameworkStatusHeader = Device.encodedHeader(partnerFrameworkStatus) } }
    /// Promotional TempPass identity (AP-TempPass-Identity), an object serialised and base64-encoded;
    /// validated by TempPassIdentity.
    public var tempPassIdentity: JSON? { didSet { tempPassIdentityHeader = Device.encodedHeader(tempPassIdentity) } }
    /// AP-Visitor-Identifier.
    public var visitorId: String?

    /// The encoded header values, computed once per device value (every call of a device sends them;
    /// serialising and base64-encoding them per call showed in the authorize profile).
    private(set) var deviceIdentifierHeader: String? = nil
    private(set) var deviceInfoHeader: String? = nil
    private(set) var partnerFrameworkStatusHeader: String? = nil
    private(set) var tempPassIdentityHeader: String? = nil

    public init() {}

    static func identifierHeader(_ id: String?) -> String? { id.map { "fingerprint " + Base64.encode($0) } }
    static func encodedHeader(_ object: JSON?) -> String? { object.map { Base64.encode($0.serialized()) } }

    static let keys = ["id", "info", "ip", "userAgent", "subjectToken", "rokuConnectToken", "serviceToken",
                       "partnerFrameworkStatus", "tempPassIdentity", "visitorId"]

    /// Reads a device document. `origin` names it in error messages ("device" or "config.device").
    public init(json: JSON, origin: String = "device") throws(PassAuthError) {
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
        deviceInfoHeader = Device.encodedHeader(info)
        partnerFrameworkStatusHeader = Device.encodedHeader(partnerFrameworkStatus)
        tempPassIdentityHeader = Device.encodedHeader(tempPassIdentity)
    }

    /// The secrets this device carries, for the redactor.
    var secrets: [String] { [subjectToken, rokuConnectToken, serviceToken].compactMap { $0 } }

    /// `X-Device-Info` for calls where the header is required (DCR): the caller's fields, or a minimal
    /// description of this host when the caller gave none.
    var deviceInfoHeaderOrDefault: String { deviceInfoHeader ?? Device.hostInfoHeader }

    private static let hostInfoHeader: String = {
        var names = utsname()
        uname(&names)
        func field<T>(_ tuple: T) -> String {
            withUnsafeBytes(of: tuple) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
        }
        let info: JSON = ["primaryHardwareType": "Unknown", "model": .string(field(names.machine)), "vendor": "Unknown",
                          "osName": "Linux", "osFamily": "Linux", "osVersion": .string(field(names.release))]
        return Base64.encode(info.serialized())
    }()

    /// A key that separates per-device state (profiles, caches, polls) between devices.
    var stateKey: String { id ?? "" }

    /// Who a cached decision belongs to: the device id and every identity header that can change the
    /// service's answer (SSO tokens, partner status, TempPass identity), hashed so no secret is kept
    /// as a key. Two contexts of one device id with different identities never share a cached permit.
    var decisionKey: String {
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
