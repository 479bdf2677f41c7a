/// The device-derived headers of REST API V2. Each endpoint's reference page lists which of them it
/// accepts; the checklist asks to send only those, so every Operation names its set explicitly.
public enum DeviceHeader: String, Sendable, CaseIterable {
    case deviceIdentifier = "AP-Device-Identifier"
    case deviceInfo = "X-Device-Info"
    case forwardedFor = "X-Forwarded-For"
    case userAgent = "User-Agent"
    case subjectToken = "Adobe-Subject-Token"
    case rokuConnectToken = "X-Roku-Reserved-Roku-Connect-Token"
    case serviceToken = "AD-Service-Token"
    case partnerFrameworkStatus = "AP-Partner-Framework-Status"
    case tempPassIdentity = "AP-TempPass-Identity"
    case visitorId = "AP-Visitor-Identifier"

    /// The value for `device`, or nil when the device carries nothing for this header.
    func value(for device: Device) -> String? {
        switch self {
        case .deviceIdentifier: return device.deviceIdentifierHeader
        case .deviceInfo: return device.deviceInfoHeader
        case .forwardedFor: return device.ip
        case .userAgent: return device.userAgent
        case .subjectToken: return device.subjectToken
        case .rokuConnectToken: return device.rokuConnectToken
        case .serviceToken: return device.serviceToken
        case .partnerFrameworkStatus: return device.partnerFrameworkStatus.map { Base64.encode($0.serialized()) }
        case .tempPassIdentity: return device.tempPassIdentity.map { Base64.encode($0.serialized()) }
        case .visitorId: return device.visitorId
        }
    }
}

extension Set where Element == DeviceHeader {
    /// Streaming-device calls: identity, info, forwarding and the optional SSO / TempPass identities.
    static let streamingDevice: Set<DeviceHeader> = Set(DeviceHeader.allCases)
    /// Calls a second screen makes with a code (resume, retrieve session, profile by code): the
    /// reference lists no device identity for them.
    static let secondScreen: Set<DeviceHeader> = [.forwardedFor, .userAgent, .visitorId]
}
