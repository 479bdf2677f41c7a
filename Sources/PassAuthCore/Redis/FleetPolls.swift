// Compiled for size (@_optimize(size) on each function): this code waits on Redis round trips, and
// the library stays under 7 MiB.

/// The polls of a fleet in Redis (the fleet poller, Polling/FleetPoller.swift): every poll started on
/// any instance is a record; the instances claim the due ones with a lease, so each code is polled by
/// one instance at a time, never twice within 3 s (nor within its interval) fleet-wide, and a dead
/// instance's polls come due again by themselves when their lease ends.
///
/// Keys, all in the client's hash tag (`StateKeys.scoped`), so every script runs on one Redis Cluster
/// node (the scripts build the keys of other polls from the scope they are given: same tag, same slot):
///
///     <S> = <prefix>{<origin>|<serviceProvider>}:
///     <S>polls:due              ZSET: member <id>, score the time (Redis ms) the poll is due (or its
///                               claim's lease ends)
///     <S>poll:<id>              HASH: one poll (<id> = SHA-1 of the device id, NUL, the code)
///     <S>poll-device:<did>      STRING: the <id> of the device's newest code (<did> = SHA-1 of its id)
///     <S>events                 the fleet's channel (FleetEvents): {"v": 1, "instance", "event":
///                               "pollEnded", "poll": <id>, "state": "done" | "failed" | "superseded"}
///
/// A record's fields: `code`; `dev` (the device context the poll's requests need, as JSON: id, ip, port,
/// userAgent, visitorId, info, tempPassIdentity. Never an SSO or service token: GET /profiles/code and
/// GET /sessions/{code} send none, so none is stored); `did`; `iv` (the interval now, ms, after any
/// backoff) and `biv` (as asked); `na` (the code's notAfter, service ms, once known); `st` (pending, done,
/// failed, superseded, cancelled); `last` (Redis ms of the last request boundary: a claim, or the answer
/// of the last request), `plast` / `pby` (before the current claim); `n` (requests made, fleet-wide);
/// `by` (the instance that made the last one); `c` (claims made); `own`, `tok`, `lease` (the current
/// claim: instance, token, end); `w:<instance>` (the live waiters, local polls, on that instance); once
/// ended `ans` (done: the profiles answer, as received) or `err` (failed: the error object). Pending
/// records expire (PEXPIRE) at the code's notAfter plus `ttlMarginMs`; ended ones `endedKeepMs` after
/// they ended, so waiters elsewhere can still read how they ended.
///
/// Scripts (ARGV[1] the scope <S>, ARGV[2] the channel, ARGV[3] the caller's instance id; times on
/// Redis's clock, TIME, so the instances' clocks do not matter):
///
///  - join     a local poll started (fresh) or this instance rewrites its waiters after a gap (resync):
///             creates the record when absent, due after `first delay` (and never before last + iv;
///             a request this instance made that the record does not know of counts as its last);
///             a fresh join supersedes the device's older code and restarts a superseded, failed or
///             cancelled record; a resync restarts only a cancelled one and ends its record as
///             superseded when the device has started a newer code meanwhile. Sets w:<instance>, the
///             device's newest id, the TTLs. Answers the record's view.
///  - supersede  a session was created for the device: its older code's record ends (superseded).
///  - claim    up to N due records: each one whose last request is at least max(iv, 3 s) old (plus
///             `guardMs`, as every spacing here) is leased
///             to the caller (own, tok, lease = now + iv + min(request timeout, iv / 2), score = the lease
///             end: if the owner dies its poll comes due again within 1.5 intervals), its `last` set
///             to now and `n` counted; one whose device has a newer code ends superseded; ended ones
///             leave the set. Answers {now, the first score left or -1, {{id, code, dev, na, iv, biv,
///             n, tok}...}}.
///  - release  after the request: "pending" (the answer came: last = now, due = now + iv), "unclaim"
///             (the request was not sent: last, by and n as before the claim, due after the wait), both
///             only while the caller's token holds the claim; "done" (ans) and "failed" (err) end a pending
///             record whoever holds it, and publish its end. Answers {1 or 0, now}.
///  - leave    this instance's waiters changed: w:<instance> rewritten; a pending record without any
///             waiter left on any instance ends cancelled (the device's newest id dropped if it is this).
///  - read     the record's view.
///
/// A view: {st ('' when absent), n, by, due (-1: not in the set), last (-1: none), iv, na ('' unknown),
/// ans, err, now}.
struct FleetPolls: Sendable {
    /// `<prefix>{<origin>|<serviceProvider>}:`
    let scope: String
    let due: String
    let channel: String
    let instance: String

