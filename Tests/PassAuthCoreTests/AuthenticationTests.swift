import Foundation
import Synchronization
import Testing
@testable import PassAuthCore

@Suite struct AuthenticationUnitTests {
    @Test func timestampsBecomeNumbersWhereverTheyAre() throws {
        let raw = try JSON.parse(#"{"notBefore":"1733735289035","notAfter":1,"x":{"issuedAt":"12"},"list":[{"notAfter":"7"}],"code":"123"}"#)
        #expect(normalizingTimestamps(raw).serialized() == #"{"notBefore":1733735289035,"notAfter":1,"x":{"issuedAt":12},"list":[{"notAfter":7}],"code":"123"}"#)
    }

    @Test(arguments: ["8ER640M", " 8er640m\n", "A_B-C"])
    func plausibleCodesPass(_ code: String) throws {
        #expect(try AuthenticationCode.validated(code) == code.trimmingCharacters(in: " \n"))
    }

    @Test(arguments: ["", "../x", "AB?C", "A#B", "a b", String(repeating: "A", count: 65)])
    func implausibleCodesAreRejected(_ code: String) {
        #expect(throws: PassAuthError.self) { try AuthenticationCode.validated(code) }
    }

    @Test func pollOptionsAreCheckedAndTheFloorHolds() throws {
        let options = try PollOptions(json: try JSON.parse(#"{"intervalMs":10,"timeoutMs":5000}"#))
        #expect(options.intervalMs == 10 && options.timeoutMs == 5000)
        #expect(throws: PassAuthError.self) { try PollOptions(json: try JSON.parse(#"{"every":1}"#)) }
        #expect(throws: PassAuthError.self) { try PollOptions(json: try JSON.parse(#"{"intervalMs":-1}"#)) }
    }

    @Test func pickerPrefersTheLongestValidProfile() throws {
        let now: Int64 = 1_000_000
        let answer = try JSON.parse(#"{"profiles":{"A":{"notBefore":0,"notAfter":2000000},"B":{"notBefore":"0","notAfter":"3000000"},"C":{"notBefore":0,"notAfter":500}}}"#)
        #expect(try ProfilePicker.longestValid(answer, now: now)["mvpd"] == "B")
        #expect(throws: PassAuthError.self) { try ProfilePicker.longestValid(try JSON.parse(#"{"profiles":{}}"#), now: now) }
    }

    @Test func mvpdFilterAppliesEveryRule() throws {
        let filter = try MVPDFilter(json: try JSON.parse(#"{"tempPass":false,"exclude":["Test"],"search":"cab"}"#))
        #expect(filter.accepts(["id": "Cablevision", "displayName": "Optimum"]))
        #expect(!filter.accepts(["id": "TempPassCab", "isTempPass": true]))
        #expect(!filter.accepts(["id": "Test", "displayName": "Cable test"]))
        #expect(!filter.accepts(["id": "Spectrum"]))
    }

    @Test func timerHeapPopsInDueOrder() {
        final class Box { let n: Int; init(_ n: Int) { self.n = n } }
        var heap = TimerHeap<Box>()
        let boxes = (0..<50).map(Box.init)
        for box in boxes.shuffled() { heap.insert(box, due: Int64(box.n % 10) * 100 + Int64(box.n / 10)) }
        var last: Int64 = -1
        var count = 0
        while let (_, due) = heap.peek() {
            #expect(due >= last)
            last = due
            heap.popFirst()
            count += 1
        }
        #expect(count == 50)
    }

    @Test func configurationIsCachedPerDeviceInfo() throws {
        let fake = serviceFake()
        let client = try Client(config: makeConfig(store: temporaryDirectory()), transport: fake)
        _ = try client.configuration(device: client.config.device)
        _ = try client.configuration(device: client.config.device)
        var other = client.config.device
        other.info = ["model": "Other"]
        _ = try client.configuration(device: other)
        #expect(fake.count("configuration") == 2 && client.stats.cacheHits.current == 1)
    }

    @Test func secondScreenCallsSendNoDeviceIdentity() throws {
        let fake = serviceFake { _ in json(200, #"{"actionName":"authenticate","url":"/api/v2/authenticate/REF30/ABC","notAfter":"99"}"#) }
        let client = try Client(config: makeConfig(store: temporaryDirectory()), transport: fake)
        let session = try client.session(device: client.config.device, code: "ABC")
        #expect(session["url"]?.stringValue == "http://127.0.0.1:9/api/v2/authenticate/REF30/ABC")
        #expect(session["notAfter"] == .int(99))
        let sent = fake.requests.last!.headers.map { String($0.prefix { $0 != ":" }) }
        #expect(!sent.contains("AP-Device-Identifier") && !sent.contains("X-Device-Info"))
    }
}

@Suite(.serialized) struct AuthenticationJourneyTests {
    let emulator: EmulatorProcess
    let client: Client

    init() throws {
        emulator = try EmulatorProcess()
        client = try Client(config: makeConfig(store: temporaryDirectory(), baseUrl: emulator.baseURL))
    }

    var device: Device { client.config.device }

    func newSession(_ parameters: String = #"{"mvpd":"Cablevision","domainName":"adobe.com","redirectUrl":"https://adobe.com"}"#) throws -> JSON {
        try client.createSession(device: device, parameters: SessionParameters(json: JSON.parse(parameters))).json
    }

    @Test func firstScreenJourneyEndsWithTheProfile() throws {
        let session = try newSession()
        let code = try #require(session["code"]?.stringValue)
        #expect(session["actionName"] == "authenticate")
        #expect(try client.authenticateURL(code: code) == session["url"]?.stringValue)
        let outcomes = Mutex<[PollOutcome]>([])
        let poll = try client.poll(device: device, code: code, options: PollOptions(json: nil)) { outcome in
            outcomes.withLock { $0.append(outcome) }
        }
        Thread.sleep(forTimeInterval: 1)
        try emulator.login(code)
        let outcome = try #require(poll.wait(timeoutMs: 20_000))
        #expect(outcome.status == .ok && outcome.result?.json["profiles"]?["Cablevision"] != nil)
        Thread.sleep(forTimeInterval: 0.1)
        #expect(outcomes.withLock { $0.count } == 1)
        let profile = try client.profile(device: device, mvpd: "Cablevision")
        #expect(profile["profiles"]?["Cablevision"]?["notAfter"]?.int64Value != nil)
        #expect(try client.storedProfiles(device: device)["profiles"]?["Cablevision"] != nil)
    }

    @Test func secondScreenResumesWithTheMissingParameters() throws {
        let session = try newSession("{}")
        let code = try #require(session["code"]?.stringValue)
        #expect(session["actionName"] == "resume" && session["missingParameters"]?.arrayValue?.count == 3)
        let resumed = try client.resumeSession(device: device, code: code, parameters: SessionParameters(json: JSON.parse(
            #"{"mvpd":"Cablevision","domainName":"adobe.com","redirectUrl":"https://adobe.com"}"#)))
        #expect(resumed["actionName"] == "authenticate")
        try emulator.login(code)
        let poll = try client.poll(device: device, code: code, options: PollOptions(json: nil), callback: nil)
        #expect(poll.wait(timeoutMs: 20_000)?.status == .ok)
    }

    @Test func expiredCodeEndsThePoll() throws {
        _ = try emulator.control("/_emulator/config", post: ["codeTtlSeconds": 3])
        let code = try #require(newSession()["code"]?.stringValue)
        let poll = try client.poll(device: device, code: code, options: PollOptions(json: nil), callback: nil)
        #expect(poll.wait(timeoutMs: 15_000)?.status == .expired)
    }

    @Test func cancelFromAnotherThreadAndFromTheCallback() throws {
        let code = try #require(newSession()["code"]?.stringValue)
        let poll = try client.poll(device: device, code: code, options: PollOptions(json: nil), callback: nil)
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.2) { poll.cancel() }
        #expect(poll.wait(timeoutMs: 5_000)?.status == .cancelled)

        let second = try #require(newSession()["code"]?.stringValue)
        try emulator.login(second)
        let holder = Mutex<Poll?>(nil)
        let fired = Atomic<Int>(0)
        let inner = try client.poll(device: device, code: second, options: PollOptions(json: nil)) { _ in
            fired.add(1, ordering: .relaxed)
            holder.withLock { $0 }?.release()  // free from inside the callback must not deadlock
        }
        holder.withLock { $0 = inner }
        #expect(inner.wait(timeoutMs: 15_000)?.status == .ok)
        Thread.sleep(forTimeInterval: 0.2)
        #expect(fired.load(ordering: .relaxed) == 1)
    }

    @Test func aNewerCodeSupersedesTheOldPoll() throws {
        let first = try #require(newSession()["code"]?.stringValue)
        let poll = try client.poll(device: device, code: first, options: PollOptions(json: nil), callback: nil)
        _ = try newSession()
        #expect(poll.wait(timeoutMs: 1_000)?.status == .cancelled)
    }

    @Test func aSlowServerOnlySlowsThePollDown() throws {
        let code = try #require(newSession()["code"]?.stringValue)
        _ = try emulator.control("/_emulator/faults", post: ["faults": [["kind": "delay", "delayMs": 2000, "count": 2, "endpoint": "profiles.code"]]])
        let poll = try client.poll(device: device, code: code, options: PollOptions(json: ["intervalMs": 100]), callback: nil)
        Thread.sleep(forTimeInterval: 6)
        try emulator.login(code)
        #expect(poll.wait(timeoutMs: 30_000)?.status == .ok)
        let times = try emulator.pollTimes(code)
        #expect(times.count >= 2)
        #expect(zip(times, times.dropFirst()).allSatisfy { $1 - $0 >= 2_990 })
    }
}
