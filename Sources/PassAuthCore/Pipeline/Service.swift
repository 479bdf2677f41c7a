/// One REST API V2 operation, described by its family file (Configuration, Sessions, …).
struct Operation {
    var method: String
    /// The path below the base URL with every caller-supplied segment already percent-encoded.
    var path: String
    var query: [(String, String)] = []
    var form: [(String, String)]? = nil
    /// A JSON body (decisions), sent as application/json.
    var json: JSON? = nil
    var endpoint: String
    /// Endpoints whose reference page marks AP-Device-Identifier as required.
    var requiresDeviceId = true

    /// The device headers this endpoint's reference page lists (only those are sent): EndpointHeaders.
    var deviceHeaders: Set<DeviceHeader> { EndpointHeaders.headers(for: endpoint) }
}

/// Executes REST API V2 operations for a device: builds the documented headers, attaches the access
/// token, refreshes it once on a 401 and retries the call once, turns failures into typed errors, and
/// applies RetryPolicy (action-driven retries, 429 waits per device, re-registration once).
final class Service: Sendable {
    private let config: ClientSettings
    private let transport: HTTPTransport
    private let registration: Registration
    private let stats: Stats
    private let redactor: Redactor
    let policy: RetryPolicy
    let throttle = ThrottleGate()
    /// nil when the config turns pacing off.
    private let pacer: Pacer?

    init(config: ClientSettings, transport: HTTPTransport, registration: Registration, stats: Stats, redactor: Redactor,
         policy: RetryPolicy = RetryPolicy()) {
        self.config = config
        self.policy = policy
        pacer = config.pacing ? Pacer(ratePerSecond: config.pacingRatePerSecond, burst: config.pacingBurst) : nil
        self.transport = transport
        self.registration = registration
        self.stats = stats
        self.redactor = redactor
    }

    func call(_ operation: Operation, device: Device) throws(PassAuthError) -> JSON {
        try checkDevice(operation, device)
        let key = RetryPolicy.deviceKey(device)
        var reregistered = false
        var attempt = 0
        while true {
            attempt += 1
            try throttle.waitTurn(for: key, timeoutMs: config.timeoutMs, endpoint: operation.endpoint)
            if let pacer { Clock.sleep(ms: try pacer.reserve(for: key, timeoutMs: config.timeoutMs, endpoint: operation.endpoint)) }
            var usedToken: AccessToken? = nil
            do throws(PassAuthError) {
                return try attemptOnce(operation, device: device, usedToken: &usedToken)
            } catch {
                if error.status == .throttled {
                    throttle.deferRequests(for: key, byMs: policy.throttleWait(retryAfterMs: error.retryAfterMs))
                }
                switch policy.verdict(for: error, attempt: attempt, reregistered: reregistered, timeoutMs: config.timeoutMs) {
                case .surface:
                    throw error
                case .retry(let delayMs):
                    stats.retries.add()
                    Clock.sleep(ms: Int64(delayMs))
                case .reregister:
                    reregistered = true
                    stats.retries.add()
                    try registration.reregister(device: device, rejected: usedToken)
                }
            }
        }
    }

    /// One exchange, with the checklist's 401 handling: refresh the access token once, retry once.
    private func attemptOnce(_ operation: Operation, device: Device, usedToken: inout AccessToken?) throws(PassAuthError) -> JSON {
        var token = try registration.token(device: device)
        usedToken = token
        var response = try transport.send(request(operation, device: device, token: token))
        if response.status == 401 {
            // Checklist: a 401 first refreshes the access token, then retries the original call, once.
            stats.unauthorizedRefreshes.add()
            token = try registration.token(after: token, device: device)
            usedToken = token
            response = try transport.send(request(operation, device: device, token: token))
        }
        return try decode(response, operation)
    }

