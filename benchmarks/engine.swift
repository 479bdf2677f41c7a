// "One engine": what a blocking call would cost if it were handed to the CurlMulti thread and waited
// for (one transfer engine, as libcurl's own curl_easy_perform runs a private multi handle), against
// what it costs now (curl_easy_perform on the caller's thread with a handle from the pool). Same
// CurlTransport, same request, same server, same process; the modes alternate run by run.
//
//   send          the caller calls transport.send(request)
//   submit+wait   the caller calls transport.submit(request) { ... } and sleeps on a condition variable
//                 (Monitor) until the completion, which runs on the multi thread, signals it
//
// Per run: user+sys CPU of the process (getrusage RUSAGE_SELF: every thread, the multi thread
// included), wall time (CLOCK_MONOTONIC) and context switches (ru_nvcsw + ru_nivcsw, every thread),
// each divided by the calls. `--threads T` adds the concurrent case: T threads each making
// `--thread-calls` blocking calls at once in either mode.
//
// Built by `make bench` with the core's sources into one module (internal access, like store_scale);
// benchmarks/engine.py starts the traffic server, captures the library's authorize request and runs it:
//
//     build/bench/engine --request FILE [--calls 400] [--runs 9] [--warmup 200] [--threads 8]
//                        [--thread-calls 100] [--thread-runs 5] [--modes send,submit+wait]
//
// --modes: one mode alone (e.g. under callgrind, to count each mode's instructions per call).
//
// FILE: the method on line 1, the URL on line 2, header lines up to an empty line, then the body.
// Output (stdout), one line per measured run:
//     run <mode> <threads> <calls> <cpu ns> <wall ns> <voluntary switches> <involuntary switches> <response bytes>
// and "failed <n>" if any call failed (engine.py then fails its rows).
import Glibc

@main
struct EngineBench {
    static func main() throws {
        var requestFile: String?
        var calls = 400
        var runs = 9
        var warmup = 200
        var threads = 8
        var threadCalls = 100
        var threadRuns = 5
        var modes = Mode.allCases
        var arguments = CommandLine.arguments.dropFirst().makeIterator()
        while let argument = arguments.next() {
            let value = arguments.next() ?? ""
            switch argument {
            case "--request": requestFile = value
            case "--calls": calls = Int(value) ?? calls
            case "--runs": runs = Int(value) ?? runs
            case "--warmup": warmup = Int(value) ?? warmup
            case "--threads": threads = Int(value) ?? threads
            case "--thread-calls": threadCalls = Int(value) ?? threadCalls
            case "--thread-runs": threadRuns = Int(value) ?? threadRuns
            case "--modes":
                modes = value.split(separator: ",").map { name -> Mode in
                    guard let mode = Mode.allCases.first(where: { $0.name == name }) else { usage() }
                    return mode
                }
            default: usage()
            }
        }
        guard let requestFile else { usage() }
        let request = readRequest(requestFile)

        // The transport exactly as Client builds it (Client.swift), from a config with the same URL.
        let origin = String(request.url.prefix { $0 != "/" }) + "//" + CurlHandle.authority(of: request.url)
        let config = try ClientSettings(json: ["serviceProvider": "REF30", "softwareStatement": "x.y.z",
                                               "baseUrl": .string(origin), "logLevel": "none"])
        let transport = try CurlTransport(
            options: .init(timeoutMs: config.timeoutMs, connectTimeoutMs: config.connectTimeoutMs, caFile: config.caFile,
                           maxResponseBytes: config.maxResponseBytes, userAgent: "passauth/\(Version.string)",
                           proxy: config.proxy, requireLoopbackPeer: config.requiresLoopbackPeer),
            stats: Stats())
        let bench = Bench(transport: transport, request: request)

        // Both ways warm: the pool's handle and the multi thread's handle each have their connection,
        // libcurl's caches and the code paths are hot.
        for mode in modes { _ = bench.measure(mode, calls: warmup) }
        bench.reportFailures()
        // Pairs of runs, the first of a pair alternating, so a drift of the machine falls on both modes.
        for run in 0..<runs {
            let order = run % 2 == 0 ? modes : modes.reversed()
            for mode in order { bench.measure(mode, calls: calls).print(mode, threads: 1, calls: calls) }
        }
        if threads > 1 {
            let pool = Workers(count: threads, bench: bench)
            for mode in modes { _ = pool.measure(mode, callsEach: threadCalls) }  // every thread's handle warm
            for run in 0..<threadRuns {
                let order = run % 2 == 0 ? modes : modes.reversed()
                for mode in order {
                    pool.measure(mode, callsEach: threadCalls).print(mode, threads: threads, calls: threads * threadCalls)
                }
            }
            pool.stop()
        }
        bench.reportFailures()
    }

