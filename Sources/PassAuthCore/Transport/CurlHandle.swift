import CCurl
import Glibc

/// An easy handle configured once with the client's options (everything that does not change
/// between requests), plus its response sink. A request then sets only what is its own: URL,
/// remaining time, method and body, and the header list (rebuilt only when the lines differ from the
/// previous request's, which for one device and token they do not). One thread uses a handle at a
/// time: the pool hands it out (CurlTransport) or the multi thread owns it (CurlMulti).
final class CurlHandle {
    let easy: UnsafeMutableRawPointer
    private let sink: ResponseSink
    private let options: CurlTransport.Options
    private(set) var request = HTTPRequest(method: "GET", url: "", endpoint: "")
    private var headerLines: [String] = []
    private var headerList: UnsafeMutablePointer<curl_slist>?
    private var libraryUserAgent = true
    /// Kept while the handle lives: the share is freed only after the last handle using it, whichever
    /// thread drops that handle last (a client may be freed from a completion on the multi thread).
    private let share: CurlShare

    init?(options: CurlTransport.Options, share: CurlShare) {
        guard let easy = curl_easy_init() else { return nil }
        self.easy = easy
        self.options = options
        self.share = share
        sink = ResponseSink(limit: options.maxResponseBytes)
        let sinkPointer = Unmanaged.passUnretained(sink).toOpaque()
        ccurl_setopt_ptr(easy, CURLOPT_SHARE, ccurl_share_handle(share.handle))
        ccurl_setopt_long(easy, CURLOPT_NOSIGNAL, 1)
        ccurl_setopt_str(easy, CURLOPT_PROTOCOLS_STR, "http,https")
        ccurl_setopt_long(easy, CURLOPT_FOLLOWLOCATION, 0)
        // The server-to-server cookbook asks for DNS answers to be cached for at most 30 seconds.
        ccurl_setopt_long(easy, CURLOPT_DNS_CACHE_TIMEOUT, 30)
        ccurl_setopt_long(easy, CURLOPT_TCP_KEEPALIVE, 1)
        ccurl_setopt_long(easy, CURLOPT_SSL_VERIFYPEER, 1)
        ccurl_setopt_long(easy, CURLOPT_SSL_VERIFYHOST, 2)
        if let caFile = options.caFile { ccurl_setopt_str(easy, CURLOPT_CAINFO, caFile) }
        if let proxy = options.proxy { ccurl_setopt_str(easy, CURLOPT_PROXY, proxy) }
        ccurl_require_loopback_peer(easy, options.requireLoopbackPeer ? 1 : 0)
        ccurl_setopt_off(easy, CURLOPT_MAXFILESIZE_LARGE, curl_off_t(options.maxResponseBytes))
        ccurl_setopt_str(easy, CURLOPT_ACCEPT_ENCODING, "")
        ccurl_setopt_str(easy, CURLOPT_USERAGENT, options.userAgent)
        ccurl_setopt_write(easy, CURLOPT_WRITEFUNCTION, { data, size, count, context in
            Unmanaged<ResponseSink>.fromOpaque(context!).takeUnretainedValue().appendBody(data!, size * count)
        })
        ccurl_setopt_ptr(easy, CURLOPT_WRITEDATA, sinkPointer)
        ccurl_setopt_write(easy, CURLOPT_HEADERFUNCTION, { data, size, count, context in
            Unmanaged<ResponseSink>.fromOpaque(context!).takeUnretainedValue().appendHeader(data!, size * count)
        })
        ccurl_setopt_ptr(easy, CURLOPT_HEADERDATA, sinkPointer)
    }

    deinit {
        curl_easy_cleanup(easy)
        curl_slist_free_all(headerList)
    }

