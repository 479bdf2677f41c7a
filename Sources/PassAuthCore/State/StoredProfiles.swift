/// The profile parts the checklist asks to persist (mvpd, attributes, validity, type, issuer), kept in
/// the store's "profiles" section as {deviceId: {mvpd: {...}}} (device id = `Device.stateKey`), so a
/// restarted player knows the user's provider and metadata without a request. The profiles calls
/// write it; logout clears it.
extension Client {
    static let persistedProfileKeys = ["notBefore", "notAfter", "issuer", "type", "attributes"]

    /// Persists the profile parts of each (device, profiles answer) in one store write. `replacingAll`:
    /// the answers list all of their devices' profiles (GET /profiles), so others are dropped.
    func rememberProfiles(_ answers: [(Device, JSON)], replacingAll: Bool = false) throws(PassAuthError) {
        let changes: [(Device, (JSON?) -> JSON?)] = answers.compactMap { device, answer in
            guard case .object(let profiles)? = answer["profiles"], !profiles.isEmpty || replacingAll else { return nil }
            return (device, { current in
                var kept: [(String, JSON)] = replacingAll ? [] : (current?.objectValue ?? [])
                for (mvpd, profile) in profiles {
                    let parts = JSON.object(Client.persistedProfileKeys.compactMap { key in profile[key].map { (key, $0) } })
                    kept.removeAll { $0.0 == mvpd }
                    kept.append((mvpd, parts))
                }
                return kept.isEmpty ? nil : .object(kept)
            })
        }
        guard !changes.isEmpty else { return }
        try updateDeviceSections("profiles", changes)
    }

    /// Removes the stored profile of `device` for `mvpd` (saves only when something was removed).
    func forgetProfile(device: Device, mvpd: String) throws(PassAuthError) {
        try updateDeviceSection("profiles", device: device) { current in
            guard let remaining = current?.removing(mvpd), remaining.objectValue?.isEmpty == false else { return nil }
            return remaining
        }
    }

    /// Removes every stored profile of `device`.
    func forgetProfiles(device: Device) throws(PassAuthError) {
        try updateDeviceSection("profiles", device: device) { _ in nil }
    }

    /// The profiles section without the profiles whose numeric notAfter has passed, and without the
    /// devices left with none.
    static func withoutExpiredProfiles(_ section: JSON, now: Int64) -> JSON {
        guard case .object(let devices) = section else { return section }
        return .object(devices.compactMap { device, profiles in
            guard case .object(let byMVPD) = profiles else { return (device, profiles) }
            let live = byMVPD.filter { _, profile in (profile["notAfter"]?.int64Value).map { $0 > now } ?? true }
            return live.isEmpty ? nil : (device, .object(live))
        })
    }

    /// The persisted profiles of `device`: `{"profiles": {mvpd: {...}}}` (possibly empty). No request.
    package func storedProfiles(device: Device) throws(PassAuthError) -> JSON {
        ["profiles": try store.load()["profiles"]?[device.stateKey] ?? .object([])]
    }
}
