/// The Logout API: ends the user's authentication with one MVPD for a device, and says what the
/// application still has to do (open `url` in a user agent when `actionType` is `interactive`).
extension Client {
    /// `GET /api/v2/{sp}/logout/{mvpd}?redirectUrl=…`. On success the device's stored profile and cached
    /// decisions for that MVPD are forgotten.
    package func logout(device: Device, mvpd: String, redirectURL: String) throws(PassAuthError) -> Answer {
        try Decisions.checkMVPD(mvpd)
        guard !redirectURL.isEmpty else { throw .invalid("redirect_url must not be empty", key: "redirect_url") }
        let answer = try service.call(.logout, argument: mvpd, query: [("redirectUrl", redirectURL)], device: device)
        // Relative "url"s of the logout actions become absolute (as session answers' do).
        var relative = false
        if let logouts = answer.node["logouts"] {
            for action in logouts.isArray ? logouts.elements : Client.memberValues(logouts) where action["url"]?.string?.hasPrefix("/") == true {
                relative = true
            }
        }
        if relative, let logouts = answer.node["logouts"] {
            answer.edit { _ in
                for action in logouts.isArray ? logouts.elements : Client.memberValues(logouts) {
                    if let url = action["url"]?.string, url.hasPrefix("/") { action.set("url", .string(config.baseURL + url)) }
                }
            }
        }
        let id = device.stateKey  // the call above required it (Endpoint.logout.requiresDeviceId)
        decisionCache.removeAll(device: id, mvpd: mvpd)
        fleetEvents?.publish("logout", device: id, mvpd: mvpd)
        try forgetProfile(device: device, mvpd: mvpd)
        return answer
    }

    static func memberValues(_ node: JSONNode) -> [JSONNode] {
        var values: [JSONNode] = []
        try? node.forEachMember { _, value in values.append(value) }
        return values
    }
}
