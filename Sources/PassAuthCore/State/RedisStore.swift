import Glibc

// Compiled for size (@_optimize(size) on each function): this code waits on Redis round trips, and
// the library stays under 7 MiB.

/// The state on a Redis server shared by a fleet ("store": "redis://host:port/db" or "rediss://..."),
/// through `RedisClient` (hiredis loaded on demand, bounded I/O, a small pool).
///
/// Each key of `StateKeys` (with the config's storeKeyPrefix) is a Redis hash:
///
///     d     the value (UTF-8 JSON text, as ClientState wrote it: secrets already sealed by SecretBox
///           when the config has a storeEncryptionKey)
///     v     its version (decimal)
///
/// (the layout of the Python binding's callback `passauth.stores.RedisStore` too, so instances using
/// either can share one Redis). A deleted key leaves a tombstone, the hash with `v` and no `d`, kept `tombstoneTTLMs`; a value
/// with a TTL is PEXPIREd whole. Versions never repeat for a key, even after a delete or an expiry:
/// a new version is max(previous + 1, the server's TIME in microseconds), so a version born after the
/// tombstone is gone is still greater than any the key had (as long as the server's clock does not go
/// back by more than the tombstone's life).
///
/// Scripts (each touches one key, so Redis Cluster runs them on the key's node):
///
///  - `putScript`  KEYS[1] = key; ARGV = expected version, value, ttl ms, "1" write / "0" delete,
///    tombstone ttl ms. If the live version (0 when there is no `d`) is not the expected one:
///    {0, live version}, nothing written. Otherwise writes `d` and the new version (PEXPIRE ttl, or
///    PERSIST for no ttl), or for a delete drops `d` and keeps the new version with the tombstone's
///    TTL; returns {1, new version}.
///  - `lockScript` / `renewScript` / `releaseScript`: the lease of `withLock`. The lock is a plain key
///    `SET name token NX PX lease`; renewScript extends it (PEXPIRE) and releaseScript deletes it, each
///    only while the key still holds the caller's token (1, else 0): a holder whose lease ran out
///    can never release or extend another holder's.
///
/// `get` is one HMGET; `putAll` is one pipeline of putScript calls (no MULTI: the keys of different
/// devices carry different hash tags and may live on different cluster nodes; each write stands
/// alone, as the contract says). `withLock` waits for the lease (bounded by its timeout), holds it
/// `leaseMs` at a time, renewed by the client's background thread every third of that while the body
/// runs, and releases it; a holder that dies stops renewing and its lease expires.
///
/// Redis down or unreachable: every call fails with PASSAUTH_E_STORE naming the server and the cause
/// (connection refused, timed out, authentication failed); nothing is half-written (each write is one
/// script), and the next call reconnects.
package final class RedisStore: StateStore, @unchecked Sendable {
    package let client: RedisClient
    /// How long a deleted key's version is kept.
    let tombstoneTTLMs: Int64
    /// The lock lease (renewed while held).
    let leaseMs: Int64

    package var description: String { "store \(client.description)" }

    @_optimize(size) package init(client: RedisClient, tombstoneTTLMs: Int64 = 3_600_000, leaseMs: Int64 = 10_000) {
        self.client = client
        self.tombstoneTTLMs = tombstoneTTLMs
        self.leaseMs = max(leaseMs, 30)
    }

    static let putScript = RedisScript(name: "passauth-put", source: """
        local h = redis.call('HMGET', KEYS[1], 'v', 'd')
        local ver = tonumber(h[1]) or 0
        local live = 0
        if h[2] then live = ver end
        if live ~= tonumber(ARGV[1]) then return {0, live} end
        local t = redis.call('TIME')
        local new = math.max(ver + 1, tonumber(t[1]) * 1000000 + tonumber(t[2]))
        local version = string.format('%.0f', new)
        if ARGV[4] == '1' then
          redis.call('HSET', KEYS[1], 'd', ARGV[2], 'v', version)
          local ttl = tonumber(ARGV[3])
          if ttl > 0 then redis.call('PEXPIRE', KEYS[1], ttl) else redis.call('PERSIST', KEYS[1]) end
        else
          redis.call('HDEL', KEYS[1], 'd')
          redis.call('HSET', KEYS[1], 'v', version)
          redis.call('PEXPIRE', KEYS[1], ARGV[5])
        end
        return {1, new}
        """)

    static let renewScript = RedisScript(name: "passauth-renew", source: """
        if redis.call('GET', KEYS[1]) == ARGV[1] then
          redis.call('PEXPIRE', KEYS[1], ARGV[2])
          return 1
        end
        return 0
        """)

    static let releaseScript = RedisScript(name: "passauth-release", source: """
        if redis.call('GET', KEYS[1]) == ARGV[1] then
          redis.call('DEL', KEYS[1])
          return 1
        end
        return 0
        """)

    // MARK: - StateStore

    @_optimize(size) package func get(_ key: String, timeoutMs: Int) throws(PassAuthError) -> StoredValue? {
        let reply = try client.command(["HMGET", key, "d", "v"], timeoutMs: timeoutMs)
        _ = try client.check(reply, "reading key '\(key)'")
        guard let fields = reply.elements, fields.count == 2 else {
            throw client.failure("reading key '\(key)': unexpected reply")
        }
        guard case .string(let bytes) = fields[0] else { return nil }
        guard let value = String(validating: bytes, as: UTF8.self) else {
            throw PassAuthError(.store, "\(description): the value of key '\(key)' is not UTF-8 text; it was left untouched")
        }
        guard let version = fields[1].integer, version > 0 else {
            throw PassAuthError(.store, "\(description): key '\(key)' has a value without a valid version; it was left untouched: repair or delete that key")
        }
        return StoredValue(value: value, version: UInt64(version))
    }

    @_optimize(size) package func put(_ key: String, value: String?, expectedVersion: UInt64, ttlMs: Int64, timeoutMs: Int) throws(PassAuthError) -> PutResult {
        try putAll([StoreWrite(key: key, value: value, expectedVersion: expectedVersion, ttlMs: ttlMs)], timeoutMs: timeoutMs)[0]
    }

    /// One round trip: a pipeline of one putScript per write.
    @_optimize(size) package func putAll(_ writes: [StoreWrite], timeoutMs: Int) throws(PassAuthError) -> [PutResult] {
        guard !writes.isEmpty else { return [] }
        let calls = writes.map { write in
            RedisScriptCall(RedisStore.putScript, keys: [write.key],
                            arguments: [String(write.expectedVersion), write.value ?? "", String(max(write.ttlMs, 0)),
                                        write.value == nil ? "0" : "1", String(tombstoneTTLMs)])
        }
        let replies = try client.runAll(calls, timeoutMs: timeoutMs)
        var results: [PutResult] = []
        results.reserveCapacity(writes.count)
        for (write, reply) in zip(writes, replies) {
            _ = try client.check(reply, "writing key '\(write.key)'")
            guard let parts = reply.elements, parts.count == 2, let stored = parts[0].integer, let version = parts[1].integer else {
                throw client.failure("writing key '\(write.key)': unexpected reply from the script")
            }
            results.append(stored == 1 ? .stored(version: UInt64(version)) : .conflict)
        }
        return results
    }

    @_optimize(size) package func withLock<T>(_ name: String, timeoutMs: Int, _ body: () throws(PassAuthError) -> T) throws(PassAuthError) -> T {
        let token = RedisStore.randomToken()
        let deadline = Clock.monotonicMs() + Int64(timeoutMs)
        var pause: Int64 = 2
        while true {
            let reply = try client.command(["SET", name, token, "NX", "PX", String(leaseMs)],
                                           timeoutMs: max(1, Int(deadline - Clock.monotonicMs())))
            _ = try client.check(reply, "taking the lock '\(name)'")
            if reply.text == "OK" { break }
            guard Clock.monotonicMs() + pause < deadline else {
                throw PassAuthError(.store, "\(description): timed out after \(timeoutMs) ms waiting for the lock '\(name)' (another instance is registering; a holder that died releases it within \(leaseMs) ms)")
            }
            Clock.sleep(ms: pause)
            pause = min(pause * 2, 50)
        }
        client.holdLease(.init(key: name, token: token, leaseMs: leaseMs, renewAt: Clock.monotonicMs() + leaseMs / 3))
        defer {
            client.releaseLease(key: name, token: token)
            // A release that fails leaves the lease to expire.
            _ = try? client.run(RedisStore.releaseScript, keys: [name], arguments: [token], timeoutMs: max(1000, min(timeoutMs, 5000)))
        }
        return try body()
    }

    @_optimize(size) static func randomToken() -> String {
        var bytes = [UInt8](repeating: 0, count: 16)
        for index in bytes.indices { bytes[index] = UInt8.random(in: 0...255) }
        return bytes.map { String($0, radix: 16).leftPadded(to: 2) }.joined()
    }
}
