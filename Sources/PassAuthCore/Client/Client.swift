/// A passauth client: one registration (DCR) for one service provider, usable for any number of
/// devices from any number of threads. The C handle `passauth_client` is one of these.
public final class Client: Sendable {
    public let config: ClientSettings
    public let stats = Stats()
    let redactor = Redactor()
    let logger: Logger
    /// The service's time (validity decisions), from the Date headers of its answers.
    package let clock: ServiceClock
    let store: StateStore
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
        clock = ServiceClock(stats: stats)
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
        self.store = store ?? FileStore(directory: config.storeDirectory, serviceProvider: config.serviceProvider)
        registration = Registration(config: config, store: self.store, transport: network, stats: stats, redactor: redactor, logger: logger)
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
            },
            stats: stats, logger: logger, clock: clock))
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

    var serviceProviderSegment: String { URLEncoding.segment(config.serviceProvider) }

    public func scrub(_ error: PassAuthError) -> PassAuthError { error.redacted(by: redactor) }

    /// Sends log lines to `handler` instead of stderr (nil: stderr again).
    public func routeLogs(to handler: LogHandler?) { logger.route(to: handler) }
}
