import Foundation
import Synchronization
import Testing
@testable import PassAuthCore

@Suite struct RegistrationTests {
    @Test func registersOnceThenReusesTheStore() throws {
        let dir = temporaryDirectory()
        let fake = serviceFake()
        let first = try Client(config: makeConfig(store: dir), transport: fake)
        let outcome = try first.register(device: first.config.device)
        #expect(outcome["registered"] == true && outcome["tokenFetched"] == true)
        #expect(!outcome.serialized().contains("s3cr3t"))

        let second = try Client(config: makeConfig(store: dir), transport: fake)
        let again = try second.register(device: second.config.device)
        #expect(again["registered"] == false && again["tokenFetched"] == false)
        #expect(fake.count("register") == 1 && fake.count("token") == 1)
    }

    @Test func newSoftwareStatementRegistersAgain() throws {
        let dir = temporaryDirectory()
        let fake = serviceFake()
        _ = try Client(config: makeConfig(store: dir), transport: fake).register(device: Device())
        var config = try makeConfig(store: dir)
        config.softwareStatement = "eyJhbGciOiJSUzI1NiJ9.eyJzb2Z0d2FyZV9pZCI6IjQ1NiJ9.c2ln"
        _ = try Client(config: config, transport: fake).register(device: Device())
        #expect(fake.count("register") == 2)
    }

