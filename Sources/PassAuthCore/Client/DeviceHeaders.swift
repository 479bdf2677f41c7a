/// The device-derived headers of REST API V2. Each endpoint's reference page lists which of them it
/// accepts; the checklist asks to send only those, so the audited matrix lives in `EndpointHeaders`
/// and every Operation takes its set from there by endpoint name.
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
    /// The reference pages list "Adobe-Subject-Token or X-Roku-Reserved-Roku-Connect-Token": only one
    /// platform identity is sent, and `subjectToken` wins when a device carries both.
    func value(for device: Device) -> String? {
        switch self {
        case .deviceIdentifier: return device.deviceIdentifierHeader
        case .deviceInfo: return device.deviceInfoHeader
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

/// Which optional device headers each REST API V2 endpoint accepts, audited against the header table of
/// its reference page (rest-apis/rest-api-v2/apis/**). Keyed by the endpoint names used in statistics
/// and errors. An endpoint missing here sends no device header at all.
public enum EndpointHeaders {
    private static let platformIdentity: Set<DeviceHeader> = [.subjectToken, .rokuConnectToken]
    private static let device: Set<DeviceHeader> = [.deviceIdentifier, .deviceInfo, .forwardedFor, .userAgent, .visitorId]
    /// Second-screen calls made with a code: no device identity, no SSO.
    private static let code: Set<DeviceHeader> = [.forwardedFor, .userAgent, .visitorId]

    public static let table: [String: Set<DeviceHeader>] = [
        // retrieve-configuration-for-specific-service-provider
        "configuration": [.deviceIdentifier, .deviceInfo, .forwardedFor, .userAgent],
        // create-authentication-session
        "sessions.create": device.union(platformIdentity).union([.serviceToken]),
        // resume-authentication-session, retrieve-authentication-session-information-using-code
        "sessions.resume": code,
        "sessions.get": code,
        // retrieve-profiles
        "profiles": device.union(platformIdentity).union([.serviceToken, .partnerFrameworkStatus]),
        // retrieve-profile-for-specific-mvpd
        "profiles.mvpd": device.union(platformIdentity).union([.serviceToken, .partnerFrameworkStatus, .tempPassIdentity]),
        // retrieve-profile-for-specific-code
        "profiles.code": code.union([.tempPassIdentity]),
        // retrieve-preauthorization-decisions-using-specific-mvpd (no AP-TempPass-Identity)
        "decisions.preauthorize": device.union(platformIdentity).union([.serviceToken, .partnerFrameworkStatus]),
        // retrieve-authorization-decisions-using-specific-mvpd
        "decisions.authorize": device.union(platformIdentity).union([.serviceToken, .partnerFrameworkStatus, .tempPassIdentity]),
        // initiate-logout-for-specific-mvpd (no AP-Partner-Framework-Status, no AP-TempPass-Identity)
        "logout": device.union(platformIdentity).union([.serviceToken]),
        // partner-single-sign-on-apis: retrieve-partner-authentication-request / retrieve-profile-using-
        // partner-authentication-response
        "sessions.sso": device.union([.partnerFrameworkStatus]),
        "profiles.sso": device.union([.partnerFrameworkStatus]),
    ]

    /// The headers `endpoint` accepts.
    public static func headers(for endpoint: String) -> Set<DeviceHeader> { table[endpoint] ?? [] }

    /// The headers actually sent for `device` on `endpoint`, in a stable order (name, value).
    public static func sent(for endpoint: String, device: Device) -> [(String, String)] {
        let accepted = headers(for: endpoint)
        return DeviceHeader.allCases.compactMap { header in
            guard accepted.contains(header), let value = header.value(for: device) else { return nil }
            return (header.rawValue, value)
        }
    }
}
