/// One HTTP exchange as the core sees it. `endpoint` names the service operation for statistics.
package struct HTTPRequest: Sendable {
    package var method: String
    package var url: String
    /// Header lines, "Name: value".
    package var headers: [String]
    package var body: [UInt8]?
    package var endpoint: String
    /// The exchange's whole budget (connect, send, answer); the call's remaining time.
    package var timeoutMs: Int

    package init(method: String, url: String, headers: [String] = [], body: [UInt8]? = nil, endpoint: String, timeoutMs: Int = 30_000) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.endpoint = endpoint
        self.timeoutMs = timeoutMs
    }

    /// The value of header `name` (ASCII case-insensitive), if sent.
    func header(_ name: String) -> String? {
        let prefix = name.lowercased() + ":"
        for line in headers where line.utf8.count > prefix.utf8.count && line.lowercased().hasPrefix(prefix) {
            return line.dropFirst(prefix.utf8.count).trimmingCharacters(in: " ")
        }
        return nil
    }

    /// Whether the request names its own User-Agent (the device's), else the library's is sent.
    var hasUserAgent: Bool { headers.contains { $0.hasPrefix("User-Agent:") } }
}

package struct HTTPResponse: Sendable {
    package var status: Int
    package var contentType: String?
    package var retryAfter: String?
    package var location: String?
    /// The service's clock at the answer (HTTP Date header), for ServiceClock.
    package var date: String? = nil
    package var body: [UInt8]

    var isJSON: Bool { contentType?.lowercased().containsBytes("json") ?? false }
}

/// The seam between the core and the network, so policy can be tested without sockets.
package protocol HTTPTransport: Sendable {
    /// One exchange on the calling thread.
    func send(_ request: HTTPRequest) throws(PassAuthError) -> HTTPResponse
    /// Starts `request` and calls `completion` exactly once with its outcome, on a thread of the
    /// transport's choosing; `completion` must be quick (it may run on a thread shared by many
    /// exchanges). The poller uses this to keep thousands of codes in flight on a few threads. The
    /// default runs `send` on the calling thread.
    func submit(_ request: HTTPRequest, completion: @escaping HTTPCompletion)
}

package typealias HTTPCompletion = @Sendable (Result<HTTPResponse, PassAuthError>) -> Void

extension HTTPTransport {
    package func submit(_ request: HTTPRequest, completion: @escaping HTTPCompletion) {
        do throws(PassAuthError) { completion(.success(try send(request))) } catch { completion(.failure(error)) }
    }
}
