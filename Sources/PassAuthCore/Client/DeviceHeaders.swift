/// The device-derived request headers. Each endpoint's reference page lists which of them it accepts
/// (Endpoint.deviceHeaders); the checklist asks to send only those.
package enum DeviceHeader: Int, Sendable, CaseIterable {
    case deviceIdentifier, deviceInfo, forwardedFor, userAgent, subjectToken, rokuConnectToken, serviceToken,
         partnerFrameworkStatus, tempPassIdentity, visitorId

    package var name: String {
        switch self {
        case .deviceIdentifier: return "AP-Device-Identifier"
        case .deviceInfo: return "X-Device-Info"
        case .forwardedFor: return "X-Forwarded-For"
        case .userAgent: return "User-Agent"
        case .subjectToken: return "Adobe-Subject-Token"
        case .rokuConnectToken: return "X-Roku-Reserved-Roku-Connect-Token"
        case .serviceToken: return "AD-Service-Token"
        case .partnerFrameworkStatus: return "AP-Partner-Framework-Status"
        case .tempPassIdentity: return "AP-TempPass-Identity"
        case .visitorId: return "AP-Visitor-Identifier"
        }
    }

    /// The value for `device`, or nil when the device carries nothing for this header. The reference
    /// pages list "Adobe-Subject-Token or X-Roku-Reserved-Roku-Connect-Token": only one platform
    /// identity is sent, and `subjectToken` wins when a device carries both. X-Device-Info falls back to
    /// a description of this host when `hostInfo` (config "defaultDeviceInfo") allows it.
    func value(for device: Device, hostInfo: Bool) -> String? {
        switch self {
        case .deviceIdentifier: return device.deviceIdentifierHeader
        case .deviceInfo: return device.deviceInfoHeader ?? (hostInfo ? device.hostInfoHeader : nil)
        case .forwardedFor: return device.ip
        case .userAgent: return device.userAgent
        case .subjectToken: return device.subjectToken
        case .rokuConnectToken: return device.subjectToken == nil ? device.rokuConnectToken : nil
        case .serviceToken: return device.serviceToken
        case .partnerFrameworkStatus: return device.partnerFrameworkStatusHeader
        case .tempPassIdentity: return device.tempPassIdentityHeader
        case .visitorId: return device.visitorId
        }
    }
}

/// A set of device headers (a bit per DeviceHeader).
package struct DeviceHeaders: OptionSet, Sendable, Hashable {
    package let rawValue: UInt16
    package init(rawValue: UInt16) { self.rawValue = rawValue }
    init(_ header: DeviceHeader) { rawValue = 1 << header.rawValue }

    static let deviceIdentifier = DeviceHeaders(.deviceIdentifier)
    static let deviceInfo = DeviceHeaders(.deviceInfo)
    static let forwardedFor = DeviceHeaders(.forwardedFor)
    static let userAgent = DeviceHeaders(.userAgent)
    static let subjectToken = DeviceHeaders(.subjectToken)
    static let rokuConnectToken = DeviceHeaders(.rokuConnectToken)
    static let serviceToken = DeviceHeaders(.serviceToken)
    static let partnerFrameworkStatus = DeviceHeaders(.partnerFrameworkStatus)
    static let tempPassIdentity = DeviceHeaders(.tempPassIdentity)
    static let visitorId = DeviceHeaders(.visitorId)

    func contains(_ header: DeviceHeader) -> Bool { rawValue & (1 << header.rawValue) != 0 }

    /// The header lines sent for `device`, in a stable order (name: value).
    func lines(for device: Device, hostInfo: Bool) -> [String] {
        DeviceHeader.allCases.compactMap { header in
            guard contains(header), let value = header.value(for: device, hostInfo: hostInfo) else { return nil }
            return header.name + ": " + value
        }
    }
}