    /// Added to every spacing the fleet keeps (claims, dues, local requests): the clocks are read to the
    /// millisecond and timers round, so an interval of exactly 3 s could be seen as 2,999.9 ms.
    static let guardMs: Int64 = 10

    /// How long an ended record stays readable.
    static let endedKeepMs: Int64 = 600_000
    /// A pending record outlives its code's notAfter by this much.
    static let ttlMarginMs: Int64 = 600_000

    @_optimize(size) init(keys: StateKeys, instance: String) {
        scope = keys.scoped("")
        due = scope + "polls:due"
        channel = keys.events
        self.instance = instance
    }

    @_optimize(size) func record(_ id: String) -> String { scope + "poll:" + id }
    @_optimize(size) func deviceKey(_ digest: String) -> String { scope + "poll-device:" + digest }

    /// The id of a device's poll of a code: fixed length whatever the id, the same on every instance.
    @_optimize(size) static func id(device stateKey: String, code: String) -> String { RedisScript.sha1(stateKey + "\u{0}" + code) }
    @_optimize(size) static func deviceDigest(_ stateKey: String) -> String { RedisScript.sha1(stateKey) }

    private var common: [String] { [scope, channel, instance] }

    // MARK: - Calls

    @_optimize(size) func join(id: String, digest: String, waiters: Int, fresh: Bool, code: String, device: String, intervalMs: Int,
              notAfter: Int64?, lastRequest: Int64?, firstDelayMs: Int64, ttlMs: Int64) -> RedisScriptCall {
        RedisScriptCall(FleetPolls.joinScript, keys: [due, record(id), deviceKey(digest)],
                        arguments: common + [id, String(waiters), fresh ? "1" : "0", code, device, digest, String(intervalMs),
                                             notAfter.map(String.init) ?? "", lastRequest.map(String.init) ?? "",
                                             String(max(firstDelayMs, 0)), String(max(ttlMs, 1_000))])
    }

    @_optimize(size) func supersede(digest: String, newest id: String, ttlMs: Int64) -> RedisScriptCall {
        RedisScriptCall(FleetPolls.supersedeScript, keys: [due, deviceKey(digest)], arguments: common + [id, String(max(ttlMs, 1_000))])
    }

    @_optimize(size) func claim(max count: Int, requestTimeoutMs: Int) -> RedisScriptCall {
        RedisScriptCall(FleetPolls.claimScript, keys: [due], arguments: common + [String(count), String(requestTimeoutMs)])
    }

    enum Release {
        case pending(intervalMs: Int, notAfter: Int64?)
        case unclaim(waitMs: Int64)
        case done(answer: [UInt8])
        case failed(error: String)
    }

    @_optimize(size) func release(id: String, token: String?, _ release: Release, ttlMs: Int64) -> RedisScriptCall {
        let (kind, first, second): (String, String, String)
        switch release {
        case .pending(let interval, let notAfter): (kind, first, second) = ("pending", String(interval), notAfter.map(String.init) ?? "")
        case .unclaim(let wait): (kind, first, second) = ("unclaim", String(max(wait, 0)), "")
        case .done(let answer): (kind, first, second) = ("done", String(decoding: answer, as: UTF8.self), "")
        case .failed(let error): (kind, first, second) = ("failed", error, "")
        }
        return RedisScriptCall(FleetPolls.releaseScript, keys: [due, record(id)],
                               arguments: common + [id, token ?? "", kind, first, second, String(max(ttlMs, 1_000))])
    }

