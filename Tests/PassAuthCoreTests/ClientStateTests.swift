import Foundation
import Synchronization
import Testing
@testable import PassAuthCore

/// A DCR fake that hands out a new client per registration (c1, c2, …) and tokens naming their client
/// (`tok-c1-1`, …), and answers the REST calls through `api` (given the client the bearer token belongs to).
final class ClientsFake: @unchecked Sendable {
    private let registered = Atomic<Int>(0)
    private let issued = Atomic<Int>(0)
    let transport: FakeTransport
    /// DCR answers per endpoint ("register", "token") while set: (status, body).
    let dcrFault = Mutex<[String: (Int, String)]>([:])
    let revoked = Mutex<Set<String>>([])

    init(api: @escaping @Sendable (HTTPRequest, String?) -> HTTPResponse = { _, _ in json(200, #"{"requestor":{"mvpds":[]}}"#) }) {
        let box = Box()
        transport = FakeTransport { request, _ in box.owner!.answer(request, api: api) }
        box.owner = self
    }

    private final class Box: @unchecked Sendable { weak var owner: ClientsFake? }

    private func answer(_ request: HTTPRequest, api: (HTTPRequest, String?) -> HTTPResponse) -> HTTPResponse {
        if let fault = dcrFault.withLock({ $0[request.endpoint] }) { return json(fault.0, fault.1) }
        switch request.endpoint {
        case "register":
            let n = registered.add(1, ordering: .relaxed).newValue
            return json(201, #"{"client_id":"c\#(n)","client_secret":"secret-of-c\#(n)-xyz","client_id_issued_at":1}"#)
        case "token":
            let form = String(decoding: request.body ?? [], as: UTF8.self)
            guard let id = form.split(separator: "&").first(where: { $0.hasPrefix("client_id=") })?.dropFirst(10),
                  form.contains("client_secret=secret-of-\(id)-xyz"), !revoked.withLock({ $0.contains(String(id)) }) else {
                return json(400, #"{"error":"invalid_client"}"#)
            }
            return json(201, #"{"access_token":"tok-\#(id)-\#(issued.add(1, ordering: .relaxed).newValue)","expires_in":3600}"#)
        default:
            let bearer = request.header("Authorization")
            let client = bearer.flatMap { $0.split(separator: "-").dropFirst().first.map(String.init) }
            return api(request, client)
        }
    }
}

@Suite struct StateKeysTests {
    @Test func keysFollowTheContract() throws {
        let keys = StateKeys(baseURL: "HTTPS://SP.Auth.Adobe.com:443/", serviceProvider: "REF30")
        #expect(keys.origin == "https://sp.auth.adobe.com")
        #expect(keys.registration == "passauth:{https://sp.auth.adobe.com|REF30}:registration")
        #expect(try keys.profiles(device: "tv 1/é") == "passauth:{https://sp.auth.adobe.com|REF30|tv%201%2F%C3%A9}:profiles")
        #expect(try keys.mvpd(device: "a|b}") == "passauth:{https://sp.auth.adobe.com|REF30|a%7Cb%7D}:mvpd")
        let custom = StateKeys(prefix: "app:", baseURL: "http://127.0.0.1:8642", serviceProvider: "SP{1}")
        #expect(custom.registration == "app:{http://127.0.0.1:8642|SP%7B1%7D}:registration")
        #expect(throws: PassAuthError.self) { try keys.profiles(device: String(repeating: "é", count: 200)) }
    }

    @Test(arguments: [
        ("http://127.0.0.1:8642/", "http://127.0.0.1:8642"),
        ("http://Example.COM:80/Base/Path//", "http://example.com/Base/Path"),
        ("https://h:8443", "https://h:8443"),
        ("https://[::1]:443", "https://[::1]"),
        ("http://[::1]:8080/", "http://[::1]:8080"),
        ("http://localhost:8642", "http://localhost:8642"),
    ])
    func originsAreNormalised(_ url: String, _ origin: String) {
        #expect(StateKeys.origin(of: url) == origin)
    }
}

@Suite struct ClientStateTests {
    private func config(_ dir: String, baseUrl: String = "http://127.0.0.1:9", _ extra: [(String, JSON)] = []) throws -> ClientSettings {
        try makeConfig(store: dir, baseUrl: baseUrl, extra: extra)
    }

    /// Credentials belong to their host: two base URLs on one store directory each register, never
    /// send the other's client secret or token, and never overwrite each other.
    @Test func originsSharingAStoreNeverShareCredentials() throws {
        let dir = temporaryDirectory()
        let fake = ClientsFake()
        let a = try Client(config: config(dir, baseUrl: "http://127.0.0.1:9"), transport: fake.transport)
        _ = try a.configuration(device: a.config.device)
        let b = try Client(config: config(dir, baseUrl: "http://localhost:9"), transport: fake.transport)
        _ = try b.configuration(device: b.config.device)
        #expect(fake.transport.count("register") == 2)
        let toB = fake.transport.requests.filter { $0.url.hasPrefix("http://localhost:9/") }
        #expect(toB.count == 3)  // register, token, configuration
        let sentToB = toB.map { String(decoding: $0.body ?? [], as: UTF8.self) + "\($0.headers)" }.joined()
        #expect(!sentToB.contains("tok-c1-") && !sentToB.contains("secret-of-c1-"))
        #expect(sentToB.contains("secret-of-c2-xyz") && sentToB.contains("Bearer tok-c2-"))
        // Both registrations stay: a restarted A reuses its own.
        let again = try Client(config: config(dir, baseUrl: "HTTP://127.0.0.1:9/"), transport: fake.transport)
        #expect(try again.register(device: again.config.device)["registered"] == false)
        #expect(fake.transport.count("register") == 2)
        #expect(try again.state.readRegistration().record?.credentials?.clientId == "c1")
        #expect(try b.state.readRegistration().record?.credentials?.clientId == "c2")
        #expect(a.state.keys.registration != b.state.keys.registration)
    }

    /// A writer whose key changed between its read and its write (another instance) re-reads and merges:
    /// no write is lost, nothing newer is overwritten.
    @Test func aConcurrentWriteIsNeverLost() throws {
        let inner = MemoryStore()
        let interfering = InterferingStore(inner: inner)
        let client = try Client(config: config(temporaryDirectory()), transport: serviceFake(), store: interfering)
        let key = try client.state.keys.profiles(device: "device-1")
        interfering.beforeFirstPut = {
            inner.set(key, #"{"Dish":{"type":"regular","notAfter":\#(Clock.nowMs() + 60_000)}}"#)
        }
        var device = Device(); device.id = "device-1"
        try client.rememberProfiles([(device, ["profiles": ["Cablevision": ["type": "regular", "notAfter": .int(Clock.nowMs() + 60_000)]]])])
        let stored = try client.state.profiles(device: "device-1")
        #expect(stored["Dish"] != nil && stored["Cablevision"] != nil)
        #expect(interfering.conflicts.load(ordering: .relaxed) == 1)
    }

    @Test func profilesAreWrittenOnlyWhenChangedWithATTLAndWithoutExpiredOnes() throws {
        let inner = MemoryStore()
        let recording = InterferingStore(inner: inner)
        let client = try Client(config: config(temporaryDirectory()), transport: serviceFake(), store: recording)
        var device = Device(); device.id = "device-1"
        let now = Clock.nowMs()
        let answer: JSON = ["profiles": ["Cablevision": ["type": "regular", "notAfter": .int(now + 120_000)],
                                         "Dish": ["type": "regular", "notAfter": .int(now - 1)]]]
        try client.rememberProfiles([(device, answer)])
        #expect(recording.puts.load(ordering: .relaxed) == 1)
        #expect(recording.lastTTL.load(ordering: .relaxed) > 110_000 && recording.lastTTL.load(ordering: .relaxed) <= 120_000)
        #expect(try client.state.profiles(device: "device-1")["Dish"] == nil)
        try client.rememberProfiles([(device, answer)])
        #expect(recording.puts.load(ordering: .relaxed) == 1)  // unchanged: not written again
        try client.forgetProfile(device: device, mvpd: "Cablevision")
        #expect(recording.puts.load(ordering: .relaxed) == 2)
        #expect(inner.snapshot[try client.state.keys.profiles(device: "device-1")] == nil)
    }


    /// Decoded profiles are reused only for the very text they came from: a value another writer
    /// replaced (even with the same length, or with something malformed) is read as it now is.
    @Test func decodedProfilesFollowTheStoredText() throws {
        let inner = MemoryStore()
        let client = try Client(config: config(temporaryDirectory()), transport: serviceFake(), store: inner)
        let key = try client.state.keys.profiles(device: "device-1")
        let later = Clock.nowMs() + 60_000
        inner.set(key, #"{"Dish":{"type":"regular","notAfter":\#(later)}}"#)
        #expect(try client.state.profiles(device: "device-1")["Dish"] != nil)
        inner.set(key, #"{"Sky1":{"type":"regular","notAfter":\#(later)}}"#)
        let replaced = try client.state.profiles(device: "device-1")
        #expect(replaced["Sky1"] != nil && replaced["Dish"] == nil)
        inner.set(key, #"{"Sky1":["not","an","object"]}"#)
        #expect { try client.state.profiles(device: "device-1") } throws: { ($0 as? PassAuthError)?.status == .store }
    }
    /// Secrets at rest: sealed with AES-256-GCM; the stored bytes never contain them; a wrong key is a
    /// store error, never a silent new registration.
    @Test func secretsAreEncryptedAtRest() throws {
        let dir = temporaryDirectory()
        let key = Data((0..<32).map { UInt8($0) }).base64EncodedString()
        let fake = serviceFake()
        let client = try Client(config: config(dir, [("storeEncryptionKey", .string(key))]), transport: fake)
        _ = try client.register(device: client.config.device)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: dir + "/" + SQLiteStore.fileName))
        bytes += (try? Data(contentsOf: URL(fileURLWithPath: dir + "/" + SQLiteStore.fileName + "-wal"))) ?? Data()
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.contains("A256GCM") && text.contains("\"clientId\":\"c1\""))
        #expect(!text.contains("s3cr3t-value") && !text.contains("token-1-abcdef"))

        let again = try Client(config: config(dir, [("storeEncryptionKey", .string(key))]), transport: fake)
        #expect(try again.register(device: again.config.device)["registered"] == false)

        let otherKey = Data(repeating: 7, count: 32).base64EncodedString()
        let wrong = try Client(config: config(dir, [("storeEncryptionKey", .string(otherKey))]), transport: fake)
        #expect { try wrong.register(device: wrong.config.device) } throws: { error in
            let e = error as? PassAuthError
            return e?.status == .store && e?.message.contains("wrong storeEncryptionKey?") == true
        }
        let none = try Client(config: config(dir), transport: fake)
        #expect { try none.register(device: none.config.device) } throws: { error in
            (error as? PassAuthError)?.message.contains("is encrypted: set config storeEncryptionKey") == true
        }
        #expect(fake.count("register") == 1 && fake.count("token") == 1)

        for bad in ["not base64!", Data(repeating: 1, count: 16).base64EncodedString(), ""] {
            #expect { try config(dir, [("storeEncryptionKey", .string(bad))]) } throws: { error in
                let e = error as? PassAuthError
                return e?.status == .invalidArgument && e?.key == "storeEncryptionKey"
            }
        }
    }

    @Test func malformedRegistrationIsAStoreErrorNeverANewRegistration() throws {
        let dir = temporaryDirectory()
        let fake = serviceFake()
        let client = try Client(config: config(dir), transport: fake)
        let store = client.state.store
        let bad = #"{"format":2,"origin":"http://127.0.0.1:9","serviceProvider":"REF30","client":{"clientId":"c1","clientSecret":42,"softwareStatement":"x"}}"#
        _ = try store.put(client.state.keys.registration, value: bad, expectedVersion: 0, ttlMs: 0, timeoutMs: 1000)
        #expect { try client.register(device: client.config.device) } throws: { error in
            let e = error as? PassAuthError
            return e?.status == .store && e?.message.contains(dir + "/passauth.sqlite3") == true
                && e?.message.contains("clientSecret") == true && e?.message.contains("left untouched") == true
        }
        #expect(fake.requests.isEmpty)
        #expect(try store.get(client.state.keys.registration, timeoutMs: 1000)?.value == bad)
        // A registration copied under another origin's key is refused too.
        let moved = bad.replacingOccurrences(of: #""clientSecret":42"#, with: #""clientSecret":"s""#)
            .replacingOccurrences(of: "127.0.0.1:9", with: "elsewhere.example")
        _ = try store.put(client.state.keys.registration, value: moved, expectedVersion: try #require(try store.get(client.state.keys.registration, timeoutMs: 1000)).version, ttlMs: 0, timeoutMs: 1000)
        #expect { try client.register(device: client.config.device) } throws: { error in
            (error as? PassAuthError)?.message.contains("was written for http://elsewhere.example") == true
        }
        #expect(fake.requests.isEmpty)
    }

    @Test func legacyFileIsRefusedUntilImportedOrMoved() throws {
        let dir = temporaryDirectory()
        let now = Clock.nowMs()
        let legacy: JSON = ["format": 1,
                            "client": ["clientId": "old-client", "clientSecret": "old-secret",
                                       "softwareStatement": .string(ClientCredentials.fingerprint(of: softwareStatement))],
                            "accessToken": ["value": "old-token", "obtainedAt": .int(now), "expiresAt": .int(now + 3_600_000)],
                            "profiles": ["device-1": ["Cablevision": ["type": "regular"]]],
                            "mvpdSelection": ["device-1": ["id": "Cablevision"]]]
        let file = dir + "/REF30.json"
        try legacy.serialized().write(toFile: file, atomically: true, encoding: .utf8)
        let fake = serviceFake()
        let client = try Client(config: config(dir), transport: fake)
        #expect { try client.configuration(device: client.config.device) } throws: { error in
            let e = error as? PassAuthError
            return e?.status == .store && e?.message.contains(file) == true && e?.message.contains("move it away") == true
                && e?.message.contains("passauth import-state \(file)") == true
        }
        #expect(fake.requests.isEmpty)
        // Reads that need no registration still work.
        #expect(try client.storedProfiles(device: client.config.device)["profiles"] == .object([]))

        let summary = try client.importLegacyState(file: file)
        #expect(summary["clientId"] == "old-client" && summary["devices"] == 1)
        #expect(!FileManager.default.fileExists(atPath: file) && FileManager.default.fileExists(atPath: file + ".imported"))
        #expect(!summary.serialized().contains("old-secret"))
        let outcome = try client.register(device: client.config.device)
        #expect(outcome["clientId"] == "old-client" && outcome["registered"] == false && outcome["tokenFetched"] == false)
        #expect(try client.selectedMVPD(device: client.config.device)["id"] == "Cablevision")
        #expect(try client.storedProfiles(device: client.config.device)["profiles"]?["Cablevision"] != nil)
        #expect(fake.requests.isEmpty)
    }

    @Test func redisURLsAreValidatedAndConnectOnlyOnUse() throws {
        let good = try ClientSettings(json: ["serviceProvider": "REF30", "softwareStatement": "x.y.z",
                                             "store": "rediss://user:pw@cache.example:6380/2", "storeKeyPrefix": "app:"])
        guard case .redis(let location) = good.storage.location else { Issue.record("not a redis location"); return }
        #expect(location.tls && location.host == "cache.example" && location.port == 6380 && location.database == 2)
        #expect(location.username == "user" && location.password == "pw" && good.storage.keyPrefix == "app:")
        // No I/O at creation (cache.example is never resolved); the location shown carries no credentials.
        let client = try Client(config: good, transport: serviceFake())
        #expect(client.storeLocation == "rediss://cache.example:6380/2")
        for bad in ["redis://", "redis://host:0", "redis://host:99999", "redis://host/x", "redis://host?db=1", "ftp://host"] {
            #expect(throws: PassAuthError.self) {
                try ClientSettings(json: ["serviceProvider": "REF30", "softwareStatement": "x.y.z", "store": .string(bad)])
            }
        }
        for (key, value): (String, JSON) in [("reregister", "sometimes"), ("reregister", 1), ("storeKeyPrefix", "a b"),
                                             ("storeKeyPrefix", "{x}")] {
            #expect { try ClientSettings(json: ["serviceProvider": "REF30", "softwareStatement": "x.y.z", "store": "/tmp/x", key: value]) }
                throws: { ($0 as? PassAuthError)?.key == key }
        }
    }
}

@Suite struct ReregistrationTests {
    private func rejectingAPI(_ rejected: Set<String>) -> @Sendable (HTTPRequest, String?) -> HTTPResponse {
        { _, client in
            rejected.contains(client ?? "")
                ? json(403, #"{"status":403,"code":"invalid_client_application","action":"application-registration","message":"m"}"#)
                : json(200, #"{"requestor":{"mvpds":[]}}"#)
        }
    }

    @Test func neverRefusesAndKeepsTheStoredCredentials() throws {
        let dir = temporaryDirectory()
        let fake = ClientsFake()
        let first = try Client(config: makeConfig(store: dir), transport: fake.transport)
        _ = try first.register(device: first.config.device)
        fake.revoked.withLock { _ = $0.insert("c1") }
        let before = try first.state.readRegistration()
        let never = try Client(config: makeConfig(store: dir, extra: [("reregister", "never")]), transport: fake.transport)
        // Force a token fetch: the stored token is rejected (401), the refresh says invalid_client.
        #expect { try never.registration.ensure(device: never.config.device, rejected: before.record?.token?.value) } throws: { error in
            let e = error as? PassAuthError
            return e?.status == .registration && e?.code == "reregistration_refused" && e?.message.contains("c1") == true
                && e?.message.contains("\"never\"") == true
        }
        #expect(fake.transport.count("register") == 1)
        let after = try never.state.readRegistration()
        #expect(after.version == before.version && after.record == before.record)
        #expect(never.stats.reregistrations.current == 0)
    }

    /// An application-registration answer followed by a failing DCR call: the old credentials stay.
    @Test func failingDCRKeepsTheOldCredentials() throws {
        let fake = ClientsFake(api: rejectingAPI(["c1"]))
        let client = try Client(config: makeConfig(store: temporaryDirectory(), extra: [("configurationCacheMs", 0)]),
                                transport: fake.transport, retryPolicy: fastPolicy())
        _ = try client.register(device: client.config.device)
        let before = try client.state.readRegistration()
        fake.dcrFault.withLock { $0["register"] = (503, "busy") }
        #expect(throws: PassAuthError.self) { try client.configuration(device: client.config.device) }
        let after = try client.state.readRegistration()
        #expect(after.record == before.record && after.version == before.version)
        #expect(after.record?.credentials?.clientId == "c1" && after.record?.token != nil)
        // Once DCR answers again, one re-registration replaces the client.
        fake.dcrFault.withLock { $0 = [:] }
        _ = try client.configuration(device: client.config.device)
        #expect(try client.state.readRegistration().record?.credentials?.clientId == "c2")
        #expect(client.stats.reregistrations.current == 1)
    }

    /// Several instances (clients of their own, as processes would be) and threads hear
    /// application-registration for the same client: exactly one re-registration, everyone adopts it.
    @Test func exactlyOneReregistrationAcrossInstances() throws {
        let dir = temporaryDirectory()
        let fake = ClientsFake(api: rejectingAPI(["c1"]))
        let config = try makeConfig(store: dir, extra: [("configurationCacheMs", 0)])
        let clients = try (0..<3).map { _ in try Client(config: config, transport: fake.transport, retryPolicy: fastPolicy()) }
        for client in clients { _ = try client.register(device: client.config.device) }
        #expect(fake.transport.count("register") == 1)
        let failures = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 12) { i in
            let client = clients[i % clients.count]
            do { _ = try client.configuration(device: client.config.device) } catch { failures.add(1, ordering: .relaxed) }
        }
        #expect(failures.load(ordering: .relaxed) == 0)
        #expect(fake.transport.count("register") == 2)
        #expect(clients.map(\.stats.reregistrations.current).reduce(0, +) == 1)
        #expect(try clients[0].state.readRegistration().record?.credentials?.clientId == "c2")
    }
}

/// A store that records writes and can let "another writer" in just before the first write.
final class InterferingStore: StateStore, @unchecked Sendable {
    let inner: StateStore
    var beforeFirstPut: (() -> Void)?
    let conflicts = Atomic<Int>(0)
    let puts = Atomic<Int>(0)
    let lastTTL = Atomic<Int64>(0)
    let description = "interfering store"

    init(inner: StateStore) { self.inner = inner }

    func get(_ key: String, timeoutMs: Int) throws(PassAuthError) -> StoredValue? { try inner.get(key, timeoutMs: timeoutMs) }

    func put(_ key: String, value: String?, expectedVersion: UInt64, ttlMs: Int64, timeoutMs: Int) throws(PassAuthError) -> PutResult {
        if let interfere = beforeFirstPut {
            beforeFirstPut = nil
            interfere()
        }
        let result = try inner.put(key, value: value, expectedVersion: expectedVersion, ttlMs: ttlMs, timeoutMs: timeoutMs)
        if result == .conflict { conflicts.add(1, ordering: .relaxed) } else { puts.add(1, ordering: .relaxed) }
        lastTTL.store(ttlMs, ordering: .relaxed)
        return result
    }

    func withLock<T>(_ name: String, timeoutMs: Int, _ body: () throws(PassAuthError) -> T) throws(PassAuthError) -> T {
        try inner.withLock(name, timeoutMs: timeoutMs, body)
    }
}