    @Test func concurrentCallersShareOneRegistration() throws {
        let fake = serviceFake()
        let client = try Client(config: makeConfig(store: temporaryDirectory()), transport: fake)
        let failures = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 16) { _ in
            do { _ = try client.register(device: client.config.device) } catch { failures.add(1, ordering: .relaxed) }
        }
        #expect(failures.load(ordering: .relaxed) == 0)
        #expect(fake.count("register") == 1 && fake.count("token") == 1)
    }

    @Test func unauthorizedRefreshesOnceAndRetriesOnce() throws {
        // The first configuration call gets 401; the retry with the new token succeeds.
        let fake = serviceFake { request in
            request.headers.contains("Authorization: Bearer token-1-abcdef")
                ? json(401, #"{"action":"application-registration","status":401,"code":"invalid_access_token","message":"expired"}"#)
                : json(200, #"{"requestor":{"mvpds":[]}}"#)
        }
        let client = try Client(config: makeConfig(store: temporaryDirectory()), transport: fake)
        _ = try client.configuration(device: client.config.device)
        #expect(fake.count("token") == 2 && fake.count("configuration") == 2)
        #expect(client.stats.unauthorizedRefreshes.current == 1)
    }

    @Test func persistentUnauthorizedIsTypedAfterOneRetry() throws {
        let fake = serviceFake { _ in json(401, "") }
        let client = try Client(config: makeConfig(store: temporaryDirectory()), transport: fake)
        #expect { try client.configuration(device: client.config.device) } throws: { ($0 as? PassAuthError)?.status == .unauthorized }
        #expect(fake.count("configuration") == 2 && fake.count("token") == 2)
    }

    @Test func invalidClientRegistersAgainOnce() throws {
        let tokenCalls = Atomic<Int>(0)
        let fake = FakeTransport { request, _ in
            switch request.endpoint {
            case "register": return json(201, #"{"client_id":"c\#(Int.random(in: 0...9999))","client_secret":"secret-xyz"}"#)
            case "token":
                return tokenCalls.add(1, ordering: .relaxed).newValue == 1
                    ? json(400, #"{"error":"invalid_client"}"#)
                    : json(201, #"{"access_token":"tok-abcdef","expires_in":60}"#)
            default: return json(200, "{}")
            }
        }
        let dir = temporaryDirectory()
        // Credentials already stored (from an earlier run) but revoked server-side.
        let client = try Client(config: makeConfig(store: dir), transport: fake)
        let old = ClientCredentials(clientId: "old", clientSecret: "old-secret", issuedAt: nil,
                                    statementFingerprint: ClientCredentials.fingerprint(of: softwareStatement))
        #expect(try client.state.writeRegistration(RegistrationRecord(credentials: old), expectedVersion: 0) != nil)
        let outcome = try client.register(device: Device())
        #expect(outcome["registered"] == true)
        #expect(fake.count("register") == 1 && fake.count("token") == 2)
        #expect(client.stats.reregistrations.current == 1)
    }

    @Test func dcrErrorsAreRegistrationErrorsWithTheirCode() throws {
        let fake = FakeTransport { _, _ in json(400, #"{"error":"unapproved_software_statement"}"#) }
        let client = try Client(config: makeConfig(store: temporaryDirectory()), transport: fake)
        #expect { try client.register(device: Device()) } throws: { error in
            let e = error as? PassAuthError
            return e?.status == .registration && e?.code == "unapproved_software_statement" && e?.httpStatus == 400
        }
    }

    @Test func tokenFreshnessLeavesAMargin() {
        let token = AccessToken(value: "t", obtainedAt: 0, expiresAt: 100_000)
        #expect(token.isFresh(at: 89_000))
        #expect(!token.isFresh(at: 91_000))
    }

    @Test func failedRegistrationLeavesTheStoreAsItWas() throws {
        let dir = temporaryDirectory()
        let fake = FakeTransport { request, _ in
            request.endpoint == "register" ? json(201, #"{"client_id":"c1","client_secret":"secret-1"}"#) : json(503, "busy", contentType: "text/plain")
        }
        let client = try Client(config: makeConfig(store: dir), transport: fake)
        #expect(throws: PassAuthError.self) { try client.register(device: Device()) }
        // The credentials obtained are kept (they stay valid); no token was stored.
        let (record, _) = try client.state.readRegistration()
        #expect(record?.credentials?.clientId == "c1")
        #expect(record?.token == nil)
    }
}

@Suite struct ResponseErrorTests {
    @Test func enhancedErrorsKeepEveryField() {
        let response = json(403, #"{"action":"authentication","status":403,"code":"authentication_session_expired","message":"m","details":"d","helpUrl":"h","trace":"t"}"#)
        let error = ResponseErrors.error(for: response, endpoint: "sessions.get")
        #expect(error.status == .service && error.code == "authentication_session_expired" && error.action == "authentication")
        #expect(error.details == "d" && error.helpUrl == "h" && error.trace == "t" && error.httpStatus == 403)
    }

    @Test func throttlingWaitsAtLeastOneSecond() {
        var response = json(429, "<html>429 Too Many Requests</html>", contentType: "text/html")
        #expect(ResponseErrors.error(for: response, endpoint: "x").retryAfterMs == 1000)
        response.retryAfter = "7"
        let error = ResponseErrors.error(for: response, endpoint: "x")
        #expect(error.status == .throttled && error.retryAfterMs == 7000)
    }

    @Test func plainHTTPErrorsCarryAnExcerpt() {
        let error = ResponseErrors.error(for: json(502, "Bad gateway\u{1}", contentType: "text/plain"), endpoint: "x")
        #expect(error.status == .http && error.bodyExcerpt == "Bad gateway?")
    }

    @Test func redactorScrubsEchoedSecrets() {
        let redactor = Redactor()
        redactor.remember("super-secret-token")
        var error = PassAuthError(.http, "x")
        error.bodyExcerpt = "you sent super-secret-token"
        #expect(error.redacted(by: redactor).bodyExcerpt == "you sent [redacted]")
    }

    /// A long-lived client does not grow without bound: per-call secrets (media tokens, callers' SSO
    /// tokens) are kept in a bounded window; the configuration's secrets are kept for good.
    @Test func redactorKeepsABoundedWindowOfPerCallSecrets() {
        let redactor = Redactor()
        redactor.remember("client-statement-value")
        for i in 0..<(Redactor.recentCapacity * 5) { redactor.rememberRecent("media-token-\(i)") }
        #expect(redactor.count == Redactor.recentCapacity + 1)
        let last = "media-token-\(Redactor.recentCapacity * 5 - 1)"
        #expect(redactor.scrub("a \(last) b client-statement-value") == "a [redacted] b [redacted]")
        #expect(redactor.scrub("a media-token-0 b") == "a media-token-0 b")  // out of the window
    }

    /// Credentials replaced again and again (re-registrations, token renewals) stay bounded too: the
    /// current ones are always redacted, the last replaced ones stay searched (in every answer too).
    @Test func redactorHoldsOnlyTheCurrentCredentials() {
        let redactor = Redactor()
        for i in 0..<(Redactor.recentCapacity * 3) {
            redactor.hold("client-secret-\(i)", as: .clientSecret)
            redactor.hold("access-token-\(i)", as: .accessToken)
        }
        #expect(redactor.count == Redactor.replacedCapacity + 2)
        let n = Redactor.recentCapacity * 3 - 1
        #expect(redactor.scrub("client-secret-\(n)/access-token-\(n)/access-token-\(n - 1)")
                == "[redacted]/[redacted]/[redacted]")
        redactor.hold("access-token-\(n)", as: .accessToken)  // holding the current one again changes nothing
        #expect(redactor.count == Redactor.replacedCapacity + 2)
    }

    @Test func redactorPrefersTheLongestSecretAndKeepsOtherTextIntact() {
        let redactor = Redactor()
        redactor.remember("token-abc")
        redactor.remember("token-abcdef")
        redactor.remember("élan-secret")
        #expect(redactor.scrub("x token-abcdef y token-abc z") == "x [redacted] y [redacted] z")
        #expect(redactor.scrub("héllo élan-secret ✓") == "héllo [redacted] ✓")
        #expect(redactor.scrub("token") == "token")
        #expect(redactor.scrub("") == "")
    }
}

@Suite(.serialized) struct EmulatorIntegrationTests {
    @Test func registersAgainstTheEmulatorAndReusesTheStore() throws {
        let emulator = try EmulatorProcess()
        let dir = temporaryDirectory()
        let client = try Client(config: makeConfig(store: dir, baseUrl: emulator.baseURL))
        #expect(try client.register(device: client.config.device)["registered"] == true)
        let configuration = try client.configuration(device: client.config.device)
        #expect(configuration["requestor"]?["mvpds"]?.arrayValue?.isEmpty == false)
        let restarted = try Client(config: makeConfig(store: dir, baseUrl: emulator.baseURL))
        #expect(try restarted.register(device: restarted.config.device)["registered"] == false)
        let stats = try emulator.control("/_emulator/stats")
        #expect(stats["registrations"]?.int64Value == 1 && stats["tokensIssued"]?.int64Value == 1)
        #expect(client.stats.connectionsOpened.current == 1)
    }
}
