import Foundation
import Synchronization
import Testing
@testable import PassAuthCore

/// The fleet's polls in Redis (Redis/FleetPolls.swift, Polling/FleetPoller.swift) against a real
/// redis-server: the scripts one by one, then clients sharing polls in one process.
@Suite(.serialized) struct FleetPollTests {
    /// One fleet's keys (its own prefix) as seen by two instances.
    struct Fleet {
        let redis: RedisClient
        let keys: StateKeys
        let a: FleetPolls
        let b: FleetPolls

        init(prefix: String = uniquePrefix()) {
            redis = RedisServer.shared.client()
            keys = StateKeys(prefix: prefix, baseURL: "http://127.0.0.1:9", serviceProvider: "REF30")
            a = FleetPolls(keys: keys, instance: "instance-a")
            b = FleetPolls(keys: keys, instance: "instance-b")
        }

        func run(_ call: RedisScriptCall) throws -> RedisValue {
            let reply = try redis.runAll([call], timeoutMs: 2000)[0]
            if let error = reply.errorMessage { throw PassAuthError(.store, error) }
            return reply
        }

        /// A new record for `device` and `code`, due after `delayMs`.
        @discardableResult
        func join(_ polls: FleetPolls, device: String = "tv-1", code: String, fresh: Bool = true, waiters: Int = 1,
                  intervalMs: Int = 3000, delayMs: Int64 = 0, lastRequest: Int64? = nil) throws -> FleetPolls.View {
            let id = FleetPolls.id(device: device, code: code)
            let call = polls.join(id: id, digest: FleetPolls.deviceDigest(device), waiters: waiters, fresh: fresh, code: code,
                                  device: #"{"id":"\#(device)"}"#, intervalMs: intervalMs, notAfter: Clock.nowMs() + 600_000,
                                  lastRequest: lastRequest, firstDelayMs: delayMs, ttlMs: 600_000)
            return try #require(FleetPolls.view(try run(call)))
        }

        func claim(_ polls: FleetPolls, requestTimeoutMs: Int = 3000) throws -> FleetPolls.Claims {
            try #require(FleetPolls.claims(try run(polls.claim(max: 100, requestTimeoutMs: requestTimeoutMs))))
        }

        func read(device: String = "tv-1", code: String) throws -> FleetPolls.View {
            try #require(FleetPolls.view(try run(a.read(id: FleetPolls.id(device: device, code: code)))))
        }

        func field(_ device: String = "tv-1", _ code: String, _ name: String) throws -> String? {
            try redis.command(["HGET", a.record(FleetPolls.id(device: device, code: code)), name], timeoutMs: 2000).text
        }

        /// The messages published on the fleet's channel while `body` runs.
        func events(_ body: () throws -> Void) throws -> [JSON] {
            let received = Locked<[String]>([])
            let subscribed = Atomic<Int>(0)
            let listener = RedisServer.shared.client()
            let subscription = listener.subscribe(keys.events) { event in
                switch event {
                case .message(let text): received.withLock { $0.append(text) }
                case .subscribed: subscribed.add(1, ordering: .relaxed)
                }
            }
            defer { listener.unsubscribe(subscription); listener.shutdown() }
            _ = try listener.command(["PING"], timeoutMs: 2000)
            let deadline = Clock.monotonicMs() + 3000
            while subscribed.load(ordering: .relaxed) == 0 && Clock.monotonicMs() < deadline { usleep(5000) }
            let before = received.withLock { $0.count }
            try body()
            usleep(200_000)
            return received.withLock { Array($0[before...]) }.compactMap { try? JSON.parse($0) }
        }
    }

    /// A record is claimed by one instance at a time; the next claim waits for its interval after the
    /// answer, fleet-wide, and never less than 3 s even when its interval says less.
    @Test func claimHonoursTheIntervalAndTheFloorFleetWide() throws {
        let fleet = Fleet()
        try fleet.join(fleet.a, code: "C1")
        let first = try fleet.claim(fleet.a)
        #expect(first.claimed.map(\.code) == ["C1"])
        #expect(try fleet.claim(fleet.b).claimed.isEmpty)  // leased to a
        let token = try #require(first.claimed.first?.token)
        let id = FleetPolls.id(device: "tv-1", code: "C1")
        let released = try fleet.run(fleet.a.release(id: id, token: token, .pending(intervalMs: 3000, notAfter: nil), ttlMs: 600_000))
        let releasedAt = try #require(released.elements?[1].integer)
        // A record whose interval was written below the floor (another client, an old version) still
        // waits 3 s.
        _ = try fleet.redis.command(["HSET", fleet.a.record(id), "iv", "500"], timeoutMs: 2000)
        _ = try fleet.redis.command(["ZADD", fleet.a.due, "0", id], timeoutMs: 2000)
        var second: FleetPolls.Claims? = nil
        let deadline = Clock.monotonicMs() + 6000
        while Clock.monotonicMs() < deadline {
            let claims = try fleet.claim(fleet.b)
            if !claims.claimed.isEmpty { second = claims; break }
            #expect(claims.now - releasedAt < 3000)
            usleep(100_000)
        }
        let taken = try #require(second)
        #expect(taken.now - releasedAt >= 3000)
        #expect(taken.claimed.first?.requests == 2)
        #expect(try fleet.field("tv-1", "C1", "by") == "instance-b")
        #expect(try fleet.read(code: "C1").requests == 2)
    }

