/// The profiles calls: all profiles of a device, the profile for one MVPD, the profile for a code.
/// Each successful answer also refreshes the device's persisted profile parts (ProfileMemory).
extension Client {
    /// `GET /api/v2/{sp}/profiles`: every profile of the device; the stored ones are replaced by them.
    package func profiles(device: Device) throws(PassAuthError) -> Answer {
        let answer = try withProfileInvalidation(device: device, mvpd: nil) { () throws(PassAuthError) in
            try service.call(.profiles, device: device)
        }
        try rememberProfiles(device, answer, replacingAll: true)
        return answer
    }

    /// `GET /api/v2/{sp}/profiles/{mvpd}`.
    package func profile(device: Device, mvpd: String) throws(PassAuthError) -> Answer {
        guard !mvpd.isEmpty else { throw .invalid("mvpd must not be empty", key: "mvpd") }
        let answer = try withProfileInvalidation(device: device, mvpd: mvpd) { () throws(PassAuthError) in
            try service.call(.profileForMVPD, argument: mvpd, device: device)
        }
        try rememberProfiles(device, answer)
        return answer
    }

    /// `GET /api/v2/{sp}/profiles/code/{code}`; a profile found is stored when the device has an id.
    package func profile(device: Device, code: String) throws(PassAuthError) -> Answer {
        let code = try AuthenticationCode.validated(code)
        let answer = try service.call(.profileForCode, argument: code, device: device)
        try rememberProfiles(device, answer)
        return answer
    }
}

/// Picking among several profiles (checklist: "automatically selecting the profile with the longest
/// validity period"): the currently valid profile whose notAfter is latest.
package enum ProfilePicker {
    package static func longestValid(_ document: JSON, now: Int64 = Clock.nowMs()) throws(PassAuthError) -> JSON {
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
