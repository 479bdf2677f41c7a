/// Shape checks of service answers the library hands back or persists: an answer without the fields
/// its reference page documents, or with them of the wrong type, is PASSAUTH_E_PROTOCOL, never a
/// success and never written to the store. Unknown extra fields are accepted.
enum ResponseShape {
    static func malformed(_ endpoint: String, _ message: String) -> PassAuthError {
        var error = PassAuthError(.protocol, "\(endpoint): \(message)")
        error.endpoint = endpoint
        return error
    }

    /// `{"profiles": {mvpd: {notBefore?, notAfter, issuer?, type?, attributes?}}}` (timestamps already
    /// normalised to numbers by Service).
    static func profiles(_ answer: JSON, endpoint: String) throws(PassAuthError) {
        guard case .object(let profiles)? = answer["profiles"] else {
            throw malformed(endpoint, "the response has no \"profiles\" object")
        }
        for (mvpd, profile) in profiles {
            guard case .object = profile, profile["notAfter"]?.int64Value != nil else {
                throw malformed(endpoint, "profile '\(mvpd.prefix(64))' is not an object with a numeric \"notAfter\"")
            }
            if let notBefore = profile["notBefore"], notBefore.int64Value == nil {
                throw malformed(endpoint, "profile '\(mvpd.prefix(64))' has a non-numeric \"notBefore\"")
            }
            for key in ["issuer", "type"] {
                if let value = profile[key], value.stringValue == nil {
                    throw malformed(endpoint, "profile '\(mvpd.prefix(64))' has a non-string \"\(key)\"")
                }
            }
            if let attributes = profile["attributes"], attributes.objectValue == nil {
                throw malformed(endpoint, "profile '\(mvpd.prefix(64))' has non-object \"attributes\"")
            }
        }
    }

    /// Session create / resume answers: string "actionName" and "actionType"; "code" a string when present.
    static func session(_ answer: JSON, endpoint: String) throws(PassAuthError) {
        guard answer["actionName"]?.stringValue != nil, answer["actionType"]?.stringValue != nil else {
            throw malformed(endpoint, "the response has no string \"actionName\" and \"actionType\"")
        }
        if let code = answer["code"], code.stringValue == nil {
            throw malformed(endpoint, "the response's \"code\" is not a string")
        }
    }

    /// Configuration: `{"requestor": {"mvpds": [{"id": "...", ...}, ...]}}`.
    static func configuration(_ answer: JSON) throws(PassAuthError) {
        guard let mvpds = answer["requestor"]?["mvpds"]?.arrayValue else {
            throw malformed("configuration", "the response has no \"requestor.mvpds\" array")
        }
        for mvpd in mvpds where mvpd.objectValue == nil || mvpd["id"]?.stringValue == nil {
            throw malformed("configuration", "an MVPD is not an object with a string \"id\"")
        }
    }
}
