import CCurl
import Glibc

/// The libcurl engine every exchange of a client runs on. One configuration (timeouts, TLS
/// verification, CA file, proxy, size cap, the plain-http loopback check) is applied once per easy
/// handle (CurlHandle), and one share handle holds the DNS cache (30 s, the server-to-server
/// cookbook) and the TLS sessions for every handle of the client. Two ways in:
///   - `send`: a blocking call runs on the caller's thread with a handle from the pool (its
///     connections stay alive for the next call); many threads each take their own handle;
///   - `submit`: polls and background requests join the CurlMulti thread, which runs thousands at
///     once on one thread.
/// Blocking calls are not handed to the multi thread (one engine, the caller waiting for the
/// completion): measured by benchmarks/engine.py on 2 cores (benchmarks/README.md, "One engine"), an
/// authorize handed over costs 34-35 us of process CPU against 22 us with `send` (1.55x: 3.2 context
/// switches per call instead of 1; wall 54 us against 41 us), and 8 threads calling at once 1.16-1.18x
/// the CPU of `send` (29-31 us against 25-28 us).
package final class CurlTransport: HTTPTransport, @unchecked Sendable {
    private let share: CurlShare
    // Idle handles; a handle is owned by exactly one thread between checkout and checkin.
    private let idle = Locked<[CurlHandle]>([])
    let options: Options
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
        guard let share = CurlShare() else { throw PassAuthError(.internal, "libcurl share handle allocation failed") }
        self.share = share
        self.options = options
        self.stats = stats
    }

    deinit {
        multi.withLock { $0 }?.shutdown()  // the share goes with the last handle (CurlHandle)
    }

    package func send(_ request: HTTPRequest) throws(PassAuthError) -> HTTPResponse {
        guard let handle = checkout() else { throw PassAuthError(.internal, "libcurl easy handle allocation failed") }
        defer { checkin(handle) }
        handle.prepare(request)
        return try handle.outcome(curl_easy_perform(handle.easy), stats: stats).get()
    }

    package func submit(_ request: HTTPRequest, completion: @escaping HTTPCompletion) {
        let loop = multi.withLock { loop in
            if loop == nil { loop = CurlMulti(engine: self, stats: stats) }
            return loop
        }
        guard let loop else {
            return completion(.failure(PassAuthError(.internal, "libcurl multi handle allocation failed")))
        }
        loop.submit(request, completion: completion)
    }

    /// A configured handle for the multi thread (which keeps its own idle ones).
    func makeHandle() -> CurlHandle? { CurlHandle(options: options, share: share) }

    private func checkout() -> CurlHandle? {
        if let handle = idle.withLock({ $0.popLast() }) { return handle }
        return makeHandle()
    }

    private func checkin(_ handle: CurlHandle) {
        idle.withLock { $0.append(handle) }
    }
}

/// curl_global_init is not thread-safe; Swift initialises globals exactly once.
enum CurlGlobal {
    static let ready: Bool = curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK
}
