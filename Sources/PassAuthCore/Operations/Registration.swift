/// The registration phase (DCR): client credentials obtained once and kept forever, an access token
/// kept until shortly before it expires. Callers on many threads and in many processes share one
/// registration and one token: the flight lock joins threads, the store lock joins processes, and the
/// store is re-read under the lock so a token another process just fetched is adopted, not repeated.
final class Registration: Sendable {
    private let config: ClientSettings
    private let store: StateStore
    private let transport: HTTPTransport
    private let stats: Stats
    private let redactor: Redactor
    private let logger: Logger
    private let flight = FlightLock()
    private let memory = Locked<(credentials: ClientCredentials?, token: AccessToken?)>((nil, nil))
    private let statementFingerprint: String

    init(config: ClientSettings, store: StateStore, transport: HTTPTransport, stats: Stats, redactor: Redactor, logger: Logger) {
        self.config = config
        self.store = store
        self.transport = transport
        self.stats = stats
        self.redactor = redactor
        self.logger = logger
        statementFingerprint = ClientCredentials.fingerprint(of: config.softwareStatement)
    }

    /// What `passauth_register` reports: no secret, only identifiers and lifetimes.
    struct Outcome {
        var credentials: ClientCredentials
        var token: AccessToken
        var registered: Bool
        var tokenFetched: Bool

        var json: JSON {
            var members: [(String, JSON)] = [("clientId", .string(credentials.clientId))]
            if let issuedAt = credentials.issuedAt { members.append(("clientIdIssuedAt", .int(issuedAt))) }
            members += [("accessTokenExpiresAt", .int(token.expiresAt)), ("registered", .bool(registered)),
                        ("tokenFetched", .bool(tokenFetched))]
            return .object(members)
        }
    }

    /// A usable access token; registers and fetches only when nothing usable is known.
    func token(device: Device) throws(PassAuthError) -> AccessToken {
        if let token = memory.withLock({ $0.token }), token.isFresh(at: Clock.nowMs()) { return token }
        return try ensure(device: device, rejected: nil).token
    }

    /// Called after the service answered 401 to `rejected`: fetches a new token unless another thread
    /// already replaced it.
    func token(after rejected: AccessToken, device: Device) throws(PassAuthError) -> AccessToken {
        try ensure(device: device, rejected: rejected.value).token
    }

    func ensure(device: Device, rejected: String? = nil) throws(PassAuthError) -> Outcome {
        let budget = config.timeoutMs * 4 + 5_000
        return try flight.run(timeoutMs: budget, what: "registration") { () throws(PassAuthError) -> Outcome in
            if let outcome = usable(memory.withLock { $0 }, rejected: rejected) { return outcome }
            return try store.withLock(timeoutMs: budget) { () throws(PassAuthError) -> Outcome in
                var state = try store.load()
                if let outcome = usable((state.credentials, state.accessToken), rejected: rejected) {
                    remember(outcome.credentials, outcome.token)
                    return outcome
                }
                var registered = false
                var credentials: ClientCredentials
                if let stored = state.credentials, stored.statementFingerprint == statementFingerprint {
                    credentials = stored
                } else {
                    credentials = try register(device: device)
                    registered = true
                    state.credentials = credentials
                    state.accessToken = nil
                    try store.save(state)
                }
                let token: AccessToken
                do throws(PassAuthError) {
                    token = try fetchToken(credentials, device: device)
                } catch where error.code == "invalid_client" && !registered {
                    // The credentials were revoked or regenerated: register again, once.
                    logger.log(.info, "client \(credentials.clientId) rejected as invalid_client; registering again")
                    credentials = try register(device: device)
                    registered = true
                    state.credentials = credentials
                    try store.save(state)
                    token = try fetchToken(credentials, device: device)
                }
                state.accessToken = token
                try store.save(state)
                remember(credentials, token)
                return Outcome(credentials: credentials, token: token, registered: registered, tokenFetched: true)
            }
        }
    }

    /// The service answered `application-registration` (other than a 401): forget the client whose token
    /// was rejected and register again. If another thread or process already replaced that client, its
    /// new registration is adopted instead of making a third.
    func reregister(device: Device, rejected: AccessToken?) throws(PassAuthError) {
        let budget = config.timeoutMs * 4 + 5_000
        try flight.run(timeoutMs: budget, what: "registration") { () throws(PassAuthError) in
            try store.withLock(timeoutMs: budget) { () throws(PassAuthError) in
                var state = try store.load()
                let stale = rejected == nil || state.accessToken == nil || state.accessToken?.value == rejected?.value
                guard stale else { return }
                logger.log(.info, "the service asked for a new application registration")
                state.credentials = nil
                state.accessToken = nil
                try store.save(state)
                memory.withLock { $0 = (nil, nil) }
            }
        }
        _ = try ensure(device: device, rejected: rejected?.value)
    }

