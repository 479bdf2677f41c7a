// Compiled for size (@_optimize(size) on each function): this code waits on Redis round trips, and
// the library stays under 7 MiB.

/// What the instances of a fleet share through their Redis store, beyond the state itself.
///
/// `FleetTurns`: each device's pacing budget and 429 wait, so the fleet as a whole stays within the
/// service's throttle (1 request/s, burst 10, per device IP) however many instances act for a device.
/// Keys, per (origin, service provider) and device key (its IP, else its id; percent-encoded):
///
///     <prefix>{<origin>|<serviceProvider>|@<device key>}:pacing      hash: tokens, at (ms, Redis clock)
///     <prefix>{<origin>|<serviceProvider>|@<device key>}:throttled   present while the device waits (PX)
///
/// `turnScript` (KEYS: pacing, throttled; ARGV: rate per second, burst, the most the caller may wait
/// in ms (-1: a poller asking without waiting), "1"/"0" pacing on): on Redis's own clock (TIME), so
/// instances' clocks do not matter. While the throttled key lives: {1, its PTTL}, nothing taken.
/// Otherwise the bucket is refilled to now (rate per ms, capped at burst); the wait for one token is
/// (1 - tokens) / rate. A caller that may wait that long takes the token now (the bucket may go
/// negative: later callers queue behind it) and gets {0, wait}; one that may not gets {2, wait} and
/// nothing is taken; a poller (-1) takes a token only when none is owed ({0, 0}), else gets {0, wait}.
/// The bucket expires once it would be full again. `deferScript` (KEYS: throttled; ARGV: ms) extends
/// the throttled key to at least that long: a 429 seen by one instance makes every instance wait.
///
/// Redis unreachable: the instance falls back to its own pacer and 429 gate (logged once a minute),
/// so a store outage never stops pacing and never fails a call by itself; after a failure Redis is
/// asked again only a second later, so an unresponsive server costs a call at most one short wait.
final class FleetTurns: Sendable {
    let redis: RedisClient
    private let keys: StateKeys
    private let pacing: Bool
    private let ratePerSecond: Double
    private let burst: Int
    private let logger: Logger
    private let lastWarning = Locked<Int64>(0)
    /// Monotonic ms before which Redis is not asked (after a failure).
    private let pausedUntil = Locked<Int64>(0)

    @_optimize(size) init(redis: RedisClient, keys: StateKeys, config: ClientSettings, logger: Logger) {
        self.redis = redis
        self.keys = keys
        pacing = config.pacing
        ratePerSecond = config.pacingRatePerSecond
        burst = config.pacingBurst
        self.logger = logger
    }

    static let turnScript = RedisScript(name: "passauth-turn", source: """
        local throttled = redis.call('PTTL', KEYS[2])
        if throttled > 0 then return {1, throttled} end
        if ARGV[4] ~= '1' then return {0, 0} end
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
        local rate = tonumber(ARGV[1]) / 1000
        local burst = tonumber(ARGV[2])
        local b = redis.call('HMGET', KEYS[1], 'tokens', 'at')
        local tokens = tonumber(b[1]) or burst
        local at = tonumber(b[2]) or now
        if now > at then
          tokens = math.min(burst, tokens + (now - at) * rate)
          at = now
        end
        local wait = 0
        if tokens < 1 then wait = math.ceil((1 - tokens) / rate) end
        local most = tonumber(ARGV[3])
        if most >= 0 then
          if wait > most then return {2, wait} end
        elseif wait > 0 then
          return {0, wait}
        end
        tokens = tokens - 1
        redis.call('HSET', KEYS[1], 'tokens', string.format('%.6f', tokens), 'at', string.format('%.3f', at))
        redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / rate) + 1000)
        return {0, wait}
        """)

    static let deferScript = RedisScript(name: "passauth-defer", source: """
        if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[1]) then
          redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
        end
        return 1
        """)

