import CCurl
import Glibc

/// One HTTP exchange as the core sees it. `endpoint` names the service operation for statistics.
public struct HTTPRequest: Sendable {
    public var method: String
    public var url: String
    public var headers: [(String, String)]
    public var body: [UInt8]?
    public var endpoint: String

    public init(method: String, url: String, headers: [(String, String)] = [], body: [UInt8]? = nil, endpoint: String) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.endpoint = endpoint
    }
}

public struct HTTPResponse: Sendable {
    public var status: Int
    public var contentType: String?
    public var retryAfter: String?
    public var location: String?
    public var body: [UInt8]

    var isJSON: Bool { contentType?.lowercased().contains("json") ?? false }
}

/// The seam between the core and the network, so policy can be tested without sockets.
public protocol HTTPTransport: Sendable {
    /// One exchange on the calling thread.
    func send(_ request: HTTPRequest) throws(PassAuthError) -> HTTPResponse
    /// Starts `request` and calls `completion` exactly once with its outcome, on a thread of the
    /// transport's choosing; `completion` must be quick (it may run on a thread shared by many
    /// exchanges). The poller uses this to keep thousands of codes in flight on a few threads. The
    /// default runs `send` on the calling thread.
    func submit(_ request: HTTPRequest, completion: @escaping HTTPCompletion)
}

public typealias HTTPCompletion = @Sendable (Result<HTTPResponse, PassAuthError>) -> Void

extension HTTPTransport {
    public func submit(_ request: HTTPRequest, completion: @escaping HTTPCompletion) {
        do throws(PassAuthError) { completion(.success(try send(request))) } catch { completion(.failure(error)) }
    }
}

/// libcurl-backed transport. Blocking calls (`send`) take an easy handle from a pool: each handle keeps
/// its own connections alive (sequential calls reuse one connection) and the handles share the DNS and
/// TLS session caches, so concurrent calls from many threads each get a handle without waiting for one
/// another. Submitted calls (`submit`) run on one CurlMulti thread, started on first use.
public final class CurlTransport: HTTPTransport, @unchecked Sendable {
    private let share: OpaquePointer
    // Idle easy handles; a handle is owned by exactly one thread between checkout and checkin.
    private let idle = Locked<[EasyHandle]>([])
    private let options: Options
    private let stats: Stats
    private let multi = Locked<CurlMulti?>(nil)

    public struct Options: Sendable {
        public var timeoutMs: Int
        public var connectTimeoutMs: Int
        public var caFile: String?
        public var maxResponseBytes: Int
        public var userAgent: String
    }

