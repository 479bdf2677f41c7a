/// Every operation of the service the library calls, with everything the pipeline needs to know about
/// it in one table: method and path, whether it is a DCR call (no bearer token) or a REST API V2 call,
/// the device headers its reference page lists (the checklist: send only those), whether it needs a
/// device id, the shape its answer must have, and whether the profiles in its answer are stored.
/// `Service.call` enforces all of it, so no call site can skip a shape check or misspell an endpoint.
package enum Endpoint: Int, CaseIterable, Sendable {
    case register, token
    case configuration
    case sessionCreate, sessionResume, sessionGet
    case profiles, profileForMVPD, profileForCode
    case preauthorize, authorize
    case logout
    case partnerSession, partnerProfile

    /// Statistics list endpoints by name.
    static let sortedByName = allCases.sorted { $0.name < $1.name }

    /// The name used in statistics, errors and logs (static text: statistics copy it without a retain).
    package var staticName: StaticString {
        switch self {
        case .register: return "register"
        case .token: return "token"
        case .configuration: return "configuration"
        case .sessionCreate: return "sessions.create"
        case .sessionResume: return "sessions.resume"
        case .sessionGet: return "sessions.get"
        case .profiles: return "profiles"
        case .profileForMVPD: return "profiles.mvpd"
        case .profileForCode: return "profiles.code"
        case .preauthorize: return "decisions.preauthorize"
        case .authorize: return "decisions.authorize"
        case .logout: return "logout"
        case .partnerSession: return "sessions.sso"
        case .partnerProfile: return "profiles.sso"
        }
    }

    package var name: String { staticName.description }

    package var method: String {
        switch self {
        case .configuration, .sessionGet, .profiles, .profileForMVPD, .profileForCode, .logout: return "GET"
        default: return "POST"
        }
    }

    /// DCR calls carry no bearer token (they obtain it) and no REST API V2 device headers.
    var isRegistration: Bool { self == .register || self == .token }

    /// The path below the base URL. `serviceProvider` is already percent-encoded; `argument` (the MVPD,
    /// code or partner of the endpoints whose path has one) is encoded here.
    func path(serviceProvider sp: String, argument: String = "") -> String {
        let arg = URLEncoding.segment(argument)
        switch self {
        case .register: return "/o/client/register"
        case .token: return "/o/client/token"
        case .configuration: return "/api/v2/\(sp)/configuration"
        case .sessionCreate: return "/api/v2/\(sp)/sessions"
        case .sessionResume, .sessionGet: return "/api/v2/\(sp)/sessions/\(arg)"
        case .profiles: return "/api/v2/\(sp)/profiles"
        case .profileForMVPD: return "/api/v2/\(sp)/profiles/\(arg)"
        case .profileForCode: return "/api/v2/\(sp)/profiles/code/\(arg)"
        case .preauthorize: return "/api/v2/\(sp)/decisions/preauthorize/\(arg)"
        case .authorize: return "/api/v2/\(sp)/decisions/authorize/\(arg)"
        case .logout: return "/api/v2/\(sp)/logout/\(arg)"
        case .partnerSession: return "/api/v2/\(sp)/sessions/sso/\(arg)"
        case .partnerProfile: return "/api/v2/\(sp)/profiles/sso/\(arg)"
        }
    }

    /// The endpoints whose reference page marks AP-Device-Identifier as required; the device's id
    /// also keys their state (profiles, permits, the newest code).
    var requiresDeviceId: Bool {
        switch self {
        case .sessionCreate, .profiles, .profileForMVPD, .preauthorize, .authorize, .logout, .partnerSession, .partnerProfile:
            return true
        case .register, .token, .configuration, .sessionResume, .sessionGet, .profileForCode:
            return false
        }
    }

    /// The device headers this endpoint's reference page lists (rest-apis/rest-api-v2/apis/**, audited
    /// header table by header table). Only these are ever sent.
    var deviceHeaders: DeviceHeaders {
        let device: DeviceHeaders = [.deviceIdentifier, .deviceInfo, .forwardedFor, .userAgent, .visitorId]
        let platformIdentity: DeviceHeaders = [.subjectToken, .rokuConnectToken]
        // Second-screen calls made with a code: no device identity, no SSO.
        let code: DeviceHeaders = [.forwardedFor, .userAgent, .visitorId]
        switch self {
        case .register, .token: return [.deviceInfo, .userAgent]  // DCR pages: X-Device-Info, User-Agent
        case .configuration: return [.deviceIdentifier, .deviceInfo, .forwardedFor, .userAgent]
        case .sessionCreate, .logout: return device.union(platformIdentity).union(.serviceToken)
        case .sessionResume, .sessionGet: return code
        case .profiles, .preauthorize:
            return device.union(platformIdentity).union([.serviceToken, .partnerFrameworkStatus])
        case .profileForMVPD, .authorize:
            return device.union(platformIdentity).union([.serviceToken, .partnerFrameworkStatus, .tempPassIdentity])
        case .profileForCode: return code.union(.tempPassIdentity)
        case .partnerSession, .partnerProfile: return device.union(.partnerFrameworkStatus)
        }
    }

    /// What a successful answer must look like (ResponseShape).
    var shape: ResponseShape {
        switch self {
        case .register: return .registration
        case .token: return .token
        case .configuration: return .configuration
        case .sessionCreate, .sessionResume, .partnerSession: return .session
        case .sessionGet: return .sessionInformation
        case .profiles, .profileForMVPD, .profileForCode, .partnerProfile: return .profiles
        case .preauthorize, .authorize: return .decisions
        case .logout: return .logout
        }
    }
}
