/// The Logout API: ends the user's authentication with one MVPD for a device, and says what the
/// application still has to do (open `url` in a user agent when `actionType` is `interactive`).
extension Client {
    /// `GET /api/v2/{sp}/logout/{mvpd}?redirectUrl=…`. On success the device's stored profile and cached
    /// decisions for that MVPD are forgotten.
    public func logout(device: Device, mvpd: String, redirectURL: String) throws(PassAuthError) -> JSON {
        try Decisions.checkMVPD(mvpd)
        guard !redirectURL.isEmpty else { throw .invalid("redirect_url must not be empty", key: "redirect_url") }
        let operation = Operation(
            method: "GET", path: "/api/v2/\(serviceProviderSegment)/logout/\(URLEncoding.segment(mvpd))",
            query: [("redirectUrl", redirectURL)], endpoint: "logout")
        let document = try service.call(operation, device: device)
        let resolved: JSON
        switch document["logouts"] {
        case .object(let actions)?: resolved = .object(actions.map { ($0, resolvingURL($1)) })
        case .array(let actions)?: resolved = .array(actions.map(resolvingURL))
        default:
            var error = PassAuthError(.protocol, "logout: the response has no \"logouts\"")
            error.endpoint = "logout"
            throw error
        }
        decisionCache.removeAll(device: device.stateKey, mvpd: mvpd)
        try forgetProfile(device: device, mvpd: mvpd)
        return document.setting("logouts", resolved)
    }
}