    /// A 2xx answer as a JSON object with numeric timestamps; anything else as a typed error.
    private func decode(_ response: HTTPResponse, _ operation: Operation) throws(PassAuthError) -> JSON {
        guard (200..<300).contains(response.status) else {
            if response.status == 429 { stats.throttled.add() }
            throw ResponseErrors.error(for: response, endpoint: operation.endpoint).redacted(by: redactor)
        }
        do throws(JSONError) {
            let document = try JSON.parse(response.body)
            guard case .object = document else { throw JSONError(message: "expected an object, got \(document.typeName)", line: 1, column: 0) }
            return normalizingTimestamps(document)
        } catch {
            var failure = PassAuthError(.protocol, "\(operation.endpoint): the response is not a JSON object (\(error.message))")
            failure.endpoint = operation.endpoint
            failure.httpStatus = response.status
            failure.bodyExcerpt = ResponseErrors.excerpt(response.body).map(redactor.scrub)
            throw failure
        }
    }

    private func checkDevice(_ operation: Operation, _ device: Device) throws(PassAuthError) {
        if operation.requiresDeviceId && device.id == nil {
            throw .invalid("\(operation.endpoint) needs a device id: set 'id' in the device context or in the config's 'device'", key: "device.id")
        }
    }

    // MARK: - Exchanges run by the caller (the poller submits them to the transport itself)

    /// Milliseconds `device` must still wait before its next request (after a 429, or for its pacing
    /// budget); when 0 it may send now and a pacing token has been taken. Never sleeps.
    func readiness(for device: Device) -> Int64 {
        let key = RetryPolicy.deviceKey(device)
        let throttled = throttle.remainingMs(for: key)
        if throttled > 0 { return throttled }
        return pacer?.take(for: key) ?? 0
    }

    /// Runs `request` on the transport without waiting for it (see HTTPTransport.submit).
    func submit(_ request: HTTPRequest, completion: @escaping HTTPCompletion) {
        transport.submit(request, completion: completion)
    }

    /// The request for `operation` with a current access token; hand the outcome to `answer`.
    func prepare(_ operation: Operation, device: Device) throws(PassAuthError) -> (HTTPRequest, AccessToken) {
        try checkDevice(operation, device)
        let token = try registration.token(device: device)
        return (request(operation, device: device, token: token), token)
    }

    /// What `call` would return for one attempt's outcome, without retrying: a 401 renews the access
    /// token (the next request carries the new one) before its error is thrown, and a 429 defers the
    /// device's next request.
    func answer(_ outcome: Result<HTTPResponse, PassAuthError>, to operation: Operation, device: Device,
                token: AccessToken) throws(PassAuthError) -> JSON {
        do throws(PassAuthError) {
            let response = try outcome.get()
            if response.status == 401 {
                stats.unauthorizedRefreshes.add()
                _ = try registration.token(after: token, device: device)
            }
            return try decode(response, operation)
        } catch {
            if error.status == .throttled {
                throttle.deferRequests(for: RetryPolicy.deviceKey(device), byMs: policy.throttleWait(retryAfterMs: error.retryAfterMs))
            }
            throw error
        }
    }

    private func request(_ operation: Operation, device: Device, token: AccessToken) -> HTTPRequest {
        var url = config.baseURL + operation.path
        if !operation.query.isEmpty { url += "?" + URLEncoding.form(operation.query) }
        var headers: [(String, String)] = [("Authorization", "Bearer " + token.value), ("Accept", "application/json")]
        headers += EndpointHeaders.sent(for: operation.endpoint, device: device)
        var body: [UInt8]? = nil
        if let form = operation.form {
            headers.append(("Content-Type", "application/x-www-form-urlencoded"))
            body = Array(URLEncoding.form(form).utf8)
        } else if let json = operation.json {
            headers.append(("Content-Type", "application/json"))
            body = Array(json.serialized().utf8)
        }
        return HTTPRequest(method: operation.method, url: url, headers: headers, body: body, endpoint: operation.endpoint)
    }
}
