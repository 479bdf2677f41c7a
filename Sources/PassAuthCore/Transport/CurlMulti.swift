import CCurl
import Glibc

/// Many HTTP exchanges at once on one thread, with libcurl's multi interface: the poller's requests
/// for thousands of codes share this thread and a small set of kept-alive connections instead of a
/// thread or a blocked call each. At most `maxInFlight` transfers run at once; the others wait in
/// order. Completions run on this thread and must be quick.
final class CurlMulti: @unchecked Sendable {
    static let maxInFlight = 64
    private let multi: UnsafeMutableRawPointer
    /// Configures the handles (weak: the engine owns this loop and shuts it down first).
    private weak var engine: CurlTransport?
    private let stats: Stats

    // Guarded by `monitor`. The thread sleeps in curl_multi_poll; `submit` wakes it with
    // curl_multi_wakeup (safe from any thread).
    private let monitor = Monitor()
    private var queued: [(HTTPRequest, HTTPCompletion)] = []
    private var queuedHead = 0
    private var stopping = false
    private var thread: pthread_t?

    // The loop thread's own.
    private var running: [UnsafeMutableRawPointer: (CurlHandle, HTTPCompletion)] = [:]
    private var idleHandles: [CurlHandle] = []

    init?(engine: CurlTransport, stats: Stats) {
        guard let multi = curl_multi_init() else { return nil }
        self.multi = multi
        self.engine = engine
        self.stats = stats
        // Idle connections kept for the next requests; beyond this the oldest is closed.
        ccurl_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, CurlMulti.maxInFlight)
    }

    deinit {
        idleHandles = []
        curl_multi_cleanup(multi)
    }

    /// Queues `request`; `completion` runs once on the loop thread (or here, with an error, when the
    /// loop cannot start or is stopping).
    func submit(_ request: HTTPRequest, completion: @escaping HTTPCompletion) {
        let refused: PassAuthError? = monitor.withLock {
            guard !stopping else { return PassAuthError(.cancelled, "\(request.endpoint): the client is being freed") }
            if thread == nil, let failure = startLocked() { return failure }
            queued.append((request, completion))
            return nil
        }
        if let refused { return completion(.failure(refused)) }
        curl_multi_wakeup(multi)
    }

    /// Stops the loop; transfers still running or queued complete with PASSAUTH_E_CANCELLED. Joins the
    /// thread unless called on it.
    func shutdown() {
        let thread: pthread_t? = monitor.withLock {
            stopping = true
            defer { self.thread = nil }
            return self.thread
        }
        curl_multi_wakeup(multi)
        guard let thread else { return }
        if pthread_equal(thread, pthread_self()) != 0 { pthread_detach(thread) } else { pthread_join(thread, nil) }
    }

    private func startLocked() -> PassAuthError? {
        switch Threads.start("passauth-http", { self.run() }) {
        case .success(let created):
            thread = created
            return nil
        case .failure(let error):
            return error
        }
    }

    private func run() {
        while let admitted = nextRequests() {
            for (request, completion) in admitted { start(request, completion) }
            var active: Int32 = 0
            curl_multi_perform(multi, &active)
            var easy: UnsafeMutableRawPointer? = nil
            var code = CURLE_OK
            var finished = false
            while ccurl_multi_next_done(multi, &easy, &code) != 0, let done = easy {
                finish(done, code)
                finished = true
            }
            // Requests queued behind a full set of transfers start as soon as some finished: no sleep
            // first (their submit's wakeup was spent long ago; a burst of more than `maxInFlight` would
            // otherwise wait up to a second per batch).
            if finished && monitor.withLock({ queued.count > queuedHead }) { continue }
            // Sleeps until a socket is ready, libcurl's next timeout, a wakeup, or 1 s.
            curl_multi_poll(multi, nil, 0, 1_000, nil)
        }
        let cancelled = { (endpoint: String) in PassAuthError(.cancelled, "\(endpoint): the client was freed") }
        for (easy, (handle, completion)) in running {
            curl_multi_remove_handle(multi, easy)
            completion(.failure(cancelled(handle.request.endpoint)))
        }
        running = [:]
        let left = monitor.withLock { () -> [(HTTPRequest, HTTPCompletion)] in
            defer { queued = []; queuedHead = 0 }
            return Array(queued[queuedHead...])
        }
        for (request, completion) in left { completion(.failure(cancelled(request.endpoint))) }
    }

    /// The queued requests that fit under `maxInFlight` (possibly none); nil when stopping.
    private func nextRequests() -> ArraySlice<(HTTPRequest, HTTPCompletion)>? {
        monitor.withLock {
            guard !stopping else { return nil }
            let count = min(CurlMulti.maxInFlight - running.count, queued.count - queuedHead)
            guard count > 0 else { return [] }
            // The batch must not share the queue's buffer: the loop holds it through its sleep, and
            // a submit meanwhile would copy the whole queue.
            if count == queued.count - queuedHead {
                let all = queued
                queued = []
                defer { queuedHead = 0 }
                return all[queuedHead...]
            }
            let taken = Array(queued[queuedHead..<(queuedHead + count)])[...]
            queuedHead += count
            // Compact once the consumed prefix dominates, so the queue's memory stays proportional to
            // what waits.
            if queuedHead > 1_024 && queuedHead * 2 > queued.count {
                queued.removeFirst(queuedHead)
                queuedHead = 0
            }
            return taken
        }
    }

    private func start(_ request: HTTPRequest, _ completion: @escaping HTTPCompletion) {
        guard let handle = idleHandles.popLast() ?? engine?.makeHandle() else {
            return completion(.failure(PassAuthError(.internal, "libcurl easy handle allocation failed")))
        }
        handle.prepare(request)
        guard curl_multi_add_handle(multi, handle.easy) == CURLM_OK else {
            idleHandles.append(handle)
            return completion(.failure(PassAuthError(.internal, "\(request.endpoint): libcurl refused the transfer")))
        }
        running[handle.easy] = (handle, completion)
    }

    private func finish(_ easy: UnsafeMutableRawPointer, _ code: CURLcode) {
        curl_multi_remove_handle(multi, easy)
        guard let (handle, completion) = running.removeValue(forKey: easy) else { return }
        let outcome = handle.outcome(code, stats: stats)
        idleHandles.append(handle)
        completion(outcome)
    }
}
