import Foundation
import Testing
@testable import PassAuthCore

/// A real redis-server on a free loopback port (tests/redis/redis-test-server.sh: no persistence, a
/// temporary directory, gone when the test process ends), optionally TLS-only with a self-signed
/// certificate for localhost. `stop()` and `start()` play an outage on the same port.
final class RedisServer: @unchecked Sendable {
    let port: Int
    let directory: String
    let tls: Bool
    let password: String?
    let extra: [String]
    private var pid: pid_t = 0

    static var root: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// One plain server shared by the tests of this process (each test uses its own key prefix).
    static let shared: RedisServer = try! RedisServer()

    init(tls: Bool = false, password: String? = nil, extra: [String] = [], port: Int? = nil) throws {
        self.tls = tls
        self.password = password
        self.extra = extra
        directory = temporaryDirectory()
        self.port = port ?? RedisServer.freePort()
        if tls {
            let status = RedisServer.run("/usr/bin/openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                                                              "-keyout", directory + "/key.pem", "-out", directory + "/cert.pem",
                                                              "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"])
            guard status == 0 else { throw PassAuthError(.internal, "openssl could not make a certificate") }
        }
        try start()
    }

    deinit { stop() }

    var caFile: String? { tls ? directory + "/cert.pem" : nil }

    func url(database: Int = 0, host: String? = nil) -> String {
        let host = host ?? (tls ? "localhost" : "127.0.0.1")  // the test certificate names localhost
        return (tls ? "rediss://" : "redis://") + (password.map { ":\($0)@" } ?? "") + "\(host):\(port)/\(database)"
    }

    var location: RedisLocation { try! RedisLocation(url()) }

    func start() throws {
        var arguments = tls
            ? ["--port", "0", "--tls-port", String(port), "--tls-cert-file", directory + "/cert.pem",
               "--tls-key-file", directory + "/key.pem", "--tls-ca-cert-file", directory + "/cert.pem", "--tls-auth-clients", "no"]
            : ["--port", String(port)]
        if let password { arguments += ["--requirepass", password] }
        arguments += ["--pidfile", directory + "/redis.pid"] + extra
        let script = RedisServer.root.appendingPathComponent("tests/redis/redis-test-server.sh").path
        pid = try RedisServer.spawn(script, [String(getpid()), directory] + arguments)
        let client = RedisClient(location: location, caFile: caFile)
        let deadline = Clock.monotonicMs() + 10_000
        while Clock.monotonicMs() < deadline {
            if (try? client.command(["PING"], timeoutMs: 500))?.text == "PONG" { return }
            usleep(20_000)
        }
        let log = (try? String(contentsOfFile: directory + "/redis.log", encoding: .utf8)) ?? ""
        throw PassAuthError(.internal, "redis-server did not start on port \(port): \(log.suffix(1500))")
    }

    /// The redis-server process itself (not its supervising script).
    func serverPid() -> pid_t {
        pid_t((try? String(contentsOfFile: directory + "/redis.pid", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 0
    }

    func stop() {
        guard pid > 0 else { return }
        kill(pid, SIGTERM)
        waitpid(pid, nil, 0)
        pid = 0
    }

    /// A client of this server for direct inspection.
    func client() -> RedisClient { RedisClient(location: location, caFile: caFile) }

    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    static func spawn(_ path: String, _ arguments: [String]) throws -> pid_t {
        var pid: pid_t = 0
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK))
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        guard posix_spawn(&pid, path, &actions, &attributes, argv, environ) == 0 else {
            throw PassAuthError(.internal, "cannot start \(path)")
        }
        return pid
    }

    @discardableResult
    static func run(_ path: String, _ arguments: [String]) -> Int32 {
        guard let pid = try? spawn(path, arguments) else { return -1 }
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        return status
    }
}

/// A prefix of its own for one test, so tests sharing a server never see each other's keys.
func uniquePrefix() -> String { "t\(UInt32.random(in: 0...UInt32.max)):" }

/// A store whose keys (and lock names) all carry a prefix: tests sharing one Redis stay apart.
final class PrefixedStore: StateStore, @unchecked Sendable {
    let inner: StateStore
    let prefix: String
    var description: String { inner.description }

    init(_ inner: StateStore, prefix: String) {
        self.inner = inner
        self.prefix = prefix
    }

    func get(_ key: String, timeoutMs: Int) throws(PassAuthError) -> StoredValue? { try inner.get(prefix + key, timeoutMs: timeoutMs) }

    func put(_ key: String, value: String?, expectedVersion: UInt64, ttlMs: Int64, timeoutMs: Int) throws(PassAuthError) -> PutResult {
        try inner.put(prefix + key, value: value, expectedVersion: expectedVersion, ttlMs: ttlMs, timeoutMs: timeoutMs)
    }

    func putAll(_ writes: [StoreWrite], timeoutMs: Int) throws(PassAuthError) -> [PutResult] {
        try inner.putAll(writes.map { var write = $0; write.key = prefix + write.key; return write }, timeoutMs: timeoutMs)
    }

    func withLock<T>(_ name: String, timeoutMs: Int, _ body: () throws(PassAuthError) -> T) throws(PassAuthError) -> T {
        try inner.withLock(prefix + name, timeoutMs: timeoutMs, body)
    }
}

/// A Redis Cluster of three masters on loopback (redis-cli --cluster create), for the routing tests.
final class RedisCluster: @unchecked Sendable {
    let servers: [RedisServer]

    init() throws {
        var ports: [Int] = []
        while ports.count < 3 {  // the cluster bus listens on port + 10000: both must be free
            let port = RedisServer.freePort()
            if port < 55_000 && !ports.contains(port) && RedisCluster.isFree(port + 10_000) { ports.append(port) }
        }
        servers = try ports.map { port in
            try RedisServer(extra: ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                                    "--cluster-node-timeout", "5000"], port: port)
        }
        let status = RedisServer.run("/usr/bin/redis-cli", ["--cluster", "create"] + ports.map { "127.0.0.1:\($0)" }
                                     + ["--cluster-replicas", "0", "--cluster-yes"])
        guard status == 0 else { throw PassAuthError(.internal, "redis-cli --cluster create failed (\(status))") }
        let deadline = Clock.monotonicMs() + 20_000
        for server in servers {
            let client = server.client()
            while Clock.monotonicMs() < deadline {
                let info = (try? client.command(["CLUSTER", "INFO"], timeoutMs: 1000))?.text ?? ""
                if info.contains("cluster_state:ok") { break }
                usleep(50_000)
            }
        }
    }

    static func isFree(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        return withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }
}
