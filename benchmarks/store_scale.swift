// The store cost of one login (the profile write of a device, as the poller and the profiles calls do
// it: read the device's key, merge, compare-and-set it back, fsync) with 1,000 and with 1,000,000
// devices already stored in the default SQLite store. Per-device keys make it flat; the 0.1 file store
// rewrote every device's state on each write.
//
// Built by `make bench` with the core's sources into one module (internal access, like the fuzz
// targets); the stored devices are inserted with SQLite directly (one transaction) for speed.
//
//     build/bench/store_scale [--devices 1000,1000000] [--writes 301] [--check] [--store sqlite|redis]
// --check: exit 1 unless the cost stays flat (`make test` runs 1,000 vs 100,000 devices with it).
// --store redis: the same in a Redis store ("store": "redis://..."): the program starts its own
// redis-server (tests/redis/redis-test-server.sh, loopback, no persistence; run from the repository
// root), one database per size, prefilled with pipelined HSET/PEXPIRE; a write is then one HMGET and
// one EVALSHA of the compare-and-set script over loopback.
import CSQLite
import Glibc

@main
struct StoreScale {
    static func main() throws {
        var sizes = [1_000, 1_000_000]
        var writes = 301
        var check = false
        var redis = false
        var arguments = CommandLine.arguments.dropFirst().makeIterator()
        while let argument = arguments.next() {
            switch argument {
            case "--devices": sizes = (arguments.next() ?? "").split(separator: ",").compactMap { Int($0) }
            case "--writes": writes = Int(arguments.next() ?? "") ?? writes
            case "--check": check = true
            case "--store": redis = arguments.next() == "redis"
            default: fatalError("usage: store_scale [--devices N,N] [--writes N]")
            }
        }
        // Every store is filled first, then the writes alternate between them, so disk noise (other
        // processes' writeback, the fsyncs' own variance) falls on all sizes alike.
        var stores: [(size: Int, client: Client, directory: String)] = []
        let now = Clock.nowMs()
        if redis {
            let server = try RedisBenchServer()
            defer { server.stop() }
            for (index, size) in sizes.enumerated() {
                let config = try ClientSettings(json: ["serviceProvider": "REF30", "softwareStatement": "x.y.z",
                                                       "store": .string("redis://127.0.0.1:\(server.port)/\(index)"),
                                                       "baseUrl": "http://127.0.0.1:9", "logLevel": "none"])
                let client = try Client(config: config, transport: Unreachable())
                let started = Clock.monotonicMs()
                try prefillRedis(client, devices: size, now: now)
                note("\(grouped(size)) devices stored in Redis in \(format2(Double(Clock.monotonicMs() - started) / 1000)) s")
                stores.append((size, client, ""))
            }
            try measure(stores, writes: writes, now: now, check: check, label: " (Redis, loopback)")
            return
        }
        for size in sizes {
            var template = Array("/tmp/passauth-store-scale-XXXXXX".utf8CString)
            guard let created = mkdtemp(&template) else { fatalError("mkdtemp failed") }
            let directory = String(cString: created)
            let config = try ClientSettings(json: ["serviceProvider": "REF30", "softwareStatement": "x.y.z",
                                                   "store": .string(directory), "baseUrl": "http://127.0.0.1:9",
                                                   "logLevel": "none"])
            let client = try Client(config: config, transport: Unreachable())
            try client.state.setMVPD(device: "bench-init", ["id": "Cablevision"])  // creates the database
            let started = Clock.monotonicMs()
            try prefill(directory + "/" + SQLiteStore.fileName, keys: client.state.keys, devices: size, now: now)
            note("\(grouped(size)) devices stored in \(format2(Double(Clock.monotonicMs() - started) / 1000)) s")
            stores.append((size, client, directory))
        }
        defer { for store in stores { _ = system("rm -rf '\(store.directory)'") } }
        sync()  // the fills' dirty pages reach the disk now, not during the measured fsyncs
        try measure(stores, writes: writes, now: now, check: check, label: "")
    }

    static func measure(_ stores: [(size: Int, client: Client, directory: String)], writes: Int, now: Int64, check: Bool,
                        label suffix: String) throws {

        var samples = [[Double]](repeating: [], count: stores.count)
        var generator = SystemRandomNumberGenerator()
        for i in 0..<writes {
            for (index, store) in stores.enumerated() {
                var device = Device()
                device.id = deviceId(Int.random(in: 0..<store.size, using: &generator))
                let answer = profileAnswer(notAfter: now + 86_400_000 + Int64(i + 1) * 1000)
                let t0 = monotonicNanos()
                try store.client.rememberProfiles([(device, answer)])
                samples[index].append(Double(monotonicNanos() - t0) / 1000)
            }
        }
        var medians: [Double] = []
        for (index, store) in stores.enumerated() {
            let sorted = samples[index].sorted()
            medians.append(sorted[sorted.count / 2])
            note("\(grouped(store.size)) devices: median \(format(sorted[sorted.count / 2])) us, p90 \(format(sorted[sorted.count * 9 / 10])) us per profile write (\(sorted.count) writes)")
        }
        guard let base = medians.first else { return }
        var failed = false
        for (index, store) in stores.enumerated() {
            let label = "store: one login's profile write, \(grouped(store.size)) devices stored" + suffix
            if index == 0 {
                row(label, "\(format(base)) us", "-", "-", "flat", "INFO")
            } else {
                let ratio = medians[index] / base
                row(label, "\(format(medians[index])) us", "\(format(base)) us (\(grouped(stores[0].size)) devices)",
                    format2(ratio) + "x", "<= 2x", ratio <= 2 ? "PASS" : "FAIL")
                if check && ratio > 2 { failed = true }
            }
        }
        if failed { exit(1) }
    }