    /// The owner of a claim that never answers (it died): its lease ends, and the poll is due again for
    /// any instance (no release needed), within two intervals of the claim.
    @Test func leaseExpiryMakesAPollClaimableAgain() throws {
        let fleet = Fleet()
        try fleet.join(fleet.a, code: "C2")
        let claimed = try fleet.claim(fleet.a, requestTimeoutMs: 3000)
        #expect(claimed.claimed.count == 1)
        let leaseEnd = try #require(try fleet.field("tv-1", "C2", "lease").flatMap { Int64($0) })
        #expect(leaseEnd - claimed.now == 4500)  // interval + min(request timeout, interval / 2)
        #expect(try fleet.read(code: "C2").due == leaseEnd)
        // Brought forward to keep the test short: the score is what the fleet sees.
        _ = try fleet.redis.command(["ZADD", fleet.a.due, String(claimed.now + 3000), FleetPolls.id(device: "tv-1", code: "C2")],
                                    timeoutMs: 2000)
        var takeover: FleetPolls.Claims? = nil
        let deadline = Clock.monotonicMs() + 5000
        while Clock.monotonicMs() < deadline {
            let claims = try fleet.claim(fleet.b)
            if !claims.claimed.isEmpty { takeover = claims; break }
            usleep(100_000)
        }
        let taken = try #require(takeover)
        #expect(taken.now - claimed.now >= 3000)
        // The dead owner's late release changes nothing: its token no longer holds the claim.
        let stale = try fleet.run(fleet.a.release(id: FleetPolls.id(device: "tv-1", code: "C2"), token: claimed.claimed[0].token,
                                                  .pending(intervalMs: 3000, notAfter: nil), ttlMs: 600_000))
        #expect(stale.elements?[0].integer == 0)
        #expect(try fleet.field("tv-1", "C2", "own") == "instance-b")
    }

    /// An unsent claim (the device's pacing said wait) goes back as it was: no request counted, the last
    /// request time restored, due after the wait.
    @Test func unclaimRestoresThePoll() throws {
        let fleet = Fleet()
        try fleet.join(fleet.a, code: "C3")
        let claim = try #require(try fleet.claim(fleet.a).claimed.first)
        #expect(try fleet.field("tv-1", "C3", "n") == "1")
        let id = FleetPolls.id(device: "tv-1", code: "C3")
        _ = try fleet.run(fleet.a.release(id: id, token: claim.token, .unclaim(waitMs: 0), ttlMs: 600_000))
        #expect(try fleet.field("tv-1", "C3", "n") == "0")
        #expect(try fleet.field("tv-1", "C3", "last") == nil)
        #expect(try fleet.claim(fleet.b).claimed.map(\.code) == ["C3"])
    }

    /// A newer code for the device supersedes the older poll wherever it runs: started as a poll (join)
    /// or as a session (supersede); the end is published on the fleet's channel.
    @Test func aNewerCodeSupersedesTheOlderPoll() throws {
        let fleet = Fleet()
        try fleet.join(fleet.a, code: "OLD")
        let events = try fleet.events {
            let newer = try fleet.join(fleet.b, code: "NEW")
            #expect(newer.state == "pending")
        }
        #expect(try fleet.read(code: "OLD").state == "superseded")
        #expect(try fleet.read(code: "OLD").due == nil)
        let event = try #require(events.first)
        #expect(event["event"]?.stringValue == "pollEnded" && event["state"]?.stringValue == "superseded")
        #expect(event["poll"]?.stringValue == FleetPolls.id(device: "tv-1", code: "OLD"))
        #expect(event["instance"]?.stringValue == "instance-b")
        // A session created for a third code (no poll of it yet) ends the poll of "NEW".
        _ = try fleet.run(fleet.a.supersede(digest: FleetPolls.deviceDigest("tv-1"), newest: FleetPolls.id(device: "tv-1", code: "THIRD"),
                                            ttlMs: 600_000))
        #expect(try fleet.read(code: "NEW").state == "superseded")
        // A claim of a superseded poll's stale member ends it too, and claims nothing.
        try fleet.join(fleet.a, device: "tv-2", code: "X1")
        _ = try fleet.redis.command(["SET", fleet.a.deviceKey(FleetPolls.deviceDigest("tv-2")), "someone-else"], timeoutMs: 2000)
        #expect(try fleet.claim(fleet.b).claimed.isEmpty)
        #expect(try fleet.read(device: "tv-2", code: "X1").state == "superseded")
        // Resync (Redis lost the record) of an old code after a newer one: superseded, not recreated.
        _ = try fleet.redis.command(["DEL", fleet.a.record(FleetPolls.id(device: "tv-1", code: "NEW"))], timeoutMs: 2000)
        let resynced = try fleet.join(fleet.a, code: "NEW", fresh: false)
        #expect(resynced.state == "superseded")
    }

