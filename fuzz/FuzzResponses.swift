// libFuzzer target over every decoder of service responses (issue 11). Compiled by `make fuzz`
// together with Sources/PassAuthCore/*.swift into one module (internal access), with
// `swiftc -sanitize=fuzzer,address`. A fake transport answers every request with the fuzz input:
// byte 0 picks the HTTP status, byte 1 the Content-Type and a Retry-After header, the rest is the
// body. Each input drives the whole response path of every REST API V2 call (Service: status
// mapping, enhanced errors, JSON parsing, timestamp normalisation; then each family's shape checks,
// decision ordering, profile persistence, URL resolution), the DCR register/token decoders, the
// profile picker and the decoders of stored values (registration record, profiles, MVPD choice). An
// in-memory store (MemoryStore) with a fresh token avoids disk I/O.
import Glibc
import Synchronization

private final class FuzzTransport: HTTPTransport, @unchecked Sendable {
    var response = HTTPResponse(status: 200, contentType: nil, retryAfter: nil, location: nil, body: [])
    func send(_ request: HTTPRequest) throws(PassAuthError) -> HTTPResponse { response }
}

private let statement = "eyJhbGciOiJSUzI1NiJ9.eyJzb2Z0d2FyZV9pZCI6IngifQ.c2ln"
private let statuses = [200, 200, 200, 201, 204, 302, 400, 401, 403, 404, 405, 410, 412, 429, 500, 502, 503, 504]
private let contentTypes: [String?] = ["application/json", "application/json;charset=utf-8", "text/html", nil, "text/plain"]

/// A store holding a registration with a fresh token for `config` (through the client's own records).
private func seededStore(_ config: JSON) -> MemoryStore {
    let store = MemoryStore()
    let client = try! Client(config: ClientSettings(json: config), transport: FuzzTransport(), store: store)
    let now = Clock.nowMs()
    let record = RegistrationRecord(
        credentials: ClientCredentials(clientId: "client-1", clientSecret: "secret-123456", issuedAt: 1,
                                       statementFingerprint: ClientCredentials.fingerprint(of: statement)),
        token: AccessToken(value: "token-123456", obtainedAt: now, expiresAt: now + 86_400_000))
    _ = try! client.state.writeRegistration(record, expectedVersion: 0)
    return store
}

/// Fresh clients for every input, so an input never depends on the ones before it (libFuzzer's
/// replays and minimisation need that) and any allocation an input leaves behind is a real leak for
/// LeakSanitizer, not state carried over. The configuration JSON is parsed once.
private let baseConfig = try! JSON.parse(#"{"serviceProvider":"REF30","softwareStatement":"\#(statement)","#
    + #""baseUrl":"http://127.0.0.1:9","logLevel":"none","pacing":false,"timeoutMs":50}"#)
private let deviceConfig = baseConfig.setting("configurationCacheMs", 0).setting("device", ["id": "tv-1"])

private func makeClient(_ config: JSON, _ transport: FuzzTransport, _ store: MemoryStore) -> Client {
    var policy = RetryPolicy()
    policy.maxAttempts = 1
    return try! Client(config: ClientSettings(json: config), transport: transport, store: store, retryPolicy: policy)
}
private let device = try! Device(json: try! JSON.parse(#"{"id":"tv-1","ip":"10.0.0.1"}"#))

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let status = bytes.isEmpty ? 200 : statuses[Int(bytes[0]) % statuses.count]
    let selector = bytes.count > 1 ? Int(bytes[1]) : 0
    let contentType = contentTypes[selector % contentTypes.count]
    let retryAfter: String? = selector & 0x80 != 0 ? String(selector & 0x7f) : nil
    let body = bytes.count > 2 ? Array(bytes[2...]) : []
    let transport = FuzzTransport()
    transport.response = HTTPResponse(status: status, contentType: contentType, retryAfter: retryAfter, location: nil, body: body)

    // Registers (empty store): the DCR register and token decoders.
    _ = try? makeClient(baseConfig, transport, MemoryStore()).register(device: device)
    let client = makeClient(deviceConfig, transport, seededStore(deviceConfig))

    let resources: JSON = .array([.string("REF30"), .string("REF40")])
    _ = try? client.configuration(device: device)
    _ = try? client.mvpds(device: device, filter: MVPDFilter(json: nil))
    _ = try? client.createSession(device: device, parameters: SessionParameters(json: nil))
    _ = try? client.resumeSession(device: device, code: "ABC123", parameters: SessionParameters(json: nil))
    _ = try? client.session(device: device, code: "ABC123")
    _ = try? client.profiles(device: device)
    _ = try? client.profile(device: device, mvpd: "Cablevision")
    _ = try? client.profile(device: device, code: "ABC123")
    _ = try? client.preauthorize(device: device, mvpd: "Cablevision", resources: resources)
    _ = try? client.authorize(device: device, mvpd: "Cablevision", resources: resources)
    _ = try? client.logout(device: device, mvpd: "Cablevision", redirectURL: "https://adobe.com")

    // Error mapping and excerpts of any response, as the C ABI would report them.
    let error = ResponseErrors.error(for: transport.response, endpoint: "fuzz")
    _ = error.status
    // Stand-alone decoders: the profile picker and the stored values (any text a store may hand back).
    if let document = try? JSON.parse(body) {
        _ = try? ProfilePicker.longestValid(document)
        _ = normalizingTimestamps(document).serialized()
    }
    let text = String(decoding: body, as: UTF8.self)
    _ = try? client.state.decodeRegistration(text, key: client.state.keys.registration)
    let store = MemoryStore()
    let reader = makeClient(deviceConfig, transport, store)
    store.set(try! reader.state.keys.profiles(device: "tv-1"), text)
    store.set(try! reader.state.keys.mvpd(device: "tv-1"), text)
    _ = try? reader.storedProfiles(device: device)
    _ = try? reader.selectedMVPD(device: device)
    return 0
}
