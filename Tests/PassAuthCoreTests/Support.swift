import Foundation
import Synchronization
import Testing
@testable import PassAuthCore

/// A transport that answers from a closure and records every request, for policy tests without sockets.
final class FakeTransport: HTTPTransport, Sendable {
    private let handler: @Sendable (HTTPRequest, Int) -> HTTPResponse
    private let log = Mutex<[HTTPRequest]>([])

    init(_ handler: @escaping @Sendable (HTTPRequest, Int) -> HTTPResponse) { self.handler = handler }

    func send(_ request: HTTPRequest) throws(PassAuthError) -> HTTPResponse {
        let index = log.withLock { $0.append(request); return $0.count - 1 }
        return handler(request, index)
    }

    var requests: [HTTPRequest] { log.withLock { $0 } }
    func count(_ endpoint: String) -> Int { requests.filter { $0.endpoint == endpoint }.count }
}

func json(_ status: Int, _ body: String, contentType: String = "application/json") -> HTTPResponse {
    HTTPResponse(status: status, contentType: contentType, retryAfter: nil, location: nil, body: Array(body.utf8))
}

let softwareStatement = "eyJhbGciOiJSUzI1NiJ9.eyJzb2Z0d2FyZV9pZCI6IjEyMyJ9.c2ln"

func temporaryDirectory() -> String {
    let path = NSTemporaryDirectory() + "passauth-swift-\(UUID().uuidString)"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

func makeConfig(store: String, baseUrl: String = "http://127.0.0.1:9", extra: [(String, JSON)] = []) throws -> ClientSettings {
    let document = JSON.object([("baseUrl", .string(baseUrl)), ("serviceProvider", "REF30"),
                                ("softwareStatement", .string(softwareStatement)), ("store", .string(store)),
                                ("device", ["id": "device-1"])] + extra)
    return try ClientSettings(json: document)
}

/// A DCR + API fake: registers, issues tokens "T1", "T2"…, answers configuration.
func serviceFake(configuration: @escaping @Sendable (HTTPRequest) -> HTTPResponse = { _ in json(200, #"{"requestor":{"mvpds":[]}}"#) })
    -> FakeTransport
{
    let tokens = Atomic<Int>(0)
    return FakeTransport { request, _ in
        switch request.endpoint {
        case "register": return json(201, #"{"client_id":"c1","client_secret":"s3cr3t-value","client_id_issued_at":1}"#)
        case "token":
            let n = tokens.add(1, ordering: .relaxed).newValue
            return json(201, #"{"access_token":"token-\#(n)-abcdef","expires_in":3600,"token_type":"bearer"}"#)
        default: return configuration(request)
        }
    }
}

/// The local emulator, started as `python3 -m passauth_emulator` for integration tests (posix_spawn
/// and waitpid: Foundation's Process can hang in waitUntilExit on Linux).
final class EmulatorProcess {
    private var pid: pid_t = 0
    let baseURL: String

    init(arguments: [String] = ["--no-throttle"]) throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw PassAuthError(.internal, "pipe failed") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
        posix_spawn_file_actions_addclose(&actions, fds[0])
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        defer { posix_spawn_file_actions_destroy(&actions) }
        // Tests run on dispatch threads, which block every signal; the child must not inherit that.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK))
        let argv = ["python3", "-m", "passauth_emulator", "--host", "127.0.0.1", "--port", "0"] + arguments
        var environment = ProcessInfo.processInfo.environment
        environment["PYTHONPATH"] = root.appendingPathComponent("emulator").path
        let envp = environment.map { "\($0.key)=\($0.value)" }
        let cArgv = argv.map { strdup($0) } + [nil]
        let cEnvp = envp.map { strdup($0) } + [nil]
        defer { (cArgv + cEnvp).forEach { free($0) } }
        guard posix_spawnp(&pid, "python3", &actions, &attributes, cArgv, cEnvp) == 0 else {
            throw PassAuthError(.internal, "cannot start python3")
        }
        close(fds[1])
        var line: [UInt8] = []
        var byte: UInt8 = 0
        while read(fds[0], &byte, 1) == 1 && byte != UInt8(ascii: "\n") { line.append(byte) }
        close(fds[0])
        let text = String(decoding: line, as: UTF8.self)
        guard text.hasPrefix("PASSAUTH_EMULATOR_READY ") else {
            kill(pid, SIGTERM)
            waitpid(pid, nil, 0)
            throw PassAuthError(.internal, "emulator did not start: \(text)")
        }
        baseURL = String(text.dropFirst("PASSAUTH_EMULATOR_READY ".count))
    }

    deinit {
        kill(pid, SIGTERM)
        waitpid(pid, nil, 0)
    }

    /// GET on the control API through the library's own transport (Foundation's URL loading is not
    /// available without FoundationNetworking).
    func control(_ path: String, post body: JSON? = nil) throws -> JSON {
        let transport = try CurlTransport(options: .init(timeoutMs: 10_000, connectTimeoutMs: 5_000, caFile: nil,
                                                         maxResponseBytes: 8 << 20, userAgent: "tests"), stats: Stats())
        let request = body.map {
            HTTPRequest(method: "POST", url: baseURL + path, headers: ["Content-Type: application/json"],
                        body: Array($0.serialized().utf8), endpoint: "control")
        } ?? HTTPRequest(method: "GET", url: baseURL + path, endpoint: "control")
        return try JSON.parse(transport.send(request).body)
    }

    func login(_ code: String) throws { _ = try control("/_emulator/login", post: ["code": .string(code)]) }

    /// Arrival times (ms) of the profile-by-code requests for `code`.
    func pollTimes(_ code: String) throws -> [Double] {
        try control("/_emulator/requests")["requests"]?.arrayValue?.compactMap { request -> Double? in
            guard request["endpoint"]?.stringValue == "profiles.code",
                  request["path"]?.stringValue?.contains(code) == true else { return nil }
            switch request["timeMs"] { case .double(let t)?: return t; case .int(let t)?: return Double(t); default: return nil }
        } ?? []
    }

}

extension DecisionCache {
    /// Test shorthand: stores `decision` (a Swift value) for one resource.
    func store(_ decision: JSON, _ scope: Scope, _ resource: String, now: Int64) {
        storePermits([(JSONDocument(decision).node, resource)], in: scope, now: now)
    }

    /// Test shorthand: the cached text of one resource.
    func lookup(_ scope: Scope, _ resource: String, now: Int64) -> [UInt8]? { lookup(scope, [resource], now: now)[0] }
}
