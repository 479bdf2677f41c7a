/// A request body: a form (sessions, partner SSO, DCR token) or a JSON document (decisions, DCR
/// register), already serialised.
enum RequestBody {
    case form([(String, String)])
    case json([UInt8])
}

/// Executes the service's operations for a device, the one road every call takes from the C entry
/// point to libcurl and back: the device's turn (429 waits, pacing), the access token, the request
/// built from the Endpoint table, the exchange, one token refresh on a 401, the answer decoded and
/// shape-checked (ResponseDecoder), and RetryPolicy's verdict on failures. Polls take the same road
/// one exchange at a time (`prepare` / `answer`), with the same policy.
final class Service: Sendable {
    private let config: ClientSettings
    private let transport: HTTPTransport
    let registration: Registration
    private let stats: Stats
    private let logger: Logger
    let decoder: ResponseDecoder
    let policy: RetryPolicy
    let throttle = ThrottleGate()
    /// nil when the config turns pacing off.
    private let pacer: Pacer?
    /// With a Redis store: pacing and 429 waits shared by the fleet (the local ones when unreachable).
    let fleet: FleetTurns?
    /// The service provider as a path segment.
    let serviceProvider: String
    /// "Authorization: Bearer <token>" of the current token, built once per token.
    private let bearer = Locked<(token: String, line: String)>(("", ""))

    init(config: ClientSettings, transport: HTTPTransport, registration: Registration, stats: Stats, logger: Logger,
         decoder: ResponseDecoder, policy: RetryPolicy = RetryPolicy(), fleet: FleetTurns? = nil) {
        self.config = config
        self.transport = transport
        self.registration = registration
        self.stats = stats
        self.logger = logger
        self.decoder = decoder
        self.policy = policy
        self.fleet = fleet
        pacer = config.pacing ? Pacer(ratePerSecond: config.pacingRatePerSecond, burst: config.pacingBurst) : nil
        serviceProvider = URLEncoding.segment(config.serviceProvider)
    }

    /// One service call with its retries; the answer, or the error RetryPolicy surfaces. `timeoutMs`
    /// bounds the whole call: attempts, backoffs and waits for the device's turn.
    func call(_ endpoint: Endpoint, argument: String = "", query: [(String, String)] = [], body: RequestBody? = nil,
              device: Device) throws(PassAuthError) -> Answer {
        try checkDevice(endpoint, device)
        let deadline = Clock.monotonicMs() + Int64(config.timeoutMs)
        let key = RetryPolicy.deviceKey(device)
        var reregistered = false
        var attempt = 0
        while true {
            attempt += 1
            var usedToken: AccessToken? = nil
            do throws(PassAuthError) {
                try awaitTurn(key, endpoint, deadline: deadline)
                return try attemptOnce(endpoint, argument, query, body, device, deadline: deadline, usedToken: &usedToken)
            } catch {
                if let wait = deferDevice(key, after: error) {
                    logger.log(.info, "\(endpoint.name) for device \(device.id ?? key): throttled (429); the device waits \(wait) ms")
                }
                switch policy.verdict(for: error, attempt: attempt, reregistered: reregistered, remainingMs: Service.remaining(deadline)) {
                case .surface:
                    if (error.httpStatus ?? 0) >= 500 {
                        logger.log(.warn, "\(endpoint.name) for device \(device.id ?? key): HTTP \(error.httpStatus ?? 0) \(error.code ?? "")")
                    }
                    throw error
                case .retry(let delay):
                    stats.retries.add()
                    logger.log(.info, "\(endpoint.name) for device \(device.id ?? key): \(error.message); attempt \(attempt + 1) of \(policy.maxAttempts) in \(delay) ms")
                    // A 429's wait happens in awaitTurn, where every call of the device observes it.
                    if error.status != .throttled { Clock.sleep(ms: Int64(delay)) }
                case .reregister:
                    reregistered = true
                    stats.retries.add()
                    try registration.reregister(device: device, rejected: usedToken)
                }
            }
        }
    }

    /// One exchange, with the checklist's 401 handling: refresh the access token once, retry once.
    private func attemptOnce(_ endpoint: Endpoint, _ argument: String, _ query: [(String, String)], _ body: RequestBody?,
                             _ device: Device, deadline: Int64, usedToken: inout AccessToken?) throws(PassAuthError) -> Answer {
        var token = try registration.token(device: device)
        usedToken = token
        var response = try transport.send(request(endpoint, argument, query, body, device, token: token, deadline: deadline))
        if response.status == 401 {
            stats.unauthorizedRefreshes.add()
            token = try registration.token(after: token, device: device)
            usedToken = token
            response = try transport.send(request(endpoint, argument, query, body, device, token: token, deadline: deadline))
        }
        return try decoder.decode(response, endpoint: endpoint)
    }