    static func prefill(_ path: String, keys: StateKeys, devices: Int, now: Int64) throws {
        var db: OpaquePointer?
        guard sqlite3_open(path, &db) == SQLITE_OK else { fatalError("open \(path)") }
        defer { sqlite3_close(db) }
        sqlite3_exec(db, "PRAGMA synchronous=OFF; BEGIN", nil, nil, nil)
        var statement: OpaquePointer?
        sqlite3_prepare_v2(db, "INSERT INTO kv (key, value, version, expires_at) VALUES (?1, ?2, ?3, ?4)", -1, &statement, nil)
        let value = profileAnswer(notAfter: now + 86_400_000)["profiles"]!.serialized()
        for i in 0..<devices {
            let key = try keys.profiles(device: deviceId(i))
            _ = passauth_sqlite3_bind_text(statement, 1, key, Int32(key.utf8.count))
            _ = passauth_sqlite3_bind_text(statement, 2, value, Int32(value.utf8.count))
            sqlite3_bind_int64(statement, 3, Int64(i + 10))
            sqlite3_bind_int64(statement, 4, now + 86_400_000)
            guard sqlite3_step(statement) == SQLITE_DONE else { fatalError(String(cString: sqlite3_errmsg(db))) }
            sqlite3_reset(statement)
        }
        sqlite3_finalize(statement)
        sqlite3_exec(db, "UPDATE meta SET seq = seq + \(devices + 10); COMMIT; PRAGMA wal_checkpoint(TRUNCATE)", nil, nil, nil)
    }

    /// The profiles of `devices` devices, as the store writes them (hash d/v, TTL), pipelined.
    static func prefillRedis(_ client: Client, devices: Int, now: Int64) throws {
        guard let redis = (client.state.store as? RedisStore)?.client else { fatalError("not a Redis store") }
        let value = profileAnswer(notAfter: now + 86_400_000)["profiles"]!.serialized()
        var batch: [[String]] = []
        for i in 0..<devices {
            let key = try client.state.keys.profiles(device: deviceId(i))
            batch.append(["HSET", key, "d", value, "v", String(i + 10)])
            batch.append(["PEXPIRE", key, "86400000"])
            if batch.count >= 20_000 || i == devices - 1 {
                _ = try redis.pipeline(batch, timeoutMs: 60_000)
                batch.removeAll(keepingCapacity: true)
            }
        }
    }

    static func deviceId(_ n: Int) -> String { "device-" + String(n).leftPadded(to: 7) }

    static func profileAnswer(notAfter: Int64) -> JSON {
        ["profiles": ["Cablevision": ["notBefore": .int(notAfter - 86_400_000), "notAfter": .int(notAfter),
                                     "issuer": "Cablevision", "type": "regular",
                                     "attributes": ["userID": ["value": "user-0123456789", "state": "plain"],
                                                    "householdID": ["value": "household-0123456789", "state": "plain"],
                                                    "zip": ["value": ["10001", "10002"], "state": "plain"]]]]]
    }

    static func monotonicNanos() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }

    static func row(_ name: String, _ figure: String, _ baseline: String, _ ratio: String, _ target: String, _ verdict: String) {
        print("BENCH|\(name)|\(figure)|\(baseline)|\(ratio)|\(target)|\(verdict)")
        fflush(stdout)
    }

    static func note(_ text: String) { _ = "store_scale: \(text)\n".withCString { write(2, $0, strlen($0)) } }

    static func format(_ value: Double) -> String { String(Int(value.rounded())) }

    static func format2(_ value: Double) -> String {
        let hundredths = Int((value * 100).rounded())
        return "\(hundredths / 100).\(String(hundredths % 100).leftPadded(to: 2))"
    }

    static func grouped(_ n: Int) -> String {
        var digits = String(n)
        var out = ""
        while digits.count > 3 {
            out = "," + digits.suffix(3) + out
            digits.removeLast(3)
        }
        return digits + out
    }
}

/// No network: the benchmark measures the store only.
private final class Unreachable: HTTPTransport, Sendable {
    func send(_ request: HTTPRequest) throws(PassAuthError) -> HTTPResponse { throw PassAuthError(.transport, "no network in this benchmark") }
}

/// redis-server on a free loopback port for the Redis rows (tests/redis/redis-test-server.sh).
private final class RedisBenchServer {
    let port: Int
    private var pid: pid_t = 0
    private let directory: String

    init() throws {
        var template = Array("/tmp/passauth-store-scale-redis-XXXXXX".utf8CString)
        guard let created = mkdtemp(&template) else { fatalError("mkdtemp failed") }
        directory = String(cString: created)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        close(fd)
        port = Int(UInt16(bigEndian: address.sin_port))
        let arguments = ["tests/redis/redis-test-server.sh", String(getpid()), directory, "--port", String(port), "--databases", "4"]
        let argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        guard posix_spawn(&pid, arguments[0], nil, nil, argv, environ) == 0 else { fatalError("cannot start \(arguments[0])") }
        let probe = RedisClient(location: try RedisLocation("redis://127.0.0.1:\(port)/0"), caFile: nil)
        for _ in 0..<500 {
            if (try? probe.command(["PING"], timeoutMs: 200))?.text == "PONG" { return }
            usleep(20_000)
        }
        fatalError("redis-server did not start on port \(port)")
    }

    func stop() {
        kill(pid, SIGTERM)
        waitpid(pid, nil, 0)
        _ = system("rm -rf '\(directory)'")
    }
}