    /// The instance that finds the profile marks the record done with the answer and publishes it; the
    /// others read the answer from the record.
    @Test func completionIsRecordedAndPublished() throws {
        let fleet = Fleet()
        try fleet.join(fleet.a, code: "DONE")
        let claim = try #require(try fleet.claim(fleet.b).claimed.first)
        let answer = #"{"profiles":{"Cablevision":{"notAfter":1}}}"#
        let events = try fleet.events {
            let reply = try fleet.run(fleet.b.release(id: claim.id, token: nil, .done(answer: Array(answer.utf8)), ttlMs: 600_000))
            #expect(reply.elements?[0].integer == 1)
        }
        let view = try fleet.read(code: "DONE")
        #expect(view.state == "done" && view.answer == Array(answer.utf8) && view.due == nil && view.by == "instance-b")
        let event = try #require(events.first)
        #expect(event["state"]?.stringValue == "done" && event["instance"]?.stringValue == "instance-b" && event["poll"]?.stringValue == claim.id)
        // Done is final: a second finder, a late release or a failure change nothing.
        #expect(try fleet.run(fleet.a.release(id: claim.id, token: nil, .failed(error: "{}"), ttlMs: 600_000)).elements?[0].integer == 0)
        // A new start of the same code gets the answer at once (the profile is stored already).
        #expect(try fleet.join(fleet.a, code: "DONE").state == "done")
        let ttl = try #require(try fleet.redis.command(["PTTL", fleet.a.record(claim.id)], timeoutMs: 2000).integer)
        #expect(ttl > 0 && ttl <= FleetPolls.endedKeepMs)
    }

    /// Waiters: a record stays while any instance has one (a dead instance's count stays, so the fleet
    /// finishes its polls); when the last one leaves, it ends cancelled.
    @Test func theLastWaiterCancels() throws {
        let fleet = Fleet()
        try fleet.join(fleet.a, code: "W", waiters: 2)
        try fleet.join(fleet.b, code: "W")
        let id = FleetPolls.id(device: "tv-1", code: "W")
        let digest = FleetPolls.deviceDigest("tv-1")
        #expect(FleetPolls.view(try fleet.run(fleet.a.leave(id: id, digest: digest, waiters: 0)))?.state == "pending")
        #expect(FleetPolls.view(try fleet.run(fleet.b.leave(id: id, digest: digest, waiters: 0)))?.state == "cancelled")
        #expect(try fleet.redis.command(["GET", fleet.a.deviceKey(digest)], timeoutMs: 2000) == .null)
        // A cancelled record is restarted by a new waiter; a leave never recreates a missing one.
        #expect(try fleet.join(fleet.b, code: "W", fresh: false).state == "pending")
        _ = try fleet.redis.command(["DEL", fleet.a.record(id)], timeoutMs: 2000)
        #expect(FleetPolls.view(try fleet.run(fleet.a.leave(id: id, digest: digest, waiters: 0)))?.state == "")
        #expect(try fleet.redis.command(["EXISTS", fleet.a.record(id)], timeoutMs: 2000).integer == 0)
    }

    /// A record written again after Redis lost it keeps the 3 s rule for the request its writer knows of.
    @Test func aRewrittenRecordWaitsForTheLastKnownRequest() throws {
        let fleet = Fleet()
        let now = try #require(try fleet.redis.command(["TIME"], timeoutMs: 2000).elements?[0].integer) * 1000
        let view = try fleet.join(fleet.a, code: "R", fresh: false, intervalMs: 4000, lastRequest: now)
        #expect(view.state == "pending")
        #expect((view.due ?? 0) >= now + 4000)
        #expect(try fleet.claim(fleet.b).claimed.isEmpty)
    }

    // MARK: - Clients sharing polls

