/// The profile section of the persistent store: `state["profiles"]` is `{deviceId: {mvpd: profile}}`
/// (device id = `Device.stateKey`). The authentication phase writes it; logout clears it here.
extension Client {
    /// Removes the stored profile of `device` for `mvpd`; saves only when something was removed.
    func forgetProfile(device: Device, mvpd: String) throws(PassAuthError) {
        let deviceKey = device.stateKey
        try store.withLock(timeoutMs: config.timeoutMs) { () throws(PassAuthError) in
            var state = try store.load()
            guard let profiles = state["profiles"], let byMVPD = profiles[deviceKey], byMVPD[mvpd] != nil else { return }
            let remaining = byMVPD.removing(mvpd)
            let emptied = remaining.objectValue?.isEmpty ?? true
            state["profiles"] = emptied ? profiles.removing(deviceKey) : profiles.setting(deviceKey, remaining)
            try store.save(state)
        }
    }
}
