/// The Partner Single Sign-On APIs (Apple's Video Subscriber Account framework): ask for the partner
/// authentication request, then turn the partner's authentication response into a profile. Both send
/// the device's `partnerFrameworkStatus` as AP-Partner-Framework-Status.
extension Client {
    /// `POST /api/v2/{sp}/sessions/sso/{partner}` (form domainName, redirectUrl). The answer is
    /// `partner_profile` with an `authenticationRequest` for the partner framework, `authorize` when a
    /// profile already exists, or a fallback (`authenticate`/`resume` with a code and a reasonType such as
    /// `pfs_fallback`, `configuration_fallback`, `missing_parameters_fallback`) that continues the basic
    /// flow; a code in the answer is handled like one from createSession (polls of older codes end).
    package func partnerSSOSession(device: Device, partner: String, parameters: PartnerSessionParameters) throws(PassAuthError) -> Answer {
        let partner = try PartnerSSO.checkPartner(partner)
        let session = try service.call(.partnerSession, argument: partner, body: .form(parameters.form), device: device)
        resolvingURL(session)
        if let code = session.node["code"]?.string {
            poller.started(code: code, notAfter: session.node["notAfter"]?.int64, for: device)
        }
        return session
    }

    /// `POST /api/v2/{sp}/profiles/sso/{partner}` (form SAMLResponse): the partner profile (type
    /// `appleSSO`), shape-checked and persisted for the device like any profile answer.
    package func partnerSSOProfile(device: Device, partner: String, parameters: PartnerProfileParameters) throws(PassAuthError) -> Answer {
        let partner = try PartnerSSO.checkPartner(partner)
        let answer = try service.call(.partnerProfile, argument: partner, body: .form(parameters.form), device: device)
        try rememberProfiles(device, answer)
        return answer
    }
}

enum PartnerSSO {
    static func checkPartner(_ partner: String) throws(PassAuthError) -> String {
        guard !partner.isEmpty else { throw .invalid("partner must not be empty (e.g. \"Apple\")", key: "partner") }
        return partner
    }

    /// Reads a params object whose keys are all in `allowed`, each a non-empty string.
    static func form(_ json: JSON?, allowed: [String], required: [String]) throws(PassAuthError) -> [(String, String)] {
        var form: [(String, String)] = []
        if let json {
            guard case .object(let members) = json else { throw .invalid("params_json must be an object", key: "params_json") }
            for (key, value) in members {
                guard allowed.contains(key) else {
                    throw .invalid("unknown key 'params_json.\(key)' (expected \(allowed.joined(separator: ", ")))", key: "params_json.\(key)")
                }
                guard let text = value.stringValue, !text.isEmpty else {
                    throw .invalid("params_json.\(key) must be a non-empty string", key: "params_json.\(key)")
                }
                form.append((key, text))
            }
        }
        for key in required where !form.contains(where: { $0.0 == key }) {
            throw .invalid("params_json.\(key) is required", key: "params_json.\(key)")
        }
        return form
    }
}

/// `params_json` of the partner session call: {"domainName", "redirectUrl"} (either may be missing; the
/// service then answers with a fallback asking to resume the session with them).
package struct PartnerSessionParameters: Sendable {
    var form: [(String, String)]
    package init(json: JSON?) throws(PassAuthError) {
        form = try PartnerSSO.form(json, allowed: ["domainName", "redirectUrl"], required: [])
    }
}

/// `params_json` of the partner profile call: {"SAMLResponse": "<base64 partner authentication
/// response>"} (required; the library URL-encodes it into the form body).
package struct PartnerProfileParameters: Sendable {
    var form: [(String, String)]
    package init(json: JSON?) throws(PassAuthError) {
        form = try PartnerSSO.form(json, allowed: ["SAMLResponse"], required: ["SAMLResponse"])
        let value = form[0].1
        let base64 = value.utf8.allSatisfy { byte in
            (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || (0x30...0x39).contains(byte)
                || byte == 0x2B || byte == 0x2F || byte == 0x3D || byte == 0x2D || byte == 0x5F
        }
        guard base64 else {
            throw .invalid("params_json.SAMLResponse must be the base64-encoded partner authentication response", key: "params_json.SAMLResponse")
        }
    }
}
