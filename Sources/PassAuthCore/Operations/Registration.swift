/// The registration phase (DCR): client credentials obtained once and kept, an access token kept until
/// shortly before it expires, both stored per (origin, service provider) in the registration record
/// (ClientState). Callers on many threads and in many processes share one registration and one token:
/// the flight lock joins threads, the store's registration lock joins processes and hosts, and the
/// record is re-read under the lock so what another process just did is adopted, not repeated. Every
/// write is conditional on the version read under the lock: a writer that paused (its lock lease
/// expired meanwhile) can never overwrite newer state; it re-reads and adopts it.
///
/// A new registration that replaces a client ("re-registration": the service rejected the client as
/// invalid_client, answered action application-registration, or the software statement changed) logs
/// every user of the old client out (DCR FAQ), so it is governed: config "reregister" "never" refuses
/// it (PASSAUTH_E_REGISTRATION, code reregistration_refused), otherwise it is logged at warn with the
/// old client id and counted in Stats.reregistrations. The old credentials stay stored until the new
/// ones are: a DCR call that fails (5xx, transport) leaves them in place.
final class Registration: Sendable {
    private let config: ClientSettings
    private let state: ClientState
    private let transport: HTTPTransport
    private let decoder: ResponseDecoder
    private let stats: Stats
    private let redactor: Redactor
    private let logger: Logger
    private let flight = FlightLock()
    private let memory = Locked<(credentials: ClientCredentials?, token: AccessToken?)>((nil, nil))
    private let statementFingerprint: String