    /// Sets what is the request's own, then the handle is ready to perform.
    func prepare(_ request: HTTPRequest) {
        // Setting the URL makes libcurl parse it again: only when it changed (one device polling, a
        // player authorizing the same resource).
        if request.url != self.request.url || self.request.url.isEmpty { ccurl_setopt_str(easy, CURLOPT_URL, request.url) }
        self.request = request
        sink.reset()
        ccurl_setopt_long(easy, CURLOPT_TIMEOUT_MS, max(request.timeoutMs, 1))
        ccurl_setopt_long(easy, CURLOPT_CONNECTTIMEOUT_MS, max(min(options.connectTimeoutMs, request.timeoutMs), 1))
        if request.headers != headerLines {
            curl_slist_free_all(headerList)
            headerList = nil
            for line in request.headers { headerList = curl_slist_append(headerList, line) }
            // No "Expect: 100-continue" round trip for small bodies.
            headerList = curl_slist_append(headerList, "Expect:")
            headerLines = request.headers
            ccurl_setopt_ptr(easy, CURLOPT_HTTPHEADER, headerList.map { UnsafeMutableRawPointer($0) })
            // The device's own User-Agent, when it has one, replaces the library's.
            let own = request.hasUserAgent
            if own == libraryUserAgent {
                libraryUserAgent = !own
                if own { ccurl_setopt_ptr(easy, CURLOPT_USERAGENT, nil) } else { ccurl_setopt_str(easy, CURLOPT_USERAGENT, options.userAgent) }
            }
        }
        if request.method == "GET" {
            ccurl_setopt_long(easy, CURLOPT_HTTPGET, 1)
        } else {
            // The service's operations are GET or POST (Endpoint.method).
            let body = request.body ?? []
            body.withUnsafeBufferPointer { buffer in
                ccurl_setopt_long(easy, CURLOPT_POST, 1)
                ccurl_setopt_off(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(buffer.count))
                // Copied by libcurl: the handle outlives this buffer.
                ccurl_setopt_ptr(easy, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: buffer.baseAddress ?? UnsafePointer(bitPattern: 1)!))
            }
        }
    }

    /// The exchange's outcome once the transfer ended with `code`; counts the request and the
    /// connections it opened.
    func outcome(_ code: CURLcode, stats: Stats) -> Result<HTTPResponse, PassAuthError> {
        var connects = 0
        ccurl_getinfo_long(easy, CURLINFO_NUM_CONNECTS, &connects)
        stats.connectionsOpened.add(connects)
        var elapsedMicros: curl_off_t = 0
        ccurl_getinfo_off(easy, CURLINFO_TOTAL_TIME_T, &elapsedMicros)
        stats.countRequest(request.endpoint, elapsedMs: Double(elapsedMicros) / 1000)
        guard code == CURLE_OK else { return .failure(transportError(code)) }
        var status = 0
        ccurl_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &status)
        return .success(HTTPResponse(status: status, contentType: sink.header("content-type"), retryAfter: sink.header("retry-after"),
                                     location: sink.header("location"), date: sink.header("date"), body: sink.body))
    }

    private func transportError(_ code: CURLcode) -> PassAuthError {
        let reason = String(cString: curl_easy_strerror(code))
        // The host (and the proxy, when one is used): what a user checks first.
        let authority = CurlHandle.authority(of: request.url)
        let where_ = "host \(authority)" + (options.proxy.map { "; proxy \(CurlHandle.authority(of: $0))" } ?? "")
        var error: PassAuthError
        switch code {
        case CURLE_OPERATION_TIMEDOUT:
            error = PassAuthError(.timeout, "\(request.endpoint): no complete answer from \(where_) within the timeout (\(reason))")
        case CURLE_WRITE_ERROR where sink.overflowed, CURLE_FILESIZE_EXCEEDED:
            error = PassAuthError(.protocol, "\(request.endpoint): response larger than the \(options.maxResponseBytes)-byte limit")
        case CURLE_ABORTED_BY_CALLBACK where options.requireLoopbackPeer:
            var ip: UnsafeMutablePointer<CChar>? = nil
            ccurl_getinfo_str(easy, CURLINFO_PRIMARY_IP, &ip)
            error = PassAuthError(.transport, "\(request.endpoint): refused to send over plain http to \(ip.map { String(cString: $0) } ?? "a peer") which is not a loopback address (use https, or set allowInsecureHttp)")
        case CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CACERT_BADFILE, CURLE_SSL_CONNECT_ERROR:
            error = PassAuthError(.transport, "\(request.endpoint): TLS failure with \(where_): \(reason) (set caFile to trust a private CA)")
        default:
            error = PassAuthError(.transport, "\(request.endpoint): \(reason) (\(where_))")
        }
        error.endpoint = request.endpoint
        return error
    }
}

extension CurlHandle {
    /// "host[:port]" of a URL, without any user:password@ (a proxy URL may carry credentials).
    static func authority(of url: String) -> Substring {
        var rest = Substring(url)
        if let scheme = rest.indices.first(where: { rest[$0...].hasPrefix("://") }) { rest = rest[rest.index(scheme, offsetBy: 3)...] }
        rest = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        if let at = rest.lastIndex(of: "@") { rest = rest[rest.index(after: at)...] }
        return rest
    }
}

/// Collects one response; refuses bodies over the limit instead of growing without bound.
private final class ResponseSink {
    var body: [UInt8] = []
    var headers: [(String, String)] = []
    var overflowed = false
    let limit: Int

    init(limit: Int) { self.limit = limit }

    /// Ready for the next response (the previous body now belongs to its HTTPResponse).
    func reset() {
        body = []
        headers.removeAll(keepingCapacity: true)
        overflowed = false
    }

    func appendBody(_ data: UnsafeMutablePointer<CChar>, _ count: Int) -> Int {
        guard body.count + count <= limit else { overflowed = true; return 0 }
        data.withMemoryRebound(to: UInt8.self, capacity: count) { body.append(contentsOf: UnsafeBufferPointer(start: $0, count: count)) }
        return count
    }

    /// Only the headers the core reads are kept (Content-Type, Retry-After, Location, Date); the line
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

    private static let kept = ["content-type", "retry-after", "location", "date"]

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

/// The share handle of one client's handles (DNS cache, TLS sessions), freed with the last of them.
final class CurlShare: @unchecked Sendable {
    let handle: OpaquePointer

    init?() {
        guard let handle = ccurl_share_new() else { return nil }
        self.handle = handle
    }

    deinit { ccurl_share_free(handle) }
}
