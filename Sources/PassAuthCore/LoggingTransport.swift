import Glibc

/// Logs every HTTP exchange at "debug": method, endpoint, the URL path (never the query, headers or
/// bodies), the HTTP status or the failure's status name, and the duration. At "trace" also the
/// response size and content type. Messages go through the redactor like every log line.
struct LoggingTransport: HTTPTransport {
    let inner: HTTPTransport
    let logger: Logger

    func send(_ request: HTTPRequest) throws(PassAuthError) -> HTTPResponse {
        let started = Clock.monotonicMs()
        let path = LoggingTransport.pathOnly(request.url)
        do throws(PassAuthError) {
            let response = try inner.send(request)
            let elapsed = Clock.monotonicMs() - started
            logger.log(.debug, "\(request.method) \(path) (\(request.endpoint)) -> HTTP \(response.status) in \(elapsed) ms")
            logger.log(.trace, "\(request.endpoint): \(response.body.count) bytes, content type \(response.contentType ?? "none")")
            return response
        } catch {
            let elapsed = Clock.monotonicMs() - started
            logger.log(.debug, "\(request.method) \(path) (\(request.endpoint)) -> \(error.status.name) after \(elapsed) ms")
            throw error
        }
    }

    /// The URL without its query or fragment (a query may carry caller data; no secret travels in a
    /// URL, but logs keep to the minimum).
    static func pathOnly(_ url: String) -> String {
        String(url.prefix { $0 != "?" && $0 != "#" })
    }
}