    public init(options: Options, stats: Stats) throws(PassAuthError) {
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

    public func send(_ request: HTTPRequest) throws(PassAuthError) -> HTTPResponse {
        guard let handle = checkout() else { throw PassAuthError(.internal, "libcurl easy handle allocation failed") }
        defer { checkin(handle) }
        let exchange = CurlExchange(request: request, easy: handle.raw, options: options, share: ccurl_share_handle(share))
        return try exchange.outcome(curl_easy_perform(handle.raw), stats: stats).get()
    }

    public func submit(_ request: HTTPRequest, completion: @escaping HTTPCompletion) {
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

/// One request on an easy handle: sets its options, owns the header list and the response while the
/// transfer runs, and turns the transfer's result into a response or a typed error. The blocking pool
/// and the multi loop share it, so both send exactly the same thing.
final class CurlExchange {
    let request: HTTPRequest
    let easy: UnsafeMutableRawPointer
    private let sink: ResponseSink
    private let maxResponseBytes: Int
    private var headerList: UnsafeMutablePointer<curl_slist>?

    /// `share`: the share handle of the blocking pool; nil inside a multi handle, which has its own
    /// connection cache.
    init(request: HTTPRequest, easy: UnsafeMutableRawPointer, options: CurlTransport.Options, share: UnsafeMutableRawPointer?) {
        self.request = request
        self.easy = easy
        sink = ResponseSink(limit: options.maxResponseBytes)
        maxResponseBytes = options.maxResponseBytes
        let sinkPointer = Unmanaged.passUnretained(sink).toOpaque()
        for (name, value) in request.headers {
            headerList = curl_slist_append(headerList, "\(name): \(value)")
        }
        // No "Expect: 100-continue" round trip for small bodies.
        headerList = curl_slist_append(headerList, "Expect:")

        ccurl_setopt_str(easy, CURLOPT_URL, request.url)
        ccurl_setopt_ptr(easy, CURLOPT_SHARE, share)
        ccurl_setopt_long(easy, CURLOPT_NOSIGNAL, 1)
        ccurl_setopt_str(easy, CURLOPT_PROTOCOLS_STR, "http,https")
        ccurl_setopt_long(easy, CURLOPT_FOLLOWLOCATION, 0)
        ccurl_setopt_long(easy, CURLOPT_TIMEOUT_MS, options.timeoutMs)
        ccurl_setopt_long(easy, CURLOPT_CONNECTTIMEOUT_MS, options.connectTimeoutMs)
        // The server-to-server cookbook asks for DNS answers to be cached for at most 30 seconds.
        ccurl_setopt_long(easy, CURLOPT_DNS_CACHE_TIMEOUT, 30)
        ccurl_setopt_long(easy, CURLOPT_TCP_KEEPALIVE, 1)
        ccurl_setopt_long(easy, CURLOPT_SSL_VERIFYPEER, 1)
        ccurl_setopt_long(easy, CURLOPT_SSL_VERIFYHOST, 2)
        if let caFile = options.caFile { ccurl_setopt_str(easy, CURLOPT_CAINFO, caFile) }
        ccurl_setopt_off(easy, CURLOPT_MAXFILESIZE_LARGE, curl_off_t(options.maxResponseBytes))
        ccurl_setopt_str(easy, CURLOPT_ACCEPT_ENCODING, "")
        ccurl_setopt_ptr(easy, CURLOPT_HTTPHEADER, headerList.map { UnsafeMutableRawPointer($0) })
        if !request.headers.contains(where: { $0.0.lowercased() == "user-agent" }) {
            ccurl_setopt_str(easy, CURLOPT_USERAGENT, options.userAgent)
        } else {
            ccurl_setopt_ptr(easy, CURLOPT_USERAGENT, nil)
        }
        ccurl_setopt_write(easy, CURLOPT_WRITEFUNCTION, { data, size, count, context in
            Unmanaged<ResponseSink>.fromOpaque(context!).takeUnretainedValue().appendBody(data!, size * count)
        })
        ccurl_setopt_ptr(easy, CURLOPT_WRITEDATA, sinkPointer)
        ccurl_setopt_write(easy, CURLOPT_HEADERFUNCTION, { data, size, count, context in
            Unmanaged<ResponseSink>.fromOpaque(context!).takeUnretainedValue().appendHeader(data!, size * count)
        })
        ccurl_setopt_ptr(easy, CURLOPT_HEADERDATA, sinkPointer)

        if request.method == "GET" {
            ccurl_setopt_str(easy, CURLOPT_CUSTOMREQUEST, nil)
            ccurl_setopt_long(easy, CURLOPT_HTTPGET, 1)
        } else {
            ccurl_setopt_str(easy, CURLOPT_CUSTOMREQUEST, request.method == "POST" ? nil : request.method)
            let body = request.body ?? []
            body.withUnsafeBufferPointer { buffer in
                ccurl_setopt_long(easy, CURLOPT_POST, 1)
                ccurl_setopt_off(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(buffer.count))
                // Copied by libcurl: the handle outlives this buffer.
                ccurl_setopt_ptr(easy, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: buffer.baseAddress ?? UnsafePointer(bitPattern: 1)!))
            }
        }
    }

    deinit { curl_slist_free_all(headerList) }

    /// The exchange's outcome once the transfer ended with `code`; counts the request and the
    /// connections it opened.
    func outcome(_ code: CURLcode, stats: Stats) -> Result<HTTPResponse, PassAuthError> {
        var connects = 0
        ccurl_getinfo_long(easy, CURLINFO_NUM_CONNECTS, &connects)
        stats.connectionsOpened.add(connects)
        stats.countRequest(request.endpoint)
        guard code == CURLE_OK else { return .failure(transportError(code)) }
        var status = 0
        ccurl_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &status)
        return .success(HTTPResponse(status: status, contentType: sink.header("content-type"), retryAfter: sink.header("retry-after"),
                                     location: sink.header("location"), body: sink.body))
    }

    private func transportError(_ code: CURLcode) -> PassAuthError {
        let reason = String(cString: curl_easy_strerror(code))
        var error: PassAuthError
        switch code {
        case CURLE_OPERATION_TIMEDOUT:
            error = PassAuthError(.timeout, "\(request.endpoint): no complete answer within the timeout (\(reason))")
        case CURLE_WRITE_ERROR where sink.overflowed, CURLE_FILESIZE_EXCEEDED:
            error = PassAuthError(.protocol, "\(request.endpoint): response larger than the \(maxResponseBytes)-byte limit")
        case CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CACERT_BADFILE, CURLE_SSL_CONNECT_ERROR:
            error = PassAuthError(.transport, "\(request.endpoint): TLS failure: \(reason) (set caFile to trust a private CA)")
        default:
            error = PassAuthError(.transport, "\(request.endpoint): \(reason)")
        }
        error.endpoint = request.endpoint
        return error
    }
}

/// A curl easy handle; only one thread uses it at a time (see the pool above).
private struct EasyHandle: @unchecked Sendable {
    let raw: UnsafeMutableRawPointer
}

/// Collects one response; refuses bodies over the limit instead of growing without bound.
private final class ResponseSink {
    var body: [UInt8] = []
    var headers: [(String, String)] = []
    var overflowed = false
    let limit: Int