    /// The blocking calls' turn: sleeps until the device may send (a 429 wait, then a pacing token), or
    /// throws PASSAUTH_E_THROTTLED when that is past the deadline. false when Redis could not be asked
    /// (the caller then uses its local pacer).
    @_optimize(size) func awaitTurn(_ deviceKey: String, endpoint: String, deadline: Int64) throws(PassAuthError) -> Bool {
        guard available else { return false }
        let names = keys.turn(deviceKey)
        while true {
            let remaining = Service.remaining(deadline)
            let reply: RedisValue
            do throws(PassAuthError) {
                reply = try redis.run(FleetTurns.turnScript, keys: [names.pacing, names.throttled],
                                      arguments: arguments(most: remaining), timeoutMs: max(1, min(remaining, 1_000)))
            } catch {
                unreachable(error)
                return false
            }
            guard let (kind, wait) = decode(reply) else { return false }
            switch kind {
            case 1:
                guard wait <= Int64(remaining) else {
                    var error = PassAuthError(.throttled, "\(endpoint): throttled by the service; the next request for this device may leave in \(wait) ms, more than timeoutMs (\(remaining))")
                    error.retryAfterMs = Int(wait)
                    error.endpoint = endpoint
                    throw error
                }
                Clock.sleep(ms: wait)
            case 2:
                var error = PassAuthError(.throttled, "\(endpoint): this device has used its request budget (\(ratePerSecond)/s, burst \(burst)) across the fleet; waiting would exceed timeoutMs (\(remaining))")
                error.retryAfterMs = 1_000
                error.endpoint = endpoint
                throw error
            default:
                Clock.sleep(ms: wait)
                return true
            }
        }
    }

    /// The poller's question: 0 when the device may send now (a token is taken), else the wait. nil
    /// when Redis could not be asked.
    @_optimize(size) func readiness(_ deviceKey: String) -> Int64? {
        readiness([deviceKey], timeoutMs: 500)?.first ?? nil
    }

    /// `readiness` of many device keys in one round trip (the fleet poller's round): nil when Redis
    /// could not be asked, else one answer per key (nil where the script's answer was not understood).
    @_optimize(size) func readiness(_ deviceKeys: [String], timeoutMs: Int = 1_000) -> [Int64?]? {
        guard !deviceKeys.isEmpty, available else { return nil }
        let calls = deviceKeys.map { key -> RedisScriptCall in
            let names = keys.turn(key)
            return RedisScriptCall(FleetTurns.turnScript, keys: [names.pacing, names.throttled], arguments: arguments(most: -1))
        }
        do throws(PassAuthError) {
            return try redis.runAll(calls, timeoutMs: timeoutMs).map { decode($0)?.wait }
        } catch {
            unreachable(error)
            return nil
        }
    }

    /// A 429 for the device: every instance waits `ms`.
    @_optimize(size) func deferRequests(_ deviceKey: String, byMs ms: Int) {
        do throws(PassAuthError) {
            _ = try redis.check(try redis.run(FleetTurns.deferScript, keys: [keys.turn(deviceKey).throttled],
                                              arguments: [String(max(ms, 1))], timeoutMs: 2_000), "recording a 429 wait")
        } catch {
            unreachable(error)
        }
    }

    @_optimize(size) private func arguments(most: Int) -> [String] {
        [String(ratePerSecond), String(burst), String(most), pacing ? "1" : "0"]
    }

    @_optimize(size) private func decode(_ reply: RedisValue) -> (kind: Int64, wait: Int64)? {
        guard let parts = reply.elements, parts.count == 2, let kind = parts[0].integer, let wait = parts[1].integer else {
            logger.log(.warn, "\(redis.description): the pacing script answered \(reply.errorMessage ?? "something unexpected"); pacing locally")
            return nil
        }
        return (kind, max(0, wait))
    }

    private var available: Bool { pausedUntil.withLock { $0 } <= Clock.monotonicMs() }

    @_optimize(size) private func unreachable(_ error: PassAuthError) {
        let now = Clock.monotonicMs()
        pausedUntil.withLock { $0 = now + 1_000 }
        let due = lastWarning.withLock { last in
            guard last == 0 || now - last >= 60_000 else { return false }
            last = now
            return true
        }
        if due { logger.log(.warn, "fleet pacing unavailable, pacing this instance alone: \(error.message)") }
    }
}

