/// One REST API V2 operation, described by its family file (Configuration, Sessions, …).
struct Operation {
    var method: String
    /// The path below the base URL with every caller-supplied segment already percent-encoded.
    var path: String
    var query: [(String, String)] = []
    var form: [(String, String)]? = nil
    var endpoint: String
    /// Endpoints whose reference page marks AP-Device-Identifier as required.
    var requiresDeviceId = true
    /// The device headers this endpoint's reference page lists (only those are sent).
    var deviceHeaders: Set<DeviceHeader> = .streamingDevice
}

/// Executes REST API V2 operations for a device: builds the documented headers, attaches the access
/// token, refreshes it once on a 401 and retries the call once, and turns failures into typed errors.
final class Service: Sendable {
    private let config: Configuration
    private let transport: HTTPTransport
    private let registration: Registration
    private let stats: Stats
    private let redactor: Redactor

    init(config: Configuration, transport: HTTPTransport, registration: Registration, stats: Stats, redactor: Redactor) {
        self.config = config
        self.transport = transport
        self.registration = registration
        self.stats = stats
        self.redactor = redactor
    }

    func call(_ operation: Operation, device: Device) throws(PassAuthError) -> JSON {
        if operation.requiresDeviceId && device.id == nil {
            throw .invalid("\(operation.endpoint) needs a device id: set 'id' in the device context or in the config's 'device'", key: "device.id")
        }
        var token = try registration.token(device: device)
        var response = try transport.send(request(operation, device: device, token: token))
        if response.status == 401 {
            // Checklist: a 401 first refreshes the access token, then retries the original call, once.
            stats.unauthorizedRefreshes.add()
            token = try registration.token(after: token, device: device)
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
        for header in DeviceHeader.allCases where operation.deviceHeaders.contains(header) {
            if let value = header.value(for: device) { headers.append((header.rawValue, value)) }
        }
        var body: [UInt8]? = nil
        if let form = operation.form {
            headers.append(("Content-Type", "application/x-www-form-urlencoded"))
            body = Array(URLEncoding.form(form).utf8)
        }
        return HTTPRequest(method: operation.method, url: url, headers: headers, body: body, endpoint: operation.endpoint)
    }
}