    static func usage() -> Never {
        note("usage: engine --request FILE [--calls N] [--runs N] [--warmup N] [--threads N] [--thread-calls N] [--thread-runs N] [--modes send,submit+wait]")
        exit(2)
    }

    static func readRequest(_ path: String) -> HTTPRequest {
        guard let file = fopen(path, "rb") else { note("cannot open \(path)"); exit(2) }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = fread(&buffer, 1, buffer.count, file)
            if count <= 0 { break }
            bytes += buffer[..<count]
        }
        // The head ends at the first empty line; the body is everything after it, byte for byte.
        var end = 0
        while end + 1 < bytes.count, !(bytes[end] == 0x0A && bytes[end + 1] == 0x0A) { end += 1 }
        let head = String(decoding: bytes[..<min(end, bytes.count)], as: UTF8.self).split(separator: "\n").map(String.init)
        let body = end + 2 <= bytes.count ? Array(bytes[(end + 2)...]) : []
        guard head.count >= 2 else { note("\(path): method and URL expected"); exit(2) }
        return HTTPRequest(method: head[0], url: head[1], headers: Array(head[2...]), body: head[0] == "GET" ? nil : body,
                           endpoint: "decisions.authorize")
    }

    static func note(_ text: String) { _ = "engine: \(text)\n".withCString { write(2, $0, strlen($0)) } }
}

enum Mode: CaseIterable {
    case send, submitWait

    var name: String { self == .send ? "send" : "submit+wait" }
}

/// One run's totals.
struct Sample {
    var cpuNs: Int64 = 0
    var wallNs: Int64 = 0
    var voluntary = 0
    var involuntary = 0

    func print(_ mode: Mode, threads: Int, calls: Int) {
        Swift.print("run \(mode.name) \(threads) \(calls) \(cpuNs) \(wallNs) \(voluntary) \(involuntary) \(Bench.responseBytes.withLock { $0 })")
        fflush(stdout)
    }

    static func now() -> (rusage, Int64) {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return (usage, Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec))
    }

    static func between(_ start: (rusage, Int64), _ end: (rusage, Int64)) -> Sample {
        func ns(_ t: timeval) -> Int64 { Int64(t.tv_sec) * 1_000_000_000 + Int64(t.tv_usec) * 1000 }
        let (a, b) = (start.0, end.0)
        return Sample(cpuNs: ns(b.ru_utime) + ns(b.ru_stime) - ns(a.ru_utime) - ns(a.ru_stime), wallNs: end.1 - start.1,
                      voluntary: b.ru_nvcsw - a.ru_nvcsw, involuntary: b.ru_nivcsw - a.ru_nivcsw)
    }
}

final class Bench: @unchecked Sendable {
    let transport: CurlTransport
    let request: HTTPRequest
    static let responseBytes = Locked(0)
    private let failures = Locked(0)

    init(transport: CurlTransport, request: HTTPRequest) {
        self.transport = transport
        self.request = request
    }

