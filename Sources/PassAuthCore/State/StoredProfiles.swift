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
        try rememberParts(answers.map { device, answer in
            guard case .object(let profiles)? = answer["profiles"] else { return (device, nil) }
            return (device, profiles.map { mvpd, profile in
                (mvpd, JSON.object(Client.persistedProfileKeys.compactMap { key in profile[key].map { (key, $0) } }))
            })
        }, replacingAll: replacingAll)
    }

    /// The same from answers as received: only the persisted members are converted.
    func rememberProfiles(answers: [(Device, Answer)], replacingAll: Bool = false,
                          stillWanted: (@Sendable () -> Bool)? = nil) throws(PassAuthError) {
        var found: [(Device, [(String, JSON)]?)] = []
        for (device, answer) in answers {
            guard device.id != nil, let profiles = answer.node["profiles"], profiles.isObject else { continue }
            var parts: [(String, JSON)] = []
            try profiles.forEachMember { mvpd, profile throws(PassAuthError) in
                parts.append((mvpd, JSON.object(Client.persistedProfileKeys.compactMap { key in profile[key].map { (key, $0.json) } })))
            }
            found.append((device, parts))
        }
        try rememberParts(found, replacingAll: replacingAll, stillWanted: stillWanted)
    }

    func rememberProfiles(_ device: Device, _ answer: Answer, replacingAll: Bool = false,
                          stillWanted: (@Sendable () -> Bool)? = nil) throws(PassAuthError) {
        try rememberProfiles(answers: [(device, answer)], replacingAll: replacingAll, stillWanted: stillWanted)
    }

    /// `parts`: per device, each profile's persisted members by MVPD (nil: the answer had none).
    /// `stillWanted` is asked right before each write, inside the compare-and-set loop, so an answer
    /// fetched before the device's profiles were dropped is never stored after the drop.
    private func rememberParts(_ parts: [(Device, [(String, JSON)]?)], replacingAll: Bool,
                               stillWanted: (@Sendable () -> Bool)? = nil) throws(PassAuthError) {
        let changes: [(device: String, change: (JSON?) -> JSON?)] = parts.compactMap { device, profiles in
            guard let id = device.id, let profiles, !profiles.isEmpty || replacingAll else { return nil }
            return (id, { current in
                if let stillWanted, !stillWanted() { return current }
                var kept: [(String, JSON)] = replacingAll ? [] : (current?.objectValue ?? [])
                for (mvpd, profile) in profiles {
                    kept.removeAll { $0.0 == mvpd }
                    kept.append((mvpd, profile))
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
        refreshesInFlight.dropped(id)
        try state.updateProfiles([(id, { current in
            guard let remaining = current?.removing(mvpd), remaining.objectValue?.isEmpty == false else { return nil }
            return remaining
        })])
    }

    /// Removes every stored profile of `device`.
    func forgetProfiles(device: Device) throws(PassAuthError) {
        guard let id = device.id else { return }
        refreshesInFlight.dropped(id)
        try state.updateProfiles([(id, { _ in nil })])
    }

    /// The persisted profiles of `device`: `{"profiles": {mvpd: {...}}}` (possibly empty). No request,
    /// no lock.
    package func storedProfiles(device: Device) throws(PassAuthError) -> JSON {
        ["profiles": try state.profiles(device: device.stateKey(for: "passauth_profiles_stored"))]
    }
}
