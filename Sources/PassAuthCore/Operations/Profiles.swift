/// The profiles calls: all profiles of a device, the profile for one MVPD, the profile for a code.
/// Each successful answer also refreshes the device's persisted profile parts (ProfileMemory).
extension Client {
    public func profiles(device: Device) throws(PassAuthError) -> JSON {
        let result = try service.call(Operation(
            method: "GET", path: "/api/v2/\(serviceProviderSegment)/profiles", endpoint: "profiles"), device: device)
        try ResponseShape.profiles(result, endpoint: "profiles")
        try rememberProfiles([(device, result)], replacingAll: true)
        return result
    }

    public func profile(device: Device, mvpd: String) throws(PassAuthError) -> JSON {
        guard !mvpd.isEmpty else { throw .invalid("mvpd must not be empty", key: "mvpd") }
        let result = try service.call(Operation(
            method: "GET", path: "/api/v2/\(serviceProviderSegment)/profiles/\(URLEncoding.segment(mvpd))",
            endpoint: "profiles.mvpd"), device: device)
        try ResponseShape.profiles(result, endpoint: "profiles.mvpd")
        try rememberProfiles([(device, result)])
        return result
    }

    public func profile(device: Device, code: String) throws(PassAuthError) -> JSON {
        let code = try AuthenticationCode.validated(code)
        let result = try service.call(Client.profileByCode(code, serviceProvider: serviceProviderSegment), device: device)
        try ResponseShape.profiles(result, endpoint: "profiles.code")
        try rememberProfiles([(device, result)])
        return result
    }

    /// GET /profiles/code/{code}; `code` already validated, `serviceProvider` already encoded.
    static func profileByCode(_ code: String, serviceProvider: String) -> Operation {
        Operation(method: "GET", path: "/api/v2/\(serviceProvider)/profiles/code/\(URLEncoding.segment(code))",
                  endpoint: "profiles.code", requiresDeviceId: false)
    }
}

/// Picking among several profiles (checklist: "automatically selecting the profile with the longest
/// validity period"): the currently valid profile whose notAfter is latest.
public enum ProfilePicker {
    public static func longestValid(_ document: JSON, now: Int64 = Clock.nowMs()) throws(PassAuthError) -> JSON {
        guard case .object(let profiles)? = document["profiles"] ?? (document.objectValue != nil ? document : nil) else {
            throw .invalid("profiles_json must be a profiles answer ({\"profiles\": {...}})", key: "profiles_json")
        }
        let valid = profiles.compactMap { mvpd, profile -> (String, JSON, Int64)? in
            let normalised = normalizingTimestamps(profile)
            guard let notAfter = normalised["notAfter"]?.int64Value, notAfter > now,
                  (normalised["notBefore"]?.int64Value ?? 0) <= now else { return nil }
            return (mvpd, normalised, notAfter)
        }
        guard let best = valid.max(by: { $0.2 < $1.2 }) else {
            throw PassAuthError(.notFound, "no currently valid profile")
        }
        return ["mvpd": .string(best.0), "profile": best.1]
    }
}