    /// A service whose profiles-by-code answer is pending until `loggedIn`; it records each poll
    /// request's time and which instance (transport) made it.
    final class Service: @unchecked Sendable {
        let loggedIn = Atomic<Bool>(false)
        let log = Locked<[(instance: Int, code: String, at: Int64)]>([])
        let tokens = Atomic<Int>(0)

        func transport(_ instance: Int) -> FakeTransport {
            FakeTransport { [self] request, _ in
                switch request.endpoint {
                case "register": return json(201, #"{"client_id":"c1","client_secret":"s3cr3t-value","client_id_issued_at":1}"#)
                case "token":
                    let n = tokens.add(1, ordering: .relaxed).newValue
                    return json(201, #"{"access_token":"token-\#(n)-abcdef","expires_in":3600,"token_type":"bearer"}"#)
                case "profiles.code":
                    let code = String(request.url.split(separator: "/").last ?? "")
                    log.withLock { $0.append((instance, code, Clock.monotonicMs())) }
                    if loggedIn.load(ordering: .relaxed) {
                        return json(200, #"{"profiles":{"Cablevision":{"notBefore":1,"notAfter":4102444800000,"issuer":"Cablevision","type":"regular","attributes":{}}}}"#)
                    }
                    return json(200, #"{"profiles":{}}"#)
                default: return json(404, "{}")
                }
            }
        }

        func minimumGap(_ code: String) -> Int64? {
            let times = log.withLock { $0.filter { $0.code == code }.map(\.at) }.sorted()
            return zip(times.dropFirst(), times).map { $0 - $1 }.min()
        }
    }

    func client(_ service: Service, _ instance: Int, prefix: String) throws -> Client {
        let config = try makeConfig(store: RedisServer.shared.url(), extra: [("storeKeyPrefix", .string(prefix)), ("logLevel", "none")])
        return try Client(config: config, transport: service.transport(instance))
    }

    /// Three instances: a poll started on A is polled by whichever instance claims it, never twice
    /// within 3 s; the profile found (by any) reaches A's waiter and is stored once for the device.
    /// Which instance wins each claim is a race (one may win them all): tests/c/test_fleet.c stops A
    /// (SIGSTOP) to see another instance take the poll over.
    @Test func threeInstancesShareOnePoll() throws {
        let prefix = uniquePrefix()
        let service = Service()
        let clients = try (0..<3).map { try client(service, $0, prefix: prefix) }
        for client in clients { _ = try client.register(device: client.config.device) }  // each joins the fleet
        var device = Device()
        device.id = "tv-shared"
        let poll = try clients[0].poll(device: device, code: "SHARED1", options: try PollOptions(json: ["intervalMs": 3000, "notAfter": .int(Clock.nowMs() + 600_000)]),
                                       callback: nil)
        // Five requests at least, by whichever instances claim them.
        let deadline = Clock.monotonicMs() + 40_000
        while service.log.withLock({ $0.count }) < 5 && Clock.monotonicMs() < deadline { usleep(100_000) }
        service.loggedIn.store(true, ordering: .relaxed)
        let outcome = try #require(poll.wait(timeoutMs: 15_000))
        #expect(outcome.status == .ok)
        #expect(outcome.result.map { String(decoding: $0.bytes, as: UTF8.self).contains("Cablevision") } == true)
        let gap = try #require(service.minimumGap("SHARED1"))
        #expect(gap >= 3000, "two requests \(gap) ms apart")
        #expect(try clients[1].storedProfiles(device: device)["profiles"]?["Cablevision"] != nil)
        let info = poll.info
        #expect(info["requests"]?.int64Value.map { $0 >= 5 } == true)
        #expect(info["instance"]?.stringValue != nil)
    }

    /// A newer code started on B ends A's poll of the older one (PASSAUTH_E_CANCELLED, superseded).
    @Test func aNewerCodeOnAnotherInstanceEndsTheWaiter() throws {
        let prefix = uniquePrefix()
        let service = Service()
        let a = try client(service, 0, prefix: prefix), b = try client(service, 1, prefix: prefix)
        var device = Device()
        device.id = "tv-newer"
        let options = try PollOptions(json: ["notAfter": .int(Clock.nowMs() + 600_000)])
        let old = try a.poll(device: device, code: "OLDER1", options: options, callback: nil)
        usleep(300_000)  // A's record is written
        let newer = try b.poll(device: device, code: "NEWER1", options: options, callback: nil)
        let outcome = try #require(old.wait(timeoutMs: 5_000))
        #expect(outcome.status == .cancelled)
        #expect(outcome.error?.message.contains("newer authentication code") == true)
        #expect(!newer.isFinished)
        newer.cancel()
    }
}
