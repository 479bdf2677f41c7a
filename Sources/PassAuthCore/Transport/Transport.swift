import CCurl
import Glibc

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

/// libcurl-backed transport. Blocking calls (`send`) take an easy handle from a pool: each handle keeps
/// its own connections alive (sequential calls reuse one connection) and the handles share the DNS and
/// TLS session caches, so concurrent calls from many threads each get a handle without waiting for one
/// another. Submitted calls (`submit`) run on one CurlMulti thread, started on first use.
package final class CurlTransport: HTTPTransport, @unchecked Sendable {
    private let share: OpaquePointer
    // Idle easy handles; a handle is owned by exactly one thread between checkout and checkin.
    private let idle = Locked<[EasyHandle]>([])
    private let options: Options
    private let stats: Stats
    private let multi = Locked<CurlMulti?>(nil)

    package struct Options: Sendable {
        package var timeoutMs: Int
        package var connectTimeoutMs: Int
        package var caFile: String?
        package var maxResponseBytes: Int
        package var userAgent: String
        /// config "proxy"; nil leaves libcurl to the https_proxy / no_proxy environment.
        package var proxy: String? = nil
        /// Plain http without allowInsecureHttp: the connected peer must be a loopback address.
        package var requireLoopbackPeer = false
    }

    package init(options: Options, stats: Stats) throws(PassAuthError) {
        guard CurlGlobal.ready else { throw PassAuthError(.internal, "libcurl failed to initialise") }
        guard let share = ccurl_share_new() else { throw PassAuthError(.internal, "libcurl share handle allocation failed") }
        self.share = share
        self.options = options
        self.stats = stats
    }

    deinit {
        multi.withLock { $0 }?.shutdown()
        for handle in idle.withLock({ $0 }) { curl_easy_cleanup(handle.raw) }
        ccurl_share_free(share)
    }

    package func send(_ request: HTTPRequest) throws(PassAuthError) -> HTTPResponse {
        guard let handle = checkout() else { throw PassAuthError(.internal, "libcurl easy handle allocation failed") }
        defer { checkin(handle) }
        let exchange = CurlExchange(request: request, easy: handle.raw, options: options, share: ccurl_share_handle(share))
        return try exchange.outcome(curl_easy_perform(handle.raw), stats: stats).get()
    }

    package func submit(_ request: HTTPRequest, completion: @escaping HTTPCompletion) {
        let loop = multi.withLock { loop in
            if loop == nil { loop = CurlMulti(options: options, stats: stats) }
            return loop
        }
        guard let loop else {
            return completion(.failure(PassAuthError(.internal, "libcurl multi handle allocation failed")))
        }
        loop.submit(request, completion: completion)
    }

    private func checkout() -> EasyHandle? {
        if let handle = idle.withLock({ $0.popLast() }) { return handle }
        return curl_easy_init().map { EasyHandle(raw: $0) }
    }

    private func checkin(_ handle: EasyHandle) {
        idle.withLock { $0.append(handle) }
    }
}

/// curl_global_init is not thread-safe; Swift initialises globals exactly once.
enum CurlGlobal {
    static let ready: Bool = curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK
}
