/// The shapes of successful answers (each endpoint's reference page): an answer without the fields its
/// page documents, or with them of the wrong type, is PASSAUTH_E_PROTOCOL, never a success and never
/// written to the store. Unknown extra fields are accepted. Timestamps are already numbers here.
enum ResponseShape {
    case registration, token, configuration, session, sessionInformation, profiles, decisions, logout

    func check(_ answer: JSONNode, endpoint: Endpoint) throws(PassAuthError) {
        func fail(_ message: String) -> PassAuthError { ResponseShape.malformed(endpoint, message) }
        switch self {
        case .registration:
            guard answer["client_id"]?.string?.isEmpty == false, answer["client_secret"]?.string?.isEmpty == false else {
                throw fail("the response has no client_id / client_secret")
            }
        case .token:
            guard answer["access_token"]?.string?.isEmpty == false, let lifetime = answer["expires_in"]?.int64, lifetime > 0 else {
                throw fail("the response has no access_token / positive expires_in")
            }
        case .configuration:
            guard let mvpds = answer["requestor"]?["mvpds"], mvpds.isArray else {
                throw fail("the response has no \"requestor.mvpds\" array")
            }
            for mvpd in mvpds.elements where !mvpd.isObject || mvpd["id"]?.string == nil {
                throw fail("an MVPD is not an object with a string \"id\"")
            }
        case .session:
            guard answer["actionName"]?.string != nil, answer["actionType"]?.string != nil else {
                throw fail("the response has no string \"actionName\" and \"actionType\"")
            }
            if let code = answer["code"], !code.isString { throw fail("the response's \"code\" is not a string") }
            if let url = answer["url"], !url.isString { throw fail("the response's \"url\" is not a string") }
        case .sessionInformation:
            if let code = answer["code"], !code.isString { throw fail("the response's \"code\" is not a string") }
        case .profiles:
            guard let profiles = answer["profiles"], profiles.isObject else { throw fail("the response has no \"profiles\" object") }
            try profiles.forEachMember { (mvpd, profile) throws(PassAuthError) in
                let name = mvpd.prefix(64)
                guard profile.isObject, profile["notAfter"]?.int64 != nil else {
                    throw fail("profile '\(name)' is not an object with a numeric \"notAfter\"")
                }
                for key in ["issuer", "type"] {
                    if let value = profile[key], !value.isString { throw fail("profile '\(name)' has a non-string \"\(key)\"") }
                }
                if let attributes = profile["attributes"], !attributes.isObject {
                    throw fail("profile '\(name)' has non-object \"attributes\"")
                }
            }
        case .decisions:
            guard let decisions = answer["decisions"], decisions.isArray else { throw fail("the response has no \"decisions\" array") }
            for decision in decisions.elements {
                guard decision.isObject, decision["authorized"]?.bool != nil else {
                    throw fail("a decision is not an object with a boolean \"authorized\"")
                }
                if let resource = decision["resource"], !resource.isString { throw fail("a decision's \"resource\" is not a string") }
                if let token = decision["token"], !token.isObject || token["serializedToken"].map({ !$0.isString }) == true {
                    throw fail("a decision's \"token\" is not an object with a string \"serializedToken\"")
                }
                if let error = decision["error"], !error.isObject { throw fail("a decision's \"error\" is not an object") }
            }
        case .logout:
            guard let logouts = answer["logouts"], logouts.isObject || logouts.isArray else {
                throw fail("the response has no \"logouts\"")
            }
        }
    }

    static func malformed(_ endpoint: Endpoint, _ message: String, response: HTTPResponse? = nil) -> PassAuthError {
        var error = PassAuthError(.protocol, "\(endpoint.name): \(message)")
        error.endpoint = endpoint.name
        if let response {
            error.httpStatus = response.status
            error.bodyExcerpt = ResponseErrors.excerpt(response.body)
        }
        return error
    }
}