    /// One blocking call in `mode`; counts a failure (transport error or not a 200 with a body).
    func call(_ mode: Mode) {
        let outcome: Result<HTTPResponse, PassAuthError>
        switch mode {
        case .send:
            do throws(PassAuthError) { outcome = .success(try transport.send(request)) } catch { outcome = .failure(error) }
        case .submitWait:
            let waiter = Waiter()
            transport.submit(request) { waiter.finish($0) }
            outcome = waiter.wait()
        }
        guard case .success(let response) = outcome, response.status == 200, !response.body.isEmpty else {
            if case .failure(let error) = outcome { EngineBench.note("\(mode.name): \(error.message)") }
            failures.withLock { $0 += 1 }
            return
        }
        if Bench.responseBytes.withLock({ $0 }) == 0 { Bench.responseBytes.withLock { $0 = response.body.count } }
    }

    func measure(_ mode: Mode, calls: Int) -> Sample {
        let start = Sample.now()
        for _ in 0..<calls { call(mode) }
        return Sample.between(start, Sample.now())
    }

    func reportFailures() {
        let failed = failures.withLock { $0 }
        if failed > 0 { print("failed \(failed)"); fflush(stdout) }
    }
}

/// What a blocking call on one engine would do: sleep on a condition variable until the multi
/// thread's completion hands over the outcome (no spinning).
final class Waiter: @unchecked Sendable {
    private let monitor = Monitor()
    private var outcome: Result<HTTPResponse, PassAuthError>?  // guarded by monitor

    func finish(_ result: Result<HTTPResponse, PassAuthError>) {
        monitor.withLock { outcome = result }
        monitor.signal(0)
    }

    func wait() -> Result<HTTPResponse, PassAuthError> {
        monitor.withLock {
            while outcome == nil { monitor.wait(until: nil) }
            return outcome!
        }
    }
}

/// `count` threads that live across runs: each run releases all of them at once, each makes its
/// calls, the last one done wakes the main thread. Only the calls fall inside the measured interval.
final class Workers: @unchecked Sendable {
    private let bench: Bench
    private let monitor = Monitor(conditions: 2)  // 0: workers wait for a round; 1: the main thread waits for the end
    private var round = 0          // guarded by monitor
    private var mode = Mode.send   // guarded by monitor
    private var callsEach = 0      // guarded by monitor
    private var busy = 0           // guarded by monitor
    private var stopping = false   // guarded by monitor
    private var threads: [pthread_t] = []

    init(count: Int, bench: Bench) {
        self.bench = bench
        for _ in 0..<count {
            var thread = pthread_t()
            let context = Unmanaged.passRetained(self).toOpaque()
            guard pthread_create(&thread, nil, { context in
                Unmanaged<Workers>.fromOpaque(context!).takeRetainedValue().work()
                return nil
            }, context) == 0 else { fatalError("pthread_create failed") }
            threads.append(thread)
        }
    }

    private func work() {
        var seen = 0
        while true {
            let job: (Mode, Int)? = monitor.withLock {
                while round == seen && !stopping { monitor.wait(until: nil, on: 0) }
                seen = round
                return stopping ? nil : (mode, callsEach)
            }
            guard let (mode, calls) = job else { return }
            for _ in 0..<calls { bench.call(mode) }
            monitor.withLock {
                busy -= 1
                if busy == 0 { monitor.signal(1) }
            }
        }
    }

    func measure(_ mode: Mode, callsEach: Int) -> Sample {
        let start = Sample.now()
        monitor.withLock {
            self.mode = mode
            self.callsEach = callsEach
            busy = threads.count
            round += 1
            monitor.broadcast(0)
            while busy > 0 { monitor.wait(until: nil, on: 1) }
        }
        return Sample.between(start, Sample.now())
    }

    func stop() {
        monitor.withLock {
            stopping = true
            monitor.broadcast(0)
        }
        for thread in threads { pthread_join(thread, nil) }
    }
}
