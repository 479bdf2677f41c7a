import Foundation
import Synchronization
import Testing
@testable import PassAuthCore

/// The resources of each decisions request, in order.
final class ResourceLog: Sendable {
    private let entries = Mutex<[[String]]>([])
    func append(_ resources: [String]) { entries.withLock { $0.append(resources) } }
    var all: [[String]] { entries.withLock { $0 } }
}

/// A decisions fake: permits everything except resources starting with "deny", with a media token.
private func decisionsFake(log: ResourceLog) -> FakeTransport {
    serviceFake { request in
        if request.endpoint == "logout" {
            return json(200, #"{"logouts":{"Cablevision":{"actionName":"logout","actionType":"interactive","mvpd":"Cablevision","url":"https://mvpd/logout"}}}"#)
        }
        guard request.endpoint.hasPrefix("decisions.") else { return json(200, #"{"profiles":{}}"#) }
        let body = (try? JSON.parse(request.body ?? [])) ?? .null
        let resources = body["resources"]?.arrayValue?.compactMap(\.stringValue) ?? []
        log.append(resources)
        let decisions = resources.map { resource -> JSON in
            if resource.hasPrefix("deny") {
                return ["resource": .string(resource), "mvpd": "Cablevision", "source": "mvpd", "authorized": false,
                        "error": ["status": 403, "code": "authorization_denied_by_mvpd", "action": "none", "message": "no"]]
            }
            var decision: JSON = ["resource": .string(resource), "mvpd": "Cablevision", "source": "mvpd", "authorized": true,
                                  "notBefore": "1700000000000", "notAfter": .string(String(Clock.nowMs() + 600_000))]
            if request.endpoint == "decisions.authorize" {
                decision = decision.setting("token", ["notBefore": 1, "notAfter": "2", "serializedToken": "PHNpZ25hdHVyZUluZm8-secret-token"])
            }
            return decision
        }
        return json(200, JSON.object([("decisions", .array(decisions))]).serialized())
    }
}

@Suite struct DecisionsTests {
    @Test func timestampsAreNormalisedEverywhere() {
        let input: JSON = ["notBefore": "1700000000000", "a": [["notAfter": "12", "issuedAt": "x1"]],
                           "expiresAt": 5, "createdAt": " 7 ", "other": "123"]
        let output = normalizingTimestamps(input)
        #expect(output["notBefore"] == JSON.int(1_700_000_000_000))
        #expect(output["a"]?.arrayValue?.first?["notAfter"] == JSON.int(12))
        #expect(output["a"]?.arrayValue?.first?["issuedAt"] == "x1")
        #expect(output["expiresAt"] == JSON.int(5) && output["createdAt"] == JSON.int(7) && output["other"] == "123")
    }

    @Test func authorizeReturnsPermitAndDenyAndRemembersTheToken() throws {
        let log = ResourceLog()
        let client = try Client(config: makeConfig(store: temporaryDirectory()), transport: decisionsFake(log: log), retryPolicy: fastPolicy())
        let result = try client.authorize(device: client.config.device, mvpd: "Cablevision", resources: ["REF30", "deny-1"])
        let decisions = result["decisions"]?.arrayValue ?? []
        #expect(decisions.count == 2)
        #expect(decisions[0]["authorized"] == true && decisions[0]["notBefore"] == JSON.int(1_700_000_000_000))
        #expect(decisions[0]["token"]?["notAfter"] == JSON.int(2))
        #expect(decisions[1]["authorized"] == false && decisions[1]["error"]?["code"] == "authorization_denied_by_mvpd")
        #expect(client.redactor.scrub("x PHNpZ25hdHVyZUluZm8-secret-token y") == "x [redacted] y")
        // One request per resource (authorizeBatchSize 1), and authorization is never cached.
        #expect(log.all.map(\.count) == [1, 1])
        _ = try client.authorize(device: client.config.device, mvpd: "Cablevision", resources: ["REF30"])
        #expect(log.all.count == 3)
        #expect(client.decisionCache.count == 0)
    }

    @Test func preauthorizeSplitsMergesAndCaches() throws {
        let log = ResourceLog()
        let client = try Client(config: makeConfig(store: temporaryDirectory()), transport: decisionsFake(log: log), retryPolicy: fastPolicy())
        let resources = (0..<12).map { $0 == 4 ? "deny-4" : "r\($0)" }
        let result = try client.preauthorize(device: client.config.device, mvpd: "Cablevision", resources: JSON.array(resources.map(JSON.string)))
        let decisions = result["decisions"]?.arrayValue ?? []
        #expect(decisions.compactMap { $0["resource"]?.stringValue } == resources)
        #expect(log.all.map(\.count).sorted() == [2, 5, 5])  // sent side by side
        // Permits from the cache, the deny asked again, in the caller's order.
        let again = try client.preauthorize(device: client.config.device, mvpd: "Cablevision", resources: ["r11", "deny-4", "r0"])
        #expect(again["decisions"]?.arrayValue?.compactMap { $0["resource"]?.stringValue } == ["r11", "deny-4", "r0"])
        #expect(log.all.last == ["deny-4"])
        #expect(client.stats.cacheHits.current == 2)
        // Logout forgets them.
        _ = try client.logout(device: client.config.device, mvpd: "Cablevision", redirectURL: "https://back")
        #expect(client.decisionCache.count == 0)
    }

    @Test func invalidResourcesAreRejectedBeforeAnyRequest() throws {
        let log = ResourceLog()
        let fake = decisionsFake(log: log)
        let client = try Client(config: makeConfig(store: temporaryDirectory()), transport: fake)
        for bad: JSON in [[], [1], [""], "REF30", ["resources": ["a"]]] {
            #expect { try client.authorize(device: client.config.device, mvpd: "Cablevision", resources: bad) } throws: {
                ($0 as? PassAuthError)?.status == .invalidArgument
            }
        }
        #expect { try client.preauthorize(device: client.config.device, mvpd: "", resources: ["a"]) } throws: {
            ($0 as? PassAuthError)?.key == "mvpd"
        }
        #expect(fake.requests.isEmpty)
    }

    /// The one-pass reader of plain `["id", ...]` agrees with jansson on what it accepts, and leaves
    /// everything else (escapes, non-ASCII, other types, trailing text) to jansson's rules.
    @Test func plainResourcesAgreeWithJansson() throws {
        let plain: [(String, [String])] = [
            (#"["REF30"]"#, ["REF30"]), (#" [ "a" , "b c" ,"d"] "#, ["a", "b c", "d"]),
            ("[\"x\"]\n", ["x"]), (#"["<rss version=\"2.0\"/>"]"#, ["<rss version=\"2.0\"/>"]),
        ]
        for (text, expected) in plain {
            #expect(try Decisions.resources(text: text) == expected, "\(text)")
        }
        #expect(Decisions.plainResources("[\"a\"]") == ["a"])
        for text in [#"["a\"b"]"#, #"["é"]"#, #"["\u00e9"]"#] {
            #expect(Decisions.plainResources(text) == nil, "\(text)")
            #expect(try Decisions.resources(text: text).count == 1)
        }
        for bad in ["", "[]", #"[""]"#, #"["a",]"#, #"["a"] x"#, #"["a""#, "[1]", #"{"a":1}"#, #"["a"]]"#, "[\"a\tb\"]"] {
            #expect(Decisions.plainResources(bad) == nil, "\(bad)")
            #expect { try Decisions.resources(text: bad) } throws: { ($0 as? PassAuthError)?.status == .invalidArgument }
        }
    }

    @Test func mvpdIsOnePathSegment() throws {
        let log = ResourceLog()
        let fake = decisionsFake(log: log)
        let client = try Client(config: makeConfig(store: temporaryDirectory()), transport: fake)
        _ = try client.authorize(device: client.config.device, mvpd: "../x?y#z", resources: ["a"])
        let request = fake.requests.last { $0.endpoint == "decisions.authorize" }
        #expect(request?.url.hasSuffix("/api/v2/REF30/decisions/authorize/..%2Fx%3Fy%23z") == true)
        let header = request?.header("Content-Type")
        #expect(header == "application/json")
    }

    @Test func logoutClearsTheStoredProfileOfThatDeviceAndMVPD() throws {
        let store = MemoryStore()
        let log = ResourceLog()
        let client = try Client(config: makeConfig(store: temporaryDirectory()), transport: decisionsFake(log: log), store: store)
        try client.state.updateProfiles([("device-1", { _ in ["Cablevision": ["type": "regular"], "Dish": ["type": "regular"]] }),
                                         ("device-2", { _ in ["Cablevision": ["type": "regular"]] })])
        let result = try client.logout(device: client.config.device, mvpd: "Cablevision", redirectURL: "https://back?a=1")
        #expect(result["logouts"]?["Cablevision"]?["actionType"] == "interactive")
        #expect(try client.state.profiles(device: "device-1")["Cablevision"] == nil)
        #expect(try client.state.profiles(device: "device-1")["Dish"] != nil)
        #expect(try client.state.profiles(device: "device-2")["Cablevision"] != nil)
    }

    /// The profile refresh after a permit stores what it fetched, unless the device's profiles were
    /// dropped (here: a logout) after it was sent: a refresh never brings a logged-out profile back.
    @Test func aRefreshFetchedBeforeALogoutIsNotStoredAfterIt() throws {
        let log = ResourceLog()
        let decisions = decisionsFake(log: log)
        let fake = FakeTransport { request, index in
            guard request.endpoint == "profiles.mvpd" else { return (try? decisions.send(request)) ?? json(500, "{}") }
            return json(200, #"{"profiles":{"Cablevision":{"type":"regular","notAfter":\#(Clock.nowMs() + 600_000),"attributes":{"householdID":{"value":"new","state":"plain"}}}}}"#)
        }
        let client = try Client(config: makeConfig(store: temporaryDirectory(), extra: [("profileRefreshMs", 600_000)]),
                                transport: fake, store: MemoryStore())
        func device(_ id: String) -> Device { var device = Device(); device.id = id; return device }
        func afterTheResultThread() {
            let done = DispatchSemaphore(value: 0)
            client.poller.enqueue { done.signal() }
            done.wait()
        }
        // Kept: device-1's refresh lands, nothing happened meanwhile.
        _ = try client.authorize(device: device("device-1"), mvpd: "Cablevision", resources: ["REF30"])
        afterTheResultThread()
        #expect(try client.state.profiles(device: "device-1")["Cablevision"]?["attributes"]?["householdID"] != nil)
        // Dropped: device-2's refresh waits behind a busy result thread while the user logs out.
        let gate = DispatchSemaphore(value: 0)
        client.poller.enqueue { gate.wait() }
        _ = try client.authorize(device: device("device-2"), mvpd: "Cablevision", resources: ["REF30"])
        _ = try client.logout(device: device("device-2"), mvpd: "Cablevision", redirectURL: "https://back")
        gate.signal()
        afterTheResultThread()
        #expect(try client.state.profiles(device: "device-2")["Cablevision"] == nil)
        #expect(fake.count("profiles.mvpd") == 2)
    }

    @Test func cacheExpiresAndIsBounded() {
        let cache = DecisionCache(capacity: 10, defaultTTLMs: 1_000)
        let now: Int64 = 1_000_000
        let scope = DecisionCache.Scope(device: "d", mvpd: "m")
        cache.store(["authorized": true], scope, "r0", now: now)
        #expect(cache.lookup(scope, "r0", now: now) != nil)  // used: survives the first eviction round
        for i in 1...10 { cache.store(["authorized": true], scope, "r\(i)", now: now) }  // one over capacity
        #expect(cache.count == 10)
        #expect(cache.lookup(scope, "r0", now: now) != nil)  // a second chance for the entry in use
        #expect(cache.lookup(scope, "r1", now: now) == nil)  // the oldest unused went instead
        for i in 11..<25 { cache.store(["authorized": true], scope, "r\(i)", now: now) }
        #expect(cache.count == 10)  // bounded whatever the traffic
        #expect(cache.lookup(scope, "r24", now: now) != nil)
        #expect(cache.lookup(scope, "r24", now: now + 1_001) == nil)
        cache.store(["authorized": false], scope, "deny", now: now)
        #expect(cache.lookup(scope, "deny", now: now) == nil)
        cache.store(["authorized": true, "notAfter": .int(now - 1)], scope, "old", now: now)
        #expect(cache.lookup(scope, "old", now: now) == nil)
        cache.store(["authorized": true, "token": ["serializedToken": "never-cached"]], scope, "t", now: now)
        #expect(cache.lookup(scope, "t", now: now).map { String(decoding: $0, as: UTF8.self).containsBytes("never-cached") } == false)
        // A permit is written out on its first use, as the decision it was, and the same thereafter.
        cache.store(["resource": "p", "authorized": true, "source": "mvpd\"q"], scope, "p", now: now)
        let first = cache.lookup(scope, "p", now: now)
        #expect(first.map { String(decoding: $0, as: UTF8.self) } == #"{"resource":"p","authorized":true,"source":"mvpd\"q"}"#)
        #expect(cache.lookup(scope, "p", now: now) == first)
        cache.removeAll(device: "d", mvpd: "m")
        #expect(cache.count == 0 && cache.lookup(scope, "p", now: now) == nil)
    }
}
