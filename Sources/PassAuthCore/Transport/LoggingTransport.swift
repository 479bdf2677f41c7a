import Glibc

/// Logs every HTTP exchange at "debug": method, endpoint, the URL path (never the query, headers or
/// bodies), the HTTP status or the failure's status name, and the duration. At "trace" also the
/// response size and content type. Messages go through the redactor like every log line.
struct LoggingTransport: HTTPTransport {
    let inner: HTTPTransport
    let logger: Logger

    func send(_ request: HTTPRequest) throws(PassAuthError) -> HTTPResponse {
        let started = Clock.monotonicMs()
        do throws(PassAuthError) {
            let response = try inner.send(request)
            LoggingTransport.log(logger, request, .success(response), since: started)
            return response
        } catch {
            LoggingTransport.log(logger, request, .failure(error), since: started)
            throw error
        }
    }

    func submit(_ request: HTTPRequest, completion: @escaping HTTPCompletion) {
        let started = Clock.monotonicMs()
        inner.submit(request) { [logger] outcome in
            LoggingTransport.log(logger, request, outcome, since: started)
            completion(outcome)
        }
    }

    private static func log(_ logger: Logger, _ request: HTTPRequest, _ outcome: Result<HTTPResponse, PassAuthError>, since started: Int64) {
        let elapsed = Clock.monotonicMs() - started
        let path = LoggingTransport.pathOnly(request.url)
        switch outcome {
        case .success(let response):
            logger.log(.debug, "\(request.method) \(path) (\(request.endpoint)) -> HTTP \(response.status) in \(elapsed) ms")
            logger.log(.trace, "\(request.endpoint): \(response.body.count) bytes, content type \(response.contentType ?? "none")")
        case .failure(let error):
            logger.log(.debug, "\(request.method) \(path) (\(request.endpoint)) -> \(error.status.name) after \(elapsed) ms")
        }
    }

    /// The URL without its query or fragment (a query may carry caller data; no secret travels in a
    /// URL, but logs keep to the minimum).
    static func pathOnly(_ url: String) -> String {
        String(url.prefix { $0 != "?" && $0 != "#" })
    }
}
