import CJansson

/// The shapes of successful answers (each endpoint's reference page): an answer without the fields its
/// page documents, or with them of the wrong type, is PASSAUTH_E_PROTOCOL, never a success and never
/// written to the store. Unknown extra fields are accepted. Timestamps are already numbers here.
enum ResponseShape {
    case registration, token, configuration, session, sessionInformation, profiles, decisions, logout

    /// The member a result always has, added empty when the service left it out (OpenAPI marks it
    /// optional; callers read the same shape either way).
    var container: (name: String, empty: JSON)? {
        switch self {
        case .profiles: return ("profiles", .object([]))
        case .logout: return ("logouts", .object([]))
        default: return nil
        }
    }

    /// Decisions, the MVPD ids, DCR credentials and session timestamps are what the library needs
    /// beyond the OpenAPI schemas (which mark them optional or plain strings): a decision per resource
    /// asked, an id to select an MVPD by, credentials to use, and the pages' milliseconds.
    func check(_ answer: RawJSON, endpoint: Endpoint) throws(PassAuthError) {
        func fail(_ message: String) -> PassAuthError { ResponseShape.malformed(endpoint, message) }
        func nonEmptyString(_ value: RawJSON?) -> Bool { (value?.stringBytes?.count ?? 0) > 0 }
        switch self {
        case .registration:
            guard nonEmptyString(answer.member("client_id")), nonEmptyString(answer.member("client_secret")) else {
                throw fail("the response has no client_id / client_secret")
            }
        case .token:
            guard nonEmptyString(answer.member("access_token")), let lifetime = answer.member("expires_in")?.int64, lifetime > 0 else {
                throw fail("the response has no access_token / positive expires_in")
            }
        case .configuration:
            // OpenAPI: requestor and mvpds are optional (no MVPD integrated yet); present, they are typed.
            guard let requestor = answer.member("requestor") else { return }
            guard requestor.isObject else { throw fail("the response's \"requestor\" is not an object") }
            guard let mvpds = requestor.member("mvpds") else { return }
            guard mvpds.isArray else { throw fail("the response has no \"requestor.mvpds\" array") }
            for index in 0..<mvpds.count {
                guard let mvpd = mvpds.element(index), mvpd.isObject, mvpd.member("id")?.isString == true else {
                    throw fail("an MVPD is not an object with a string \"id\"")
                }
            }
        case .session:
            guard answer.member("actionName")?.isString == true, answer.member("actionType")?.isString == true else {
                throw fail("the response has no string \"actionName\" and \"actionType\"")
            }
            if let code = answer.member("code"), !code.isString { throw fail("the response's \"code\" is not a string") }
            if let url = answer.member("url"), !url.isString { throw fail("the response's \"url\" is not a string") }
        case .sessionInformation:
            if let code = answer.member("code"), !code.isString { throw fail("the response's \"code\" is not a string") }
        case .profiles:
            // OpenAPI: "profiles" is optional; absent, there is no profile (ResponseDecoder adds {}).
            guard let profiles = answer.member("profiles") else { return }
            guard profiles.isObject else { throw fail("the response's \"profiles\" is not an object") }
            var iter = json_object_iter(profiles)
            while let it = iter {
                defer { iter = json_object_iter_next(profiles, it) }
                let name = String(cString: json_object_iter_key(it)).prefix(64)
                guard let profile = json_object_iter_value(it), profile.isObject, profile.member("notAfter")?.int64 != nil else {
                    throw fail("profile '\(name)' is not an object with a numeric \"notAfter\"")
                }
                if let issuer = profile.member("issuer"), !issuer.isString { throw fail("profile '\(name)' has a non-string \"issuer\"") }
                if let type = profile.member("type"), !type.isString { throw fail("profile '\(name)' has a non-string \"type\"") }
                if let attributes = profile.member("attributes"), !attributes.isObject {
                    throw fail("profile '\(name)' has non-object \"attributes\"")
                }
            }
        case .decisions:
            guard let decisions = answer.member("decisions"), decisions.isArray else { throw fail("the response has no \"decisions\" array") }
            for index in 0..<decisions.count {
                guard let decision = decisions.element(index), decision.isObject, decision.member("authorized")?.bool != nil else {
                    throw fail("a decision is not an object with a boolean \"authorized\"")
                }
                if let resource = decision.member("resource"), !resource.isString { throw fail("a decision's \"resource\" is not a string") }
                if let token = decision.member("token"), !token.isObject || token.member("serializedToken").map({ !$0.isString }) == true {
                    throw fail("a decision's \"token\" is not an object with a string \"serializedToken\"")
                }
                if let error = decision.member("error"), !error.isObject { throw fail("a decision's \"error\" is not an object") }
            }
        case .logout:
            // OpenAPI: "logouts" is optional; absent, nothing is left to do (ResponseDecoder adds {}).
            guard let logouts = answer.member("logouts") else { return }
            guard logouts.isObject || logouts.isArray else { throw fail("the response's \"logouts\" is not an object") }
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
