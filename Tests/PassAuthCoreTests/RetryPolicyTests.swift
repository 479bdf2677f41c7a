import Foundation
import Synchronization
import Testing
@testable import PassAuthCore

/// A policy with tiny backoffs so the tests stay fast; the 429 wait keeps its real one second.
func fastPolicy() -> RetryPolicy {
    var policy = RetryPolicy()
    policy.baseDelayMs = 10
    policy.maxDelayMs = 40
    return policy
}

func enhanced(_ status: Int, code: String, action: String) -> HTTPResponse {
    json(status, #"{"status":\#(status),"code":"\#(code)","action":"\#(action)","message":"m","helpUrl":"https://help","trace":"t-1"}"#)
}

private func fakeClient(policy: RetryPolicy = fastPolicy(), timeoutMs: Int = 30_000,
                        api: @escaping @Sendable (HTTPRequest) -> HTTPResponse) throws -> (Client, FakeTransport) {
    let fake = serviceFake(configuration: api)
    let config = try makeConfig(store: temporaryDirectory(), extra: [("timeoutMs", .int(Int64(timeoutMs)))])
    return (try Client(config: config, transport: fake, retryPolicy: policy), fake)
}

/// Answers `failure` for the first `count` API calls, then `success`.
private func failing(_ count: Int, with failure: HTTPResponse, then success: HTTPResponse = json(200, #"{"requestor":{"mvpds":[]}}"#))
    -> @Sendable (HTTPRequest) -> HTTPResponse
{
    let seen = Atomic<Int>(0)
    return { _ in seen.add(1, ordering: .relaxed).newValue <= count ? failure : success }
}

@Suite struct RetryPolicyTableTests {
    /// One table for blocking calls and polls: the class of each failure, then what a poll does with it.
    @Test func oneClassificationForCallsAndPolls() {
        let policy = RetryPolicy()
        func failure(_ status: Status, http: Int? = nil, action: String? = nil, code: String? = nil, retryAfter: Int? = nil) -> PassAuthError {
            var e = PassAuthError(status, "x")
            e.httpStatus = http
            e.action = action
            e.code = code
            e.retryAfterMs = retryAfter
            return e
        }
        let table: [(PassAuthError, RetryPolicy.Disposition)] = [
            (failure(.service, http: 403, action: "retry"), .transient(afterMs: nil)),
            (failure(.service, http: 503, action: "retry", retryAfter: 5_000), .transient(afterMs: 5_000)),
            (failure(.service, http: 500, action: "none"), .transient(afterMs: nil)),
            (failure(.http, http: 502), .transient(afterMs: nil)),
            (failure(.transport), .transient(afterMs: nil)),
            (failure(.timeout), .transient(afterMs: nil)),
            (failure(.throttled, http: 429, retryAfter: 1_000), .throttled(afterMs: 1_000)),
            (failure(.throttled, http: 429, retryAfter: 7_000), .throttled(afterMs: 7_000)),
            (failure(.unauthorized, http: 401, action: "application-registration"), .refreshToken),
            (failure(.service, http: 403, action: "application-registration"), .reregister),
            // The action decides when there is one: a 5xx asking for a login is not retried.
            (failure(.service, http: 500, action: "authentication"), .surface),
            (failure(.service, http: 503, action: "configuration"), .surface),
            (failure(.service, http: 403, action: "authorization"), .surface),
            (failure(.service, http: 400, action: "none"), .surface),
            (failure(.service, http: 400, action: "retry", code: "invalid_authentication_session"), .expired),
            (failure(.http, http: 410), .expired),
            (failure(.protocol, http: 200), .surface),
            (failure(.http, http: 404), .surface),
        ]
        for (error, expected) in table {
            #expect(policy.classify(error) == expected, "\(error.status.name) \(error.httpStatus ?? 0) \(error.action ?? "-")")
        }
        // A poll slows down on transient failures and 429s (never below what the 429 asks), goes on
        // after a token refresh, and ends on everything else.
        #expect(policy.pollInterval(after: .transient(afterMs: nil), currentMs: 4_000, maximumMs: 30_000) == 6_000)
        #expect(policy.pollInterval(after: .transient(afterMs: nil), currentMs: 28_000, maximumMs: 30_000) == 30_000)
        #expect(policy.pollInterval(after: .throttled(afterMs: 45_000), currentMs: 4_000, maximumMs: 30_000) == 45_000)
        #expect(policy.pollInterval(after: .refreshToken, currentMs: 4_000, maximumMs: 30_000) == 4_000)
        for ending in [RetryPolicy.Disposition.reregister, .expired, .surface] {
            #expect(policy.pollInterval(after: ending, currentMs: 4_000, maximumMs: 30_000) == nil)
        }
    }
}

@Suite struct RetryPolicyTests {
    @Test func verdictsFollowTheActionAndTheStatus() {
        let policy = RetryPolicy()
        func error(_ http: Int?, action: String?, status: Status = .service) -> PassAuthError {
            var e = PassAuthError(status, "x")
            e.httpStatus = http
            e.action = action
            return e
        }
        func retries(_ e: PassAuthError) -> Bool {
            if case .retry = policy.verdict(for: e, attempt: 1, reregistered: false, remainingMs: 30_000) { return true }
            return false
        }
        #expect(retries(error(403, action: "retry")))
        #expect(retries(error(500, action: "none")))
        #expect(retries(error(502, action: nil, status: .http)))
        #expect(retries(PassAuthError(.transport, "reset")))
        #expect(retries(error(429, action: nil, status: .throttled)))
        #expect(!retries(error(403, action: "authentication")))
        #expect(!retries(error(403, action: "authorization")))
        #expect(!retries(error(400, action: "configuration")))
        #expect(!retries(error(400, action: "none")))
        #expect(!retries(error(500, action: "configuration")))
        #expect(!retries(error(404, action: nil, status: .http)))
        // A timeout is transient (a poll goes on), but a blocking call that timed out used its budget.
        #expect(policy.classify(PassAuthError(.timeout, "slow")) == .transient(afterMs: nil))
        #expect(policy.verdict(for: PassAuthError(.timeout, "slow"), attempt: 1, reregistered: false, remainingMs: 0) == .surface)
        #expect(!retries(PassAuthError(.protocol, "bad json")))
        #expect(policy.verdict(for: error(403, action: "application-registration"), attempt: 1, reregistered: false, remainingMs: 1) == .reregister)
        #expect(policy.verdict(for: error(403, action: "application-registration"), attempt: 2, reregistered: true, remainingMs: 1) == .surface)
        #expect(policy.verdict(for: error(401, action: "application-registration"), attempt: 1, reregistered: false, remainingMs: 1) == .surface)
        // Never a fourth attempt, whatever the reason.
        #expect(policy.verdict(for: error(503, action: "retry"), attempt: 3, reregistered: false, remainingMs: 30_000) == .surface)
        // A Retry-After longer than the budget is not waited for.
        var long = error(503, action: nil, status: .http)
        long.retryAfterMs = 60_000
        #expect(policy.verdict(for: long, attempt: 1, reregistered: false, remainingMs: 30_000) == .surface)
    }

    @Test func backoffIsExponentialJitteredAndCapped() {
        let policy = RetryPolicy()
        for _ in 0..<200 {
            let first = policy.backoffMs(afterAttempt: 1)
            let second = policy.backoffMs(afterAttempt: 2)
            let late = policy.backoffMs(afterAttempt: 10)
            #expect((100...200).contains(first))
            #expect((200...400).contains(second))
            #expect((1_000...2_000).contains(late))
        }
        #expect(policy.backoffMs(afterAttempt: 1, random: { $0.lowerBound }) == 100)
        #expect(policy.backoffMs(afterAttempt: 1, random: { $0.upperBound }) == 200)
    }

    @Test func retryActionIsRetriedThenGivenUpAfterThreeAttempts() throws {
        let (client, fake) = try fakeClient(api: failing(3, with: enhanced(503, code: "network_connection_timeout", action: "retry")))
        #expect { try client.configuration(device: client.config.device) } throws: {
            let e = $0 as? PassAuthError
            return e?.status == .service && e?.code == "network_connection_timeout" && e?.action == "retry"
        }
        #expect(fake.count("configuration") == 3)
        #expect(client.stats.retries.current == 2)
    }

    @Test func retryThenSuccess() throws {
        let (client, fake) = try fakeClient(api: failing(2, with: json(502, "<html>bad gateway</html>", contentType: "text/html")))
        _ = try client.configuration(device: client.config.device)
        #expect(fake.count("configuration") == 3 && client.stats.retries.current == 2)
    }

    @Test func surfacedActionsAreNotRetried() throws {
        for action in ["authentication", "authorization", "configuration", "none"] {
            let (client, fake) = try fakeClient(api: failing(5, with: enhanced(403, code: "some_code", action: action)))
            #expect { try client.configuration(device: client.config.device) } throws: {
                ($0 as? PassAuthError)?.action == action && ($0 as? PassAuthError)?.helpUrl == "https://help"
            }
            #expect(fake.count("configuration") == 1)
            #expect(client.stats.retries.current == 0)
        }
    }

    @Test func applicationRegistrationRegistersAgainOnce() throws {
        let (client, fake) = try fakeClient(api: failing(1, with: enhanced(403, code: "invalid_client_application", action: "application-registration")))
        _ = try client.configuration(device: client.config.device)
        #expect(fake.count("register") == 2 && fake.count("configuration") == 2)

        let (stubborn, fake2) = try fakeClient(api: failing(9, with: enhanced(403, code: "invalid_client_application", action: "application-registration")))
        #expect { try stubborn.configuration(device: stubborn.config.device) } throws: { ($0 as? PassAuthError)?.action == "application-registration" }
        #expect(fake2.count("register") == 2 && fake2.count("configuration") == 2)
    }

    @Test func throttledRequestWaitsAtLeastOneSecondForThatDevice() throws {
        let times = Mutex<[Int64]>([])
        let seen = Atomic<Int>(0)
        let (client, _) = try fakeClient { _ in
            times.withLock { $0.append(Clock.monotonicMs()) }
            return seen.add(1, ordering: .relaxed).newValue == 1
                ? json(429, "<html>429 Too Many Requests</html>", contentType: "text/html")
                : json(200, #"{"requestor":{"mvpds":[]}}"#)
        }
        _ = try client.configuration(device: client.config.device)
        let stamps = times.withLock { $0 }
        #expect(stamps.count == 2)
        #expect(stamps[1] - stamps[0] >= 1_000)
        #expect(client.stats.throttled.current == 1 && client.stats.retries.current == 1)
    }

    @Test func throttleWaitBeyondTheTimeoutFailsFast() throws {
        let response = HTTPResponse(status: 429, contentType: "text/html", retryAfter: "30", location: nil, body: Array("<html/>".utf8))
        let (client, fake) = try fakeClient(timeoutMs: 2_000) { _ in response }
        let started = Clock.monotonicMs()
        #expect { try client.configuration(device: client.config.device) } throws: {
            let e = $0 as? PassAuthError
            return e?.status == .throttled && (e?.retryAfterMs ?? 0) > 2_000
        }
        #expect(fake.count("configuration") == 1)
        #expect(Clock.monotonicMs() - started < 1_000)
    }

    @Test func throttleGateIsPerDevice() {
        let gate = ThrottleGate()
        gate.deferRequests(for: "10.0.0.1", byMs: 5_000)
        #expect(gate.remainingMs(for: "10.0.0.1") > 4_000)
        #expect(gate.remainingMs(for: "10.0.0.2") == 0)
        var device = Device()
        device.id = "box"
        #expect(RetryPolicy.deviceKey(device) == "box")
        device.ip = "10.0.0.1"
        #expect(RetryPolicy.deviceKey(device) == "10.0.0.1")
    }
}

@Suite struct PacingTests {
    @Test func burstOfTenThenOnePerSecondPerDevice() throws {
        let pacer = Pacer()
        let t0: Int64 = 1_000_000
        for _ in 0..<10 { #expect(try pacer.reserve(for: "a", timeoutMs: 30_000, endpoint: "x", now: t0) == 0) }
        #expect(try pacer.reserve(for: "a", timeoutMs: 30_000, endpoint: "x", now: t0) == 1_000)
        #expect(try pacer.reserve(for: "a", timeoutMs: 30_000, endpoint: "x", now: t0) == 2_000)
        #expect(try pacer.reserve(for: "b", timeoutMs: 30_000, endpoint: "x", now: t0) == 0)
        // Refilled after the wait: half a second later the queue is half a second shorter.
        #expect(try pacer.reserve(for: "a", timeoutMs: 30_000, endpoint: "x", now: t0 + 500) == 2_500)
    }

    @Test func takeNeverReservesAhead() {
        // The poller's way: a token now, or the wait until one is, with nothing taken meanwhile.
        let pacer = Pacer()
        for _ in 0..<10 { #expect(pacer.take(for: "a", now: 0) == 0) }
        #expect(pacer.take(for: "a", now: 0) == 1_000)
        #expect(pacer.take(for: "a", now: 0) == 1_000)
        #expect(pacer.take(for: "a", now: 400) == 600)
        #expect(pacer.take(for: "a", now: 1_000) == 0)
        #expect(pacer.take(for: "a", now: 1_000) == 1_000)
        #expect(pacer.take(for: "b", now: 1_000) == 0)
    }

    @Test func aWaitBeyondTheTimeoutFailsFastAndReservesNothing() throws {
        let pacer = Pacer()
        for _ in 0..<10 { _ = try pacer.reserve(for: "a", timeoutMs: 500, endpoint: "x", now: 0) }
        #expect(throws: PassAuthError.self) { try pacer.reserve(for: "a", timeoutMs: 500, endpoint: "x", now: 0) }
        #expect(try pacer.reserve(for: "a", timeoutMs: 5_000, endpoint: "x", now: 0) == 1_000)
    }
}
