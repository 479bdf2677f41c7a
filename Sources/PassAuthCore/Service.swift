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
    /// Whether RetryPolicy may repeat the call. The poller turns it off: it has its own cadence, and a
    /// retry inside one poll step would put two requests for a code closer than 3 s.
    var retriable = true

    /// The device headers this endpoint's reference page lists (only those are sent): EndpointHeaders.
    var deviceHeaders: Set<DeviceHeader> { EndpointHeaders.headers(for: endpoint) }
}

/// Executes REST API V2 operations for a device: builds the documented headers, attaches the access
/// token, refreshes it once on a 401 and retries the call once, turns failures into typed errors, and
/// applies RetryPolicy (action-driven retries, 429 waits per device, re-registration once).
final class Service: Sendable {
    private let config: Configuration
    private let transport: HTTPTransport
    private let registration: Registration
    private let stats: Stats
    private let redactor: Redactor
    let policy: RetryPolicy
    let throttle = ThrottleGate()
    /// nil when the config turns pacing off.
    private let pacer: Pacer?

    init(config: Configuration, transport: HTTPTransport, registration: Registration, stats: Stats, redactor: Redactor,
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
        if operation.requiresDeviceId && device.id == nil {
            throw .invalid("\(operation.endpoint) needs a device id: set 'id' in the device context or in the config's 'device'", key: "device.id")
        }
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
                let verdict = operation.retriable
                    ? policy.verdict(for: error, attempt: attempt, reregistered: reregistered, timeoutMs: config.timeoutMs)
                    : .surface
                switch verdict {
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