/// Logouts and profile invalidations of one instance drop the cached permits of every instance:
/// published on `<prefix>{<origin>|<serviceProvider>}:events` as
/// {"v": 1, "instance": <sender>, "event": "logout" | "profileGone", "device": <id>, "mvpd": <id> | null},
/// and applied by every client of that (origin, service provider) with a Redis store to its
/// DecisionCache and to its profile refreshes in flight (its own messages are skipped: it already did;
/// the stored profiles are the fleet's, dropped once by the sender). A subscription that was lost (Redis
/// restarted, connection broken) may have missed some: when it is back, every cached permit is
/// dropped.
///
/// The fleet's polls end on the same channel (published by the scripts of FleetPolls):
/// {"v": 1, "instance": <sender>, "event": "pollEnded", "poll": <id>, "state": ...}; they go to the
/// fleet poller (`listenForPolls`), which reads the record and ends its local polls of it; a gap in the
/// subscription tells it to write its records again and read them all.
final class FleetEvents: Sendable {
    let redis: RedisClient
    let channel: String
    let instance = RedisStore.randomToken()
    private let logger: Logger
    private let timeoutMs: Int
    private let subscription: RedisSubscription
    private let pollListener: Locked<(@Sendable (FleetPollEvent) -> Void)?>

    enum FleetPollEvent: Sendable {
        /// Another instance ended the poll with this id.
        case ended(String)
        /// The subscription was lost and is back: events may have been missed.
        case gap
    }

    @_optimize(size) init(redis: RedisClient, keys: StateKeys, decisions: DecisionCache, refreshes: RefreshesInFlight, logger: Logger, timeoutMs: Int) {
        self.redis = redis
        channel = keys.events
        self.logger = logger
        self.timeoutMs = timeoutMs
        let instance = self.instance
        let listener = Locked<(@Sendable (FleetPollEvent) -> Void)?>(nil)
        pollListener = listener
        // The handler holds the caches, not the client; the subscription ends with the Redis client.
        subscription = redis.subscribe(channel) { event in
            switch event {
            case .subscribed(let afterGap):
                if afterGap {
                    decisions.removeAll()
                    listener.withLock { $0 }?(.gap)
                }
            case .message(let text):
                guard let message = try? JSON.parse(text), message["v"]?.int64Value == 1,
                      message["instance"]?.stringValue != instance else { return }
                if message["event"]?.stringValue == "pollEnded" {
                    if let poll = message["poll"]?.stringValue { listener.withLock { $0 }?(.ended(poll)) }
                    return
                }
                guard let device = message["device"]?.stringValue else { return }
                decisions.removeAll(device: device, mvpd: message["mvpd"]?.stringValue)
                refreshes.dropped(device)
            }
        }
    }

    /// Where the fleet's poll events go (on the passauth-redis thread: the handler must be quick and
    /// must not wait for Redis).
    @_optimize(size) func listenForPolls(_ handler: (@Sendable (FleetPollEvent) -> Void)?) { pollListener.withLock { $0 = handler } }

    /// Ends the subscription (the client is being freed; its Redis client may serve others).
    @_optimize(size) func close() { redis.unsubscribe(subscription) }

    /// Tells the fleet; a failure is logged (the caller's own cache is already cleared).
    @_optimize(size) func publish(_ event: String, device: String, mvpd: String?) {
        let message = JSON.object([("v", 1), ("instance", .string(instance)), ("event", .string(event)),
                                   ("device", .string(device)), ("mvpd", mvpd.map { .string($0) } ?? .null)])
        do throws(PassAuthError) {
            _ = try redis.publish(channel, message.serialized(), timeoutMs: max(1, min(timeoutMs, 2_000)))
        } catch {
            logger.log(.warn, "device \(device): could not tell the fleet to drop its cached permits (\(event)): \(error.message)")
        }
    }
}