    @_optimize(size) func leave(id: String, digest: String, waiters: Int) -> RedisScriptCall {
        RedisScriptCall(FleetPolls.leaveScript, keys: [due, record(id), deviceKey(digest)], arguments: common + [id, String(waiters)])
    }

    @_optimize(size) func read(id: String) -> RedisScriptCall {
        RedisScriptCall(FleetPolls.readScript, keys: [record(id), due], arguments: common + [id])
    }

    // MARK: - Replies

    /// A record as a script saw it.
    struct View: Equatable {
        var state: String
        var requests: Int
        var by: String?
        /// Redis ms; nil when the record is not in the due set.
        var due: Int64?
        var lastRequest: Int64?
        var intervalMs: Int
        var notAfter: Int64?
        var answer: [UInt8]?
        var error: String?
        /// Redis's clock when the script ran.
        var now: Int64
    }

    @_optimize(size) static func view(_ reply: RedisValue) -> View? {
        guard let parts = reply.elements, parts.count == 10 else { return nil }
        @_optimize(size) func text(_ index: Int) -> String? { parts[index].text.flatMap { $0.isEmpty ? nil : $0 } }
        @_optimize(size) func number(_ index: Int) -> Int64? { parts[index].integer.flatMap { $0 < 0 ? nil : $0 } }
        var answer: [UInt8]? = nil
        if case .string(let bytes) = parts[7], !bytes.isEmpty { answer = bytes }
        return View(state: parts[0].text ?? "", requests: Int(number(1) ?? 0), by: text(2), due: number(3), lastRequest: number(4),
                    intervalMs: Int(number(5) ?? 0), notAfter: text(6).flatMap { Int64($0) }, answer: answer, error: text(8),
                    now: number(9) ?? 0)
    }

    struct Claimed: Equatable {
        var id: String
        var code: String
        var device: String
        var notAfter: Int64?
        var intervalMs: Int
        var baseIntervalMs: Int
        var requests: Int
        var token: String
    }

    struct Claims: Equatable {
        /// Redis's clock when the claim ran.
        var now: Int64
        /// The earliest score left in the due set (Redis ms), if any.
        var nextDue: Int64?
        var claimed: [Claimed]
    }

    @_optimize(size) static func claims(_ reply: RedisValue) -> Claims? {
        guard let parts = reply.elements, parts.count == 3, let now = parts[0].integer, let next = parts[1].integer,
              let items = parts[2].elements else { return nil }
        var claimed: [Claimed] = []
        for item in items {
            guard let fields = item.elements, fields.count == 8, let id = fields[0].text, let code = fields[1].text,
                  let device = fields[2].text, let interval = fields[4].integer, let token = fields[7].text else { continue }
            claimed.append(Claimed(id: id, code: code, device: device, notAfter: fields[3].text.flatMap { Int64($0) },
                                   intervalMs: Int(interval), baseIntervalMs: Int(fields[5].integer ?? interval),
                                   requests: Int(fields[6].integer ?? 0), token: token))
        }
        return Claims(now: now, nextDue: next < 0 ? nil : next, claimed: claimed)
    }

    // MARK: - Scripts

    private static let prelude = """
        local S, channel, me = ARGV[1], ARGV[2], ARGV[3]
        local function now_ms()
          local t = redis.call('TIME')
          return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        end
        local function ended(id, state)
          local key = S .. 'poll:' .. id
          redis.call('HSET', key, 'st', state)
          redis.call('HDEL', key, 'own', 'tok', 'lease')
          redis.call('ZREM', S .. 'polls:due', id)
          redis.call('PEXPIRE', key, \(endedKeepMs))
          redis.call('PUBLISH', channel, '{"v":1,"instance":"' .. me .. '","event":"pollEnded","poll":"' .. id .. '","state":"' .. state .. '"}')
        end
        local function supersede(id)
          if redis.call('HGET', S .. 'poll:' .. id, 'st') == 'pending' then ended(id, 'superseded') end
        end
        local function view(id, now)
          local h = redis.call('HMGET', S .. 'poll:' .. id, 'st', 'n', 'by', 'last', 'iv', 'na', 'ans', 'err')
          local due = redis.call('ZSCORE', S .. 'polls:due', id)
          return {h[1] or '', tonumber(h[2]) or 0, h[3] or '', tonumber(due) or -1, tonumber(h[4]) or -1,
                  tonumber(h[5]) or 0, h[6] or '', h[7] or '', h[8] or '', now}
        end

        """