    /// Waits for the device's turn: after a 429, and for its pacing budget. Fails at once with
    /// PASSAUTH_E_THROTTLED when the wait would overrun the call's deadline.
    private func awaitTurn(_ key: String, _ endpoint: Endpoint, deadline: Int64) throws(PassAuthError) {
        if let fleet, try fleet.awaitTurn(key, endpoint: endpoint.name, deadline: deadline) { return }
        try throttle.waitTurn(for: key, timeoutMs: Service.remaining(deadline), endpoint: endpoint.name)
        if let pacer { Clock.sleep(ms: try pacer.reserve(for: key, timeoutMs: Service.remaining(deadline), endpoint: endpoint.name)) }
    }

    static func remaining(_ deadline: Int64) -> Int { Int(clamping: max(deadline - Clock.monotonicMs(), 0)) }

    private func checkDevice(_ endpoint: Endpoint, _ device: Device) throws(PassAuthError) {
        if endpoint.requiresDeviceId { _ = try device.stateKey(for: endpoint.name) }
    }

    // MARK: - Exchanges run by the caller (the poller submits them to the transport itself)

    /// Milliseconds `device` must still wait before its next request (after a 429, or for its pacing
    /// budget); when 0 it may send now and a pacing token has been taken. Never sleeps.
    func readiness(for device: Device) -> Int64 {
        let key = RetryPolicy.deviceKey(device)
        if let fleet, let wait = fleet.readiness(key) { return wait }
        return localReadiness(key)
    }

    /// `readiness` of many devices with one Redis round trip (the fleet poller's round); the local
    /// pacer answers for those Redis could not.
    func readiness(for devices: [Device]) -> [Int64] {
        let keys = devices.map(RetryPolicy.deviceKey)
        let shared = fleet?.readiness(keys) ?? []
        return keys.indices.map { index in
            if index < shared.count, let wait = shared[index] { return wait }
            return localReadiness(keys[index])
        }
    }

    private func localReadiness(_ key: String) -> Int64 {
        let throttled = throttle.remainingMs(for: key)
        if throttled > 0 { return throttled }
        return pacer?.take(for: key) ?? 0
    }

    /// Runs `request` on the transport without waiting for it (see HTTPTransport.submit).
    func submit(_ request: HTTPRequest, completion: @escaping HTTPCompletion) {
        transport.submit(request, completion: completion)
    }

    /// The request for one exchange of `endpoint` with a current access token; hand the outcome to
    /// `answer`.
    /// `timeoutMs` (at most the config's) bounds the exchange when given.
    func prepare(_ endpoint: Endpoint, argument: String = "", query: [(String, String)] = [], body: RequestBody? = nil,
                 device: Device, timeoutMs: Int? = nil) throws(PassAuthError) -> (HTTPRequest, AccessToken) {
        try checkDevice(endpoint, device)
        let token = try registration.token(device: device)
        let deadline = Clock.monotonicMs() + Int64(min(timeoutMs ?? config.timeoutMs, config.timeoutMs))
        return (request(endpoint, argument, query, body, device, token: token, deadline: deadline), token)
    }

    /// What one exchange's outcome means, without retrying: the answer, or the error after its side
    /// effects (a 401 renews the access token for the next request; a 429 defers the device).
    func answer(_ outcome: Result<HTTPResponse, PassAuthError>, to endpoint: Endpoint, device: Device,
                token: AccessToken) throws(PassAuthError) -> Answer {
        do throws(PassAuthError) {
            let response = try outcome.get()
            if response.status == 401 {
                stats.unauthorizedRefreshes.add()
                _ = try registration.token(after: token, device: device)
            }
            return try decoder.decode(response, endpoint: endpoint)
        } catch {
            deferDevice(RetryPolicy.deviceKey(device), after: error)
            throw error
        }
    }

    /// After a 429, every request of the device waits (here and, with a Redis store, fleet-wide); the
    /// wait, or nil for any other error.
    @discardableResult
    private func deferDevice(_ key: String, after error: PassAuthError) -> Int? {
        guard error.httpStatus == 429, case .throttled(let wait) = policy.classify(error) else { return nil }
        throttle.deferRequests(for: key, byMs: wait)
        fleet?.deferRequests(key, byMs: wait)
        return wait
    }

    private func request(_ endpoint: Endpoint, _ argument: String, _ query: [(String, String)], _ body: RequestBody?,
                         _ device: Device, token: AccessToken, deadline: Int64) -> HTTPRequest {
        var url = config.baseURL + endpoint.path(serviceProvider: serviceProvider, argument: argument)
        if !query.isEmpty { url += "?" + URLEncoding.form(query) }
        let authorization: String = bearer.withLock { cached in
            if cached.token != token.value { cached = (token.value, "Authorization: Bearer " + token.value) }
            return cached.line
        }
        var headers = [authorization, "Accept: application/json"]
        headers += device.headerLines(for: endpoint, hostInfo: config.defaultDeviceInfo)
        var bytes: [UInt8]? = nil
        switch body {
        case .form(let pairs)?:
            headers.append("Content-Type: application/x-www-form-urlencoded")
            bytes = Array(URLEncoding.form(pairs).utf8)
        case .json(let text)?:
            headers.append("Content-Type: application/json")
            bytes = text
        case nil:
            break
        }
        return HTTPRequest(method: endpoint.method, url: url, headers: headers, body: bytes, endpoint: endpoint.name,
                           timeoutMs: Service.remaining(deadline))
    }
}
