/// A passauth client: one registration (DCR) for one service provider, usable for any number of
/// devices from any number of threads. The C handle `passauth_client` is one of these.
package final class Client: Sendable {
    package let config: ClientSettings
    package let stats = Stats()
    let redactor = Redactor()
    let logger: Logger
    /// The service's time (validity decisions), from the Date headers of its answers.
    package let clock: ServiceClock
    /// The client's state (registration, per-device profiles and MVPD choice) on its store, keyed
    /// by (origin, service provider).
    let state: ClientState
    let registration: Registration
    let service: Service
    /// Configuration answers per platform (see DeviceInfo.platformKey).
    let configurationCache = ExpiringCache<Answer>(capacity: 64)
    /// The polls of this process (SQLite and callback stores).
    package let poller = Poller()
    /// With a Redis store: the polls shared by the fleet (`poller` then stays idle, without threads).
    package let fleetPoller: FleetPoller?
    /// Preauthorization permits (never media tokens).
    let decisionCache = DecisionCache()
    /// When each (device, MVPD) profile was last refreshed after an authorization.
    let profileRefreshes = RateLimiter(capacity: 10_000)
    let refreshesInFlight = RefreshesInFlight()
    /// With a Redis store: logouts and profile invalidations shared with the fleet.
    let fleetEvents: FleetEvents?
    /// The Redis store was opened from the config (not handed in by the caller).
    private let ownsRedis: Bool
    /// X-Device-Info problems already logged (each once per client, so a back-end's log stays readable).
    private let reportedDeviceInfo = Locked<Set<String>>([])

    package init(config: ClientSettings, transport: HTTPTransport? = nil, store: StateStore? = nil,
                retryPolicy: RetryPolicy = RetryPolicy()) throws(PassAuthError) {
        self.config = config
        logger = Logger(level: config.logLevel, redactor: redactor)
        clock = ServiceClock(stats: stats)
        redactor.remember(config.softwareStatement)
        for secret in config.device.secrets { redactor.remember(secret) }
        var network: HTTPTransport
        if let transport {
            network = transport
        } else {
            network = try CurlTransport(
                options: .init(timeoutMs: config.timeoutMs, connectTimeoutMs: config.connectTimeoutMs, caFile: config.caFile,
                               maxResponseBytes: config.maxResponseBytes, userAgent: "passauth/\(Version.string)",
                               proxy: config.proxy, requireLoopbackPeer: config.requiresLoopbackPeer),
                stats: stats)
        }
        if config.logLevel >= .debug { network = LoggingTransport(inner: network, logger: logger) }
        state = try Client.state(config: config, store: store, redactor: redactor)
        let decoder = ResponseDecoder(redactor: redactor, stats: stats, clock: clock)
        registration = Registration(config: config, state: state, transport: network, decoder: decoder, stats: stats,
                                    redactor: redactor, logger: logger)
        // A Redis store also carries what the fleet shares: pacing, 429 waits, cache invalidations
        // (nothing connects before the first call).
        ownsRedis = store == nil && state.store is RedisStore
        let keys = state.keys, logger = logger, decisions = decisionCache, refreshes = refreshesInFlight
        let redis = (state.store as? RedisStore)?.client
        fleetEvents = redis.map { FleetEvents(redis: $0, keys: keys, decisions: decisions, refreshes: refreshes, logger: logger, timeoutMs: config.timeoutMs) }
        service = Service(config: config, transport: network, registration: registration, stats: stats, logger: logger,
                          decoder: decoder, policy: retryPolicy,
                          fleet: redis.map { FleetTurns(redis: $0, keys: keys, config: config, logger: logger) })
        fleetPoller = redis == nil ? nil : FleetPoller()
        let pollContext = PollContext(
            service: service,
            // Weak: the poller's threads must never keep a freed client alive.
            persist: { [weak self] found throws(PassAuthError) in
                guard let self else { throw PassAuthError(.cancelled, "the client was freed") }
                try self.rememberProfiles(answers: found)
            },
            stats: stats, logger: logger, clock: clock)
        if let fleetPoller, let redis, let events = fleetEvents {
            fleetPoller.attach(pollContext, fleet: FleetPollContext(redis: redis, polls: FleetPolls(keys: keys, instance: events.instance),
                                                                    timeoutMs: config.timeoutMs))
            stats.fleetInstance.withLock { $0 = events.instance }
            events.listenForPolls { [weak fleetPoller] event in fleetPoller?.noteEvent(event) }
            // The poller's threads start with the first use of Redis (never at creation), so an instance
            // takes its share of the fleet's polls before it starts one of its own.
            redis.whenUsed { [weak fleetPoller] in fleetPoller?.activate() }
        } else {
            poller.attach(pollContext)
        }
        try checkDeviceInfo(config.device)
    }

    /// Where polls run: the fleet's poller with a Redis store, else this process's.
    var polls: any PollScheduler { fleetPoller ?? poller }

    deinit {
        fleetPoller?.shutdown()
        poller.shutdown()
        fleetEvents?.close()
        // A Redis client this client opened (from the config's URL) stops its thread with it.
        if ownsRedis { (state.store as? RedisStore)?.client.shutdown() }
    }

    /// Starts polling `code` for a profile (see Poller). `intervalMs` is raised to the 3 s floor.
    package func poll(device: Device, code: String, options: PollOptions, callback: PollCallback?) throws(PassAuthError) -> Poll {
        let code = try AuthenticationCode.validated(code)
        _ = try device.stateKey(for: "polling")  // it keys the device's newest code
        return try polls.start(code: code, device: device, intervalMs: options.intervalMs ?? config.pollIntervalMs,
                                timeoutMs: options.timeoutMs, notAfter: options.notAfter, callback: callback)
    }

    /// The device a call acts for: the caller's, or the config's default.
    package func device(_ json: JSON?) throws(PassAuthError) -> Device {
        guard let json else { return config.device }
        let device = try Device(json: json)
        for secret in device.secrets { redactor.rememberRecent(secret) }
        try checkDeviceInfo(device)
        return device
    }

    /// The X-Device-Info appendix's rules: a warning (logged once per problem, counted every time),
    /// or under "strictDeviceInfo" an error naming the field.
    private func checkDeviceInfo(_ device: Device) throws(PassAuthError) {
        guard let info = device.info else { return }
        let problems = DeviceInfo.problems(info)
        guard let first = problems.first else { return }
        if config.strictDeviceInfo { throw .invalid(first.message, key: "device.info.\(first.field)") }
        stats.deviceInfoWarnings.add()
        for problem in problems where reportedDeviceInfo.withLock({ $0.count < 256 && $0.insert(problem.message).inserted }) {
            logger.log(.warn, "device \(device.id ?? "-"): \(problem.message)")
        }
    }

    /// The stored registration of this client's origin and service provider, without a request and
    /// without a secret: {"clientId", "clientIdIssuedAt"?, "accessTokenExpiresAt"?}; nil when none.
    package func storedRegistration() throws(PassAuthError) -> JSON? {
        guard let record = try state.readRegistration().record, let credentials = record.credentials else { return nil }
        var members: [(String, JSON)] = [("clientId", .string(credentials.clientId))]
        if let issued = credentials.issuedAt { members.append(("clientIdIssuedAt", .int(issued))) }
        if let token = record.token { members.append(("accessTokenExpiresAt", .int(token.expiresAt))) }
        return .object(members)
    }

    /// The Redis client of a Redis store (nil for any other store): its pool, scripts, publish and
    /// subscriptions (RedisClient) for fleet-wide features; `state.keys` names this client's keys.
    package var redis: RedisClient? { (state.store as? RedisStore)?.client }

    /// Where the state lives, for people: the store directory, the Redis URL (without credentials), or
    /// what names another store ("application store").
    package var storeLocation: String {
        if let sqlite = state.store as? SQLiteStore { return sqlite.directory }
        if let redis { return redis.url }
        return state.store.description
    }

    /// Ensures client credentials and a fresh access token (registering only when none is stored).
    package func register(device: Device) throws(PassAuthError) -> JSON {
        try registration.ensure(device: device).json
    }

    package func scrub(_ error: PassAuthError) -> PassAuthError { error.redacted(by: redactor) }

    /// The state of `config` on `store`, or on the store the config names (opened on first use).
    static func state(config: ClientSettings, store: StateStore?, redactor: Redactor) throws(PassAuthError) -> ClientState {
        if let secrets = config.storage.encryption { redactor.remember(secrets.encodedKey) }
        var legacyFile: String? = nil
        let backing: StateStore
        if let store {
            backing = store
        } else {
            switch config.storage.location {
            case .directory(let directory):
                let sqlite = SQLiteStore(directory: directory)
                legacyFile = sqlite.directory + "/" + LegacyStore.fileName(for: config.serviceProvider) + ".json"
                backing = sqlite
            case .redis(let location):
                if let password = location.password { redactor.remember(password) }
                backing = RedisStore(client: RedisClient(location: location, caFile: config.caFile))
            }
        }
        return ClientState(store: backing, keys: StateKeys(prefix: config.storage.keyPrefix, baseURL: config.baseURL,
                                                            serviceProvider: config.serviceProvider),
                           secrets: config.storage.encryption, timeoutMs: config.timeoutMs, legacyFile: legacyFile, redactor: redactor)
    }

    /// Imports a passauth 0.1 state file (`<store>/<serviceProvider>.json`, which records no origin)
    /// for this client's origin and service provider; see ClientState.importLegacyFile. Only for a
    /// file written for this client's base URL: its credentials are then sent there.
    package func importLegacyState(file: String) throws(PassAuthError) -> JSON {
        try state.importLegacyFile(file)
    }

    /// Sends log lines to `handler` instead of stderr (nil: stderr again).
    package func routeLogs(to handler: LogHandler?) { logger.route(to: handler) }
}