    static let joinScript = RedisScript(name: "passauth-poll-join", source: prelude + """
        local id, key = ARGV[4], KEYS[2]
        local fresh = ARGV[6] == '1'
        local now = now_ms()
        local ttl = tonumber(ARGV[14])
        local st = redis.call('HGET', key, 'st')
        local newest = redis.call('GET', KEYS[3])
        if newest and newest ~= id then
          if fresh then
            supersede(newest)
          elseif not st then
            return {'superseded', 0, '', -1, -1, 0, '', '', '', now}
          elseif st == 'pending' then
            ended(id, 'superseded')
            return view(id, now)
          end
        end
        local iv = math.max(tonumber(ARGV[10]), 3000)
        if not st or st == 'cancelled' or (fresh and (st == 'superseded' or st == 'failed')) then
          local last = tonumber(ARGV[12])
          if st then
            local old = tonumber(redis.call('HGET', key, 'last'))
            if old and (not last or old > last) then last = old end
            redis.call('DEL', key)
          end
          local due = now + tonumber(ARGV[13])
          if last and last + iv + \(guardMs) > due then due = last + iv + \(guardMs) end
          redis.call('HSET', key, 'st', 'pending', 'code', ARGV[7], 'dev', ARGV[8], 'did', ARGV[9], 'iv', iv, 'biv', iv, 'n', 0, 'c', 0)
          if last then redis.call('HSET', key, 'last', last) end
          if ARGV[11] ~= '' then redis.call('HSET', key, 'na', ARGV[11]) end
          redis.call('ZADD', KEYS[1], due, id)
          st = 'pending'
        end
        if st == 'pending' then
          local w = tonumber(ARGV[5])
          if w > 0 then redis.call('HSET', key, 'w:' .. me, w) else redis.call('HDEL', key, 'w:' .. me) end
          if ARGV[11] ~= '' and not redis.call('HGET', key, 'na') then redis.call('HSET', key, 'na', ARGV[11]) end
          local known = tonumber(ARGV[12])
          local last = tonumber(redis.call('HGET', key, 'last'))
          if known and (not last or known > last) and not redis.call('HGET', key, 'own') then
            -- This instance polled the code while Redis could not be reached: the fleet waits for that too.
            last = known
            redis.call('HSET', key, 'last', known)
            local score = tonumber(redis.call('ZSCORE', KEYS[1], id))
            if score and score < known + iv + \(guardMs) then redis.call('ZADD', KEYS[1], known + iv + \(guardMs), id) end
          end
          if not redis.call('ZSCORE', KEYS[1], id) then
            redis.call('ZADD', KEYS[1], math.max(now, (last or 0) + iv + \(guardMs)), id)
          end
          redis.call('SET', KEYS[3], id, 'PX', ttl)
          redis.call('PEXPIRE', key, ttl)
        end
        return view(id, now)
        """)

    static let supersedeScript = RedisScript(name: "passauth-poll-supersede", source: prelude + """
        local newest = redis.call('GET', KEYS[2])
        if newest and newest ~= ARGV[4] then supersede(newest) end
        redis.call('SET', KEYS[2], ARGV[4], 'PX', tonumber(ARGV[5]))
        return 1
        """)

