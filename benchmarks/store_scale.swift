// The store cost of one login (the profile write of a device, as the poller and the profiles calls do
// it: read the device's key, merge, compare-and-set it back, fsync) with 1,000 and with 1,000,000
// devices already stored in the default SQLite store. Per-device keys make it flat; the 0.1 file store
// rewrote every device's state on each write.
//
// Built by `make bench` with the core's sources into one module (internal access, like the fuzz
// targets); the stored devices are inserted with SQLite directly (one transaction) for speed.
//
//     build/bench/store_scale [--devices 1000,1000000] [--writes 301] [--check]
// --check: exit 1 unless the cost stays flat (`make test` runs 1,000 vs 100,000 devices with it).
import CSQLite
import Glibc

@main
struct StoreScale {
    static func main() throws {
        var sizes = [1_000, 1_000_000]
        var writes = 301
        var check = false
        var arguments = CommandLine.arguments.dropFirst().makeIterator()
        while let argument = arguments.next() {
            switch argument {
            case "--devices": sizes = (arguments.next() ?? "").split(separator: ",").compactMap { Int($0) }
            case "--writes": writes = Int(arguments.next() ?? "") ?? writes
            case "--check": check = true
            default: fatalError("usage: store_scale [--devices N,N] [--writes N]")
            }
        }
        // Every store is filled first, then the writes alternate between them, so disk noise (other
        // processes' writeback, the fsyncs' own variance) falls on all sizes alike.
        var stores: [(size: Int, client: Client, directory: String)] = []
        let now = Clock.nowMs()
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
            let label = "store: one login's profile write, \(grouped(store.size)) devices stored"
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