    init(limit: Int) { self.limit = limit }

    func appendBody(_ data: UnsafeMutablePointer<CChar>, _ count: Int) -> Int {
        guard body.count + count <= limit else { overflowed = true; return 0 }
        data.withMemoryRebound(to: UInt8.self, capacity: count) { body.append(contentsOf: UnsafeBufferPointer(start: $0, count: count)) }
        return count
    }

    /// Only the three headers the core reads are kept (Content-Type, Retry-After, Location); the line
    /// is matched as bytes, so the other header lines of every response cost no String work.
    func appendHeader(_ data: UnsafeMutablePointer<CChar>, _ count: Int) -> Int {
        data.withMemoryRebound(to: UInt8.self, capacity: count) { start in
            let line = UnsafeBufferPointer(start: start, count: count)
            if count >= 5, line[0] == 0x48, line[1] == 0x54, line[2] == 0x54, line[3] == 0x50, line[4] == 0x2F {
                headers.removeAll()  // "HTTP/": a new response (after 100 Continue) starts a new header block
                return
            }
            guard let colon = line.firstIndex(of: 0x3A),
                  let name = ResponseSink.kept.first(where: { ResponseSink.matches(line, colon: colon, name: $0) }) else { return }
            var from = colon + 1
            var to = count
            while from < to, ResponseSink.blank(line[from]) { from += 1 }
            while to > from, ResponseSink.blank(line[to - 1]) { to -= 1 }
            headers.append((name, String(decoding: UnsafeBufferPointer(rebasing: line[from..<to]), as: UTF8.self)))
        }
        return count
    }

    private static let kept = ["content-type", "retry-after", "location"]

    private static func blank(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0D || byte == 0x0A }

    /// Whether `line[..<colon]` is `name` (lower-case ASCII), ignoring ASCII case.
    private static func matches(_ line: UnsafeBufferPointer<UInt8>, colon: Int, name: String) -> Bool {
        guard colon == name.utf8.count else { return false }
        var index = 0
        for expected in name.utf8 {
            var byte = line[index]
            if byte >= 0x41 && byte <= 0x5A { byte |= 0x20 }
            if byte != expected { return false }
            index += 1
        }
        return true
    }

    func header(_ name: String) -> String? { headers.last(where: { $0.0 == name })?.1 }
}

/// curl_global_init is not thread-safe; Swift initialises globals exactly once.
enum CurlGlobal {
    static let ready: Bool = curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK
}

extension StringProtocol {
    /// Trims any of the Unicode scalars in `set` from both ends (scalars, not Characters: "\r\n" is
    /// one Character in Swift and would otherwise never match a lone "\n").
    func trimmingCharacters(in set: String) -> String {
        let trim = Set(set.unicodeScalars)
        var scalars = Substring(self).unicodeScalars[...]
        while let first = scalars.first, trim.contains(first) { scalars.removeFirst() }
        while let last = scalars.last, trim.contains(last) { scalars.removeLast() }
        return String(String.UnicodeScalarView(scalars))
    }
}
