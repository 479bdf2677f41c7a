/// The profile parts the checklist asks to persist (mvpd, attributes, validity, type, issuer), kept per
/// device under `<prefix>{<origin>|<sp>|<device>}:profiles` (ClientState), so a restarted player knows
/// the user's provider and metadata without a request. The profiles calls write them; logout and
/// profile errors drop them. Writing one device's profiles touches that device's key only.
extension Client {
    static var persistedProfileKeys: [String] { ClientState.persistedProfileKeys }

    /// Persists the profile parts of each (device, profiles answer); the poller hands over every
    /// profile found in a round at once. `replacingAll`: the answers list all of their devices'
    /// profiles (GET /profiles), so others are dropped. Devices without an id have no stored state.
    func rememberProfiles(_ answers: [(Device, JSON)], replacingAll: Bool = false) throws(PassAuthError) {
        let changes: [(device: String, change: (JSON?) -> JSON?)] = answers.compactMap { device, answer in
            guard let id = device.id, case .object(let profiles)? = answer["profiles"], !profiles.isEmpty || replacingAll else { return nil }
            return (id, { current in
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
        try state.updateProfiles(changes)
    }

    /// Removes the stored profile of `device` for `mvpd` (writes only when something was removed).
    func forgetProfile(device: Device, mvpd: String) throws(PassAuthError) {
        guard let id = device.id else { return }
        try state.updateProfiles([(id, { current in
            guard let remaining = current?.removing(mvpd), remaining.objectValue?.isEmpty == false else { return nil }
            return remaining
        })])
    }

    /// Removes every stored profile of `device`.
    func forgetProfiles(device: Device) throws(PassAuthError) {
        guard let id = device.id else { return }
        try state.updateProfiles([(id, { _ in nil })])
    }

    /// The persisted profiles of `device`: `{"profiles": {mvpd: {...}}}` (possibly empty). No request,
    /// no lock.
    package func storedProfiles(device: Device) throws(PassAuthError) -> JSON {
        ["profiles": try state.profiles(device: Client.requireDeviceId(device, for: "passauth_profiles_stored"))]
    }

    static func requireDeviceId(_ device: Device, for call: String) throws(PassAuthError) -> String {
        guard let id = device.id else {
            throw .invalid("\(call) needs a device id: set 'id' in the device context or in the config's 'device'", key: "device.id")
        }
        return id
    }
}