    private func usable(_ known: (credentials: ClientCredentials?, token: AccessToken?), rejected: String?) -> Outcome? {
        guard let credentials = known.credentials, credentials.statementFingerprint == statementFingerprint,
              let token = known.token, token.value != rejected, token.isFresh(at: Clock.nowMs()) else { return nil }
        return Outcome(credentials: credentials, token: token, registered: false, tokenFetched: false)
    }

    private func remember(_ credentials: ClientCredentials, _ token: AccessToken) {
        redactor.hold(credentials.clientSecret, as: .clientSecret)
        redactor.hold(token.value, as: .accessToken)
        memory.withLock { $0 = (credentials, token) }
    }

    // MARK: - The two DCR calls

    private func register(device: Device) throws(PassAuthError) -> ClientCredentials {
        var body: [(String, JSON)] = [("software_statement", .string(config.softwareStatement))]
        if let uri = config.redirectUri { body.append(("redirect_uri", .string(uri))) }
        let request = HTTPRequest(
            method: "POST", url: config.baseURL + "/o/client/register",
            headers: dcrHeaders(device: device, contentType: "application/json;charset=utf-8"),
            body: Array(JSON.object(body).serialized().utf8), endpoint: "register")
        let document = try exchange(request)
        guard let id = document["client_id"]?.stringValue, !id.isEmpty,
              let secret = document["client_secret"]?.stringValue, !secret.isEmpty else {
            throw protocolError("register", "the response has no client_id / client_secret")
        }
        redactor.hold(secret, as: .clientSecret)
        stats.registrations.add()
        logger.log(.info, "registered client \(id)")
        return ClientCredentials(clientId: id, clientSecret: secret, issuedAt: document["client_id_issued_at"]?.int64Value,
                                 statementFingerprint: statementFingerprint)
    }

    private func fetchToken(_ credentials: ClientCredentials, device: Device) throws(PassAuthError) -> AccessToken {
        let form = URLEncoding.form([("grant_type", "client_credentials"), ("client_id", credentials.clientId),
                                     ("client_secret", credentials.clientSecret)])
        let request = HTTPRequest(
            method: "POST", url: config.baseURL + "/o/client/token",
            headers: dcrHeaders(device: device, contentType: "application/x-www-form-urlencoded"),
            body: Array(form.utf8), endpoint: "token")
        let obtainedAt = Clock.nowMs()
        let document = try exchange(request)
        guard let value = document["access_token"]?.stringValue, !value.isEmpty,
              let lifetime = document["expires_in"]?.int64Value, lifetime > 0 else {
            throw protocolError("token", "the response has no access_token / positive expires_in")
        }
        redactor.hold(value, as: .accessToken)
        stats.tokenFetches.add()
        // The local clock measures the lifetime, so clock skew with the service cannot shorten it.
        return AccessToken(value: value, obtainedAt: obtainedAt, expiresAt: obtainedAt + min(lifetime, 366 * 86_400) * 1000)
    }

    private func dcrHeaders(device: Device, contentType: String) -> [String] {
        var headers = ["Content-Type: " + contentType, "Accept: application/json"]
        // The device's info, else this host's unless config "defaultDeviceInfo" is false (then none).
        if let info = DeviceHeader.deviceInfo.value(for: device, hostInfo: config.defaultDeviceInfo) { headers.append("X-Device-Info: " + info) }
        if let agent = device.userAgent { headers.append("User-Agent: " + agent) }
        return headers
    }

    private func exchange(_ request: HTTPRequest) throws(PassAuthError) -> JSON {
        var response = try transport.send(request)
        guard (200..<300).contains(response.status) else {
            if response.status == 429 { stats.throttled.add() }
            // Scrub the body before anything reads it (as ResponseDecoder does for REST answers): an
            // error's fields and its excerpt are cut from it, and a secret the cut splits would
            // otherwise show its first characters.
            response.body = redactor.scrub(bytes: response.body)
            throw ResponseErrors.error(for: response, endpoint: request.endpoint).redacted(by: redactor)
        }
        do throws(JSONError) {
            let document = try JSON.parse(response.body)
            guard case .object = document else { throw JSONError(message: "not an object", line: 1, column: 0) }
            return document
        } catch {
            throw protocolError(request.endpoint, "the response is not a JSON object (\(error.message))")
        }
    }

    private func protocolError(_ endpoint: String, _ message: String) -> PassAuthError {
        var error = PassAuthError(.protocol, "\(endpoint): \(message)")
        error.endpoint = endpoint
        return error
    }
}