    static let claimScript = RedisScript(name: "passauth-poll-claim", source: prelude + """
        local now = now_ms()
        local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[4]))
        local claimed = {}
        for _, id in ipairs(ids) do
          local key = S .. 'poll:' .. id
          local h = redis.call('HMGET', key, 'st', 'last', 'iv', 'did', 'code', 'dev', 'na', 'by', 'biv')
          if h[1] ~= 'pending' then
            redis.call('ZREM', KEYS[1], id)
          else
            local iv = math.max(tonumber(h[3]) or 3000, 3000)
            local last = tonumber(h[2])
            local newest = false
            if h[4] then newest = redis.call('GET', S .. 'poll-device:' .. h[4]) end
            if newest and newest ~= id then
              ended(id, 'superseded')
            elseif last and last + iv + \(guardMs) > now then
              redis.call('ZADD', KEYS[1], last + iv + \(guardMs), id)
            else
              local c = redis.call('HINCRBY', key, 'c', 1)
              local n = redis.call('HINCRBY', key, 'n', 1)
              local tok = me .. '/' .. c
              local lease = now + iv + math.min(tonumber(ARGV[5]), math.floor(iv / 2))
              redis.call('HSET', key, 'plast', h[2] or '', 'pby', h[8] or '', 'last', now, 'own', me, 'tok', tok,
                         'lease', lease, 'by', me)
              redis.call('ZADD', KEYS[1], lease, id)
              claimed[#claimed + 1] = {id, h[5], h[6], h[7] or '', iv, tonumber(h[9]) or iv, n, tok}
            end
          end
        end
        local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
        return {now, tonumber(first[2]) or -1, claimed}
        """)

    static let releaseScript = RedisScript(name: "passauth-poll-release", source: prelude + """
        local id, kind, key = ARGV[4], ARGV[6], KEYS[2]
        local now = now_ms()
        local h = redis.call('HMGET', key, 'st', 'tok', 'plast', 'pby')
        if h[1] ~= 'pending' then return {0, now} end
        if kind == 'done' or kind == 'failed' then
          if kind == 'done' then redis.call('HSET', key, 'ans', ARGV[7]) else redis.call('HSET', key, 'err', ARGV[7]) end
          ended(id, kind)
          return {1, now}
        end
        if h[2] ~= ARGV[5] then return {0, now} end
        redis.call('HDEL', key, 'own', 'tok', 'lease')
        if kind == 'pending' then
          local iv = math.max(tonumber(ARGV[7]), 3000)
          redis.call('HSET', key, 'last', now, 'iv', iv)
          if ARGV[8] ~= '' then redis.call('HSET', key, 'na', ARGV[8]) end
          redis.call('ZADD', KEYS[1], now + iv + \(guardMs), id)
          redis.call('PEXPIRE', key, tonumber(ARGV[9]))
        else
          if h[3] and h[3] ~= '' then redis.call('HSET', key, 'last', h[3]) else redis.call('HDEL', key, 'last') end
          if h[4] and h[4] ~= '' then redis.call('HSET', key, 'by', h[4]) else redis.call('HDEL', key, 'by') end
          redis.call('HINCRBY', key, 'n', -1)
          redis.call('ZADD', KEYS[1], now + tonumber(ARGV[7]), id)
        end
        return {1, now}
        """)

    static let leaveScript = RedisScript(name: "passauth-poll-leave", source: prelude + """
        local id, key = ARGV[4], KEYS[2]
        local now = now_ms()
        if redis.call('EXISTS', key) == 0 then return view(id, now) end
        local w = tonumber(ARGV[5])
        if w > 0 then redis.call('HSET', key, 'w:' .. me, w) else redis.call('HDEL', key, 'w:' .. me) end
        if w == 0 and redis.call('HGET', key, 'st') == 'pending' then
          for _, field in ipairs(redis.call('HKEYS', key)) do
            if string.sub(field, 1, 2) == 'w:' then return view(id, now) end
          end
          redis.call('HSET', key, 'st', 'cancelled')
          redis.call('HDEL', key, 'own', 'tok', 'lease')
          redis.call('ZREM', KEYS[1], id)
          redis.call('PEXPIRE', key, \(endedKeepMs))
          if redis.call('GET', KEYS[3]) == id then redis.call('DEL', KEYS[3]) end
        end
        return view(id, now)
        """)

    static let readScript = RedisScript(name: "passauth-poll-read", source: prelude + """
        return view(ARGV[4], now_ms())
        """)
}
