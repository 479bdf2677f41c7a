/// A passauth client: one registration (DCR) for one service provider, usable for any number of
/// devices from any number of threads. The C handle `passauth_client` is one of these.
public final class Client: Sendable {
    public let config: ClientSettings
    public let stats = Stats()
    let redactor = Redactor()
    let logger: Logger
    /// The client's state (registration, per-device profiles and MVPD choice) on its store, keyed
    /// by (origin, service provider).
    let state: ClientState
    let registration: Registration
    let service: Service
    let configurationCache = ExpiringCache(capacity: 64)
    public let poller = Poller()
    /// Preauthorization permits (never media tokens).
    let decisionCache = DecisionCache()

    public init(config: ClientSettings, transport: HTTPTransport? = nil, store: StateStore? = nil,
                retryPolicy: RetryPolicy = RetryPolicy()) throws(PassAuthError) {
        self.config = config
        logger = Logger(level: config.logLevel, redactor: redactor)
        redactor.remember(config.softwareStatement)
        for secret in config.device.secrets { redactor.remember(secret) }
        var network: HTTPTransport
        if let transport {
            network = transport
        } else {
            network = try CurlTransport(
                options: .init(timeoutMs: config.timeoutMs, connectTimeoutMs: config.connectTimeoutMs, caFile: config.caFile,
                               maxResponseBytes: config.maxResponseBytes, userAgent: "passauth/\(Version.string)"),
                stats: stats)
        }
        if config.logLevel >= .debug { network = LoggingTransport(inner: network, logger: logger) }
        state = try Client.state(config: config, store: store, redactor: redactor)
        registration = Registration(config: config, state: state, transport: network, stats: stats, redactor: redactor, logger: logger)
        service = Service(config: config, transport: network, registration: registration, stats: stats, redactor: redactor,
                          policy: retryPolicy)
        let serviceProvider = URLEncoding.segment(config.serviceProvider)
        poller.attach(PollContext(
            service: service,
            profileOperation: { Client.profileByCode($0, serviceProvider: serviceProvider) },
            sessionOperation: { Client.sessionByCode($0, serviceProvider: serviceProvider) },
            // Weak: the poller's threads must never keep a freed client alive.
            persist: { [weak self] found throws(PassAuthError) in
                guard let self else { throw PassAuthError(.cancelled, "the client was freed") }
                try self.rememberProfiles(found)
            }))
    }

    deinit { poller.shutdown() }

    /// Starts polling `code` for a profile (see Poller). `intervalMs` is raised to the 3 s floor.
    public func poll(device: Device, code: String, options: PollOptions, callback: PollCallback?) throws(PassAuthError) -> Poll {
        let code = try AuthenticationCode.validated(code)
        return try poller.start(code: code, device: device, intervalMs: options.intervalMs ?? config.pollIntervalMs,
                                timeoutMs: options.timeoutMs, notAfter: options.notAfter, callback: callback)
    }

    /// The device a call acts for: the caller's, or the config's default.
    public func device(_ json: JSON?) throws(PassAuthError) -> Device {
        guard let json else { return config.device }
        let device = try Device(json: json)
        for secret in device.secrets { redactor.rememberRecent(secret) }
        return device
    }

    /// Ensures client credentials and a fresh access token (registering only when none is stored).
    public func register(device: Device) throws(PassAuthError) -> JSON {
        try registration.ensure(device: device).json
    }

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
                throw .invalid("config key 'store': Redis store not available yet", key: "store")
            }
        }
        return ClientState(store: backing, keys: StateKeys(prefix: config.storage.keyPrefix, baseURL: config.baseURL,
                                                            serviceProvider: config.serviceProvider),
                           secrets: config.storage.encryption, timeoutMs: config.timeoutMs, legacyFile: legacyFile, redactor: redactor)
    }

    /// Imports a passauth 0.1 state file (`<store>/<serviceProvider>.json`, which records no origin)
    /// for this client's origin and service provider; see ClientState.importLegacyFile. Only for a
    /// file written for this client's base URL: its credentials are then sent there.
    public func importLegacyState(file: String) throws(PassAuthError) -> JSON {
        try state.importLegacyFile(file)
    }

    var serviceProviderSegment: String { URLEncoding.segment(config.serviceProvider) }

    public func scrub(_ error: PassAuthError) -> PassAuthError { error.redacted(by: redactor) }
}