    init(config: ClientSettings, state: ClientState, transport: HTTPTransport, decoder: ResponseDecoder, stats: Stats,
         redactor: Redactor, logger: Logger) {
        self.config = config
        self.state = state
        self.transport = transport
        self.decoder = decoder
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

    /// Time allowed for one registration: two DCR requests and the waits for the locks.
    private var budgetMs: Int { config.timeoutMs * 4 + 5_000 }

    /// A usable access token; registers and fetches only when nothing usable is known.
    func token(device: Device) throws(PassAuthError) -> AccessToken {
        if let token = memory.withLock({ $0.token }), token.isFresh(at: Clock.nowMs()) { return token }
        return try ensure(device: device, rejected: nil).token
    }

    /// Called after the service answered 401 to `rejected`: fetches a new token unless another thread
    /// or process already replaced it.
    func token(after rejected: AccessToken, device: Device) throws(PassAuthError) -> AccessToken {
        try ensure(device: device, rejected: rejected.value).token
    }

    /// Credentials and a fresh token: from memory, else from the store (no lock), else obtained under
    /// the registration lock. `rejected`: a token value the service refused (never adopted again).
    func ensure(device: Device, rejected: String? = nil) throws(PassAuthError) -> Outcome {
        try flight.run(timeoutMs: budgetMs, what: "registration") { () throws(PassAuthError) -> Outcome in
            if let outcome = usable(memory.withLock { ($0.credentials, $0.token) }, rejected: rejected) { return outcome }
            let (record, _) = try state.readRegistration()
            if let outcome = usable((record?.credentials, record?.token), rejected: rejected) {
                remember(outcome.credentials, outcome.token)
                return outcome
            }
            return try state.withRegistrationLock(timeoutMs: budgetMs) { () throws(PassAuthError) -> Outcome in
                try obtain(device: device, rejectedToken: rejected, rejectedClient: nil)
            }
        }
    }

    /// The service answered `application-registration` (other than a 401): the client whose token was
    /// rejected is replaced by a new registration, once, unless another thread or process already
    /// replaced it (its client is then adopted instead of making a third). Governed by "reregister".
    func reregister(device: Device, rejected: AccessToken?) throws(PassAuthError) {
        let rejectedClient = rejected?.clientId ?? memory.withLock { $0.credentials?.clientId }
        _ = try flight.run(timeoutMs: budgetMs, what: "registration") { () throws(PassAuthError) -> Outcome in
            try state.withRegistrationLock(timeoutMs: budgetMs) { () throws(PassAuthError) -> Outcome in
                try obtain(device: device, rejectedToken: rejected?.value, rejectedClient: rejectedClient,
                           reason: "the service answered action application-registration")
            }
        }
    }

    /// Under the registration lock: adopts what the store holds when usable, else fetches a token
    /// for the stored client, registering (again) only when there is no usable client. Restarts from a
    /// fresh read when another writer changed the record meanwhile (a lock lease that expired).
    private func obtain(device: Device, rejectedToken: String?, rejectedClient: String?,
                        reason: String? = nil) throws(PassAuthError) -> Outcome {
        for _ in 0..<3 {
            let (record, version) = try state.readRegistration()
            let stored = record?.credentials.flatMap { $0.statementFingerprint == statementFingerprint ? $0 : nil }
            let rejectedHere = rejectedClient != nil && stored?.clientId == rejectedClient
            if !rejectedHere, let outcome = usable((record?.credentials, record?.token), rejected: rejectedToken) {
                remember(outcome.credentials, outcome.token)
                return outcome
            }
            var credentials: ClientCredentials
            var registered = false
            var expected = version
            if let stored, !rejectedHere {
                credentials = stored
            } else {
                // No client, a client of another software statement, or the rejected one: a new one.
                let why = record?.credentials == nil ? nil
                    : stored == nil ? "the software statement in the config changed"
                    : reason ?? "the service rejected client \(stored!.clientId)"
                guard let (fresh, newVersion) = try registerNew(replacing: record?.credentials, reason: why,
                                                                record: record, expectedVersion: version, device: device)
                else { continue }
                credentials = fresh
                expected = newVersion
                registered = true
            }
            var token: AccessToken
            do throws(PassAuthError) {
                token = try fetchToken(credentials, device: device)
            } catch where error.code == "invalid_client" && !registered {
                // The credentials were revoked or regenerated: register again, once.
                guard let (fresh, newVersion) = try registerNew(
                    replacing: credentials, reason: "the service rejected client \(credentials.clientId) as invalid_client",
                    record: record, expectedVersion: expected, device: device)
                else { continue }
                credentials = fresh
                expected = newVersion
                registered = true
                token = try fetchToken(credentials, device: device)
            }
            token.clientId = credentials.clientId
            guard try state.writeRegistration(RegistrationRecord(credentials: credentials, token: token), expectedVersion: expected) != nil else {
                // Someone else wrote meanwhile: adopt theirs on the next round (ours stays valid for
                // this call at least).
                logger.log(.info, "the registration of \(state.keys.origin) changed while a token was fetched; adopting the stored one")
                continue
            }
            remember(credentials, token)
            return Outcome(credentials: credentials, token: token, registered: registered, tokenFetched: true)
        }
        throw PassAuthError(.store, "the registration of \(state.keys.origin) in \(state.store.description) kept changing while this process tried to update it; try again")
    }

    /// A new DCR registration, stored in place of `old` (conditional on `expectedVersion`, the version
    /// the decision was taken on). nil: the record changed meanwhile (the new client is not stored;
    /// re-read and adopt). The old credentials stay stored until then: a failing DCR call changes
    /// nothing.
    private func registerNew(replacing old: ClientCredentials?, reason: String?, record: RegistrationRecord?,
                             expectedVersion: UInt64, device: Device) throws(PassAuthError) -> (ClientCredentials, UInt64)? {
        if let old {
            guard config.reregister == .auto else {
                var error = PassAuthError(.registration, """
                    re-registration is disabled (config "reregister" is "never"): \(reason ?? "a new registration is needed"); \
                    a new registration would replace client \(old.clientId) and log every user of it out (DCR FAQ). The stored \
                    credentials were kept; set "reregister" to "auto" to allow it
                    """)
                error.code = "reregistration_refused"
                error.endpoint = "register"
                throw error
            }
        }
        let fresh = try register(device: device)
        guard let version = try state.writeRegistration(RegistrationRecord(credentials: fresh, token: nil), expectedVersion: expectedVersion) else {
            logger.log(.warn, "registered client \(fresh.clientId), but another process changed the registration of \(state.keys.origin) meanwhile; adopting the stored one")
            return nil
        }
        if let old {
            stats.reregistrations.add()
            logger.log(.warn, "re-registered with \(state.keys.origin): client \(old.clientId) replaced by \(fresh.clientId) (\(reason ?? "a new registration was needed")); every user of the old client is logged out")
        }
        memory.withLock { $0 = (fresh, nil) }
        return (fresh, version)
    }

    private func usable(_ known: (credentials: ClientCredentials?, token: AccessToken?), rejected: String?) -> Outcome? {
        guard let credentials = known.credentials, credentials.statementFingerprint == statementFingerprint,
              let token = known.token, token.value != rejected, token.isFresh(at: Clock.nowMs()) else { return nil }
        return Outcome(credentials: credentials, token: token, registered: false, tokenFetched: false)
    }

    private func remember(_ credentials: ClientCredentials, _ token: AccessToken) {
        redactor.hold(credentials.clientSecret, as: .clientSecret)
        redactor.hold(token.value, as: .accessToken)
        var token = token
        token.clientId = credentials.clientId
        memory.withLock { $0 = (credentials, token) }
    }

    // MARK: - The two DCR calls

    private func register(device: Device) throws(PassAuthError) -> ClientCredentials {
        var body: [(String, JSON)] = [("software_statement", .string(config.softwareStatement))]
        if let uri = config.redirectUri { body.append(("redirect_uri", .string(uri))) }
        let answer = try exchange(.register, device: device, contentType: "application/json;charset=utf-8",
                                  body: Array(JSON.object(body).serialized().utf8))
        // Both present and non-empty: the decoder checked the answer's shape (ResponseShape.registration).
        let id = answer["client_id"]?.stringValue ?? "", secret = answer["client_secret"]?.stringValue ?? ""
        redactor.hold(secret, as: .clientSecret)
        stats.registrations.add()
        logger.log(.info, "registered client \(id)")
        // RFC 7591's client_id_issued_at is in seconds; every time the library hands out is in ms.
        return ClientCredentials(clientId: id, clientSecret: secret, issuedAt: answer["client_id_issued_at"]?.int64Value.map { $0 &* 1000 },
                                 statementFingerprint: statementFingerprint)
    }

    private func fetchToken(_ credentials: ClientCredentials, device: Device) throws(PassAuthError) -> AccessToken {
        let form = URLEncoding.form([("grant_type", "client_credentials"), ("client_id", credentials.clientId),
                                     ("client_secret", credentials.clientSecret)])
        let obtainedAt = Clock.nowMs()
        let answer = try exchange(.token, device: device, contentType: "application/x-www-form-urlencoded", body: Array(form.utf8))
        // Shape-checked (ResponseShape.token): a non-empty access_token, a positive expires_in.
        let value = answer["access_token"]?.stringValue ?? "", lifetime = answer["expires_in"]?.int64Value ?? 0
        redactor.hold(value, as: .accessToken)
        stats.tokenFetches.add()
        // The local clock measures the lifetime, so clock skew with the service cannot shorten it.
        return AccessToken(value: value, obtainedAt: obtainedAt, expiresAt: obtainedAt + min(lifetime, 366 * 86_400) * 1000)
    }

    /// One DCR call, decoded like every other answer (ResponseDecoder: typed errors, shape check).
    private func exchange(_ endpoint: Endpoint, device: Device, contentType: String, body: [UInt8]) throws(PassAuthError) -> Answer {
        // The DCR pages' headers: X-Device-Info (the device's, else this host's unless config
        // "defaultDeviceInfo" is false) and User-Agent.
        let headers = ["Content-Type: " + contentType, "Accept: application/json"]
            + device.headerLines(for: endpoint, hostInfo: config.defaultDeviceInfo)
        let request = HTTPRequest(method: endpoint.method, url: config.baseURL + endpoint.path(serviceProvider: ""),
                                  headers: headers, body: body, endpoint: endpoint.name)
        return try decoder.decode(try transport.send(request), endpoint: endpoint)
    }
}
