/// Where the state lives: a versioned key-value store. Every key holds one UTF-8 JSON text and a
/// version; writes are conditional on the version the writer read (compare-and-set), so concurrent
/// writers (threads, processes, hosts) never lose a write and a writer that paused between its read and
/// its write can never overwrite newer state: its write conflicts, and it re-reads.
///
/// Implementations: `SQLiteStore` (the default, one database in the store directory), `RedisStore`
/// ("store": "redis://..."; each key a hash of value + version, compared and set by a script, `ttlMs`
/// as PEXPIRE, `withLock` a lease: SET NX PX with a token, renewed while held, released by
/// compare-and-delete), `CallbackStore` (the application's `passauth_store` callbacks), `MemoryStore`
/// (tests). The key layout is `StateKeys`;
/// the typed records on top are `ClientState`.
package protocol StateStore: Sendable {
    /// Names the store in error messages ("store /home/u/.local/state/passauth/passauth.sqlite3").
    var description: String { get }

    /// The value of `key` and its version, or nil when the key does not exist (or its TTL passed).
    /// Takes no lock. Waits at most `timeoutMs` for the store.
    func get(_ key: String, timeoutMs: Int) throws(PassAuthError) -> StoredValue?

    /// Writes `value` (nil: deletes the key) only if the key's current version is `expectedVersion`
    /// (0: the key must not exist). `.stored` carries the new version: greater than `expectedVersion`
    /// and never reused for the key, even after a delete. `.conflict`: nothing was written.
    /// `ttlMs` > 0: the value is not needed after that many ms and may be dropped then (0: keep it).
    func put(_ key: String, value: String?, expectedVersion: UInt64, ttlMs: Int64, timeoutMs: Int) throws(PassAuthError) -> PutResult

    /// Several independent conditional writes (each as `put`: one may conflict while others are
    /// stored). A store may do them in one round trip or transaction (the poller stores the profiles
    /// of many devices at once).
    func putAll(_ writes: [StoreWrite], timeoutMs: Int) throws(PassAuthError) -> [PutResult]

    /// Runs `body` holding the exclusive lock `name` across threads, processes and hosts, waiting at
    /// most `timeoutMs` for it. Only writers take it (the registration), never readers; a holder that
    /// dies must not keep it (flock is released by the kernel, a Redis lease expires).
    func withLock<T>(_ name: String, timeoutMs: Int, _ body: () throws(PassAuthError) -> T) throws(PassAuthError) -> T
}

extension StateStore {
    package func putAll(_ writes: [StoreWrite], timeoutMs: Int) throws(PassAuthError) -> [PutResult] {
        var results: [PutResult] = []
        results.reserveCapacity(writes.count)
        for write in writes {
            results.append(try put(write.key, value: write.value, expectedVersion: write.expectedVersion,
                                   ttlMs: write.ttlMs, timeoutMs: timeoutMs))
        }
        return results
    }
}

/// A value as stored, with the version it was stored under (always > 0).
package struct StoredValue: Sendable, Equatable {
    package var value: String
    package var version: UInt64

    package init(value: String, version: UInt64) {
        self.value = value
        self.version = version
    }
}

/// The outcome of a conditional write.
package enum PutResult: Sendable, Equatable {
    case stored(version: UInt64)
    case conflict
}

/// One conditional write of `StateStore.putAll`.
package struct StoreWrite: Sendable {
    package var key: String
    package var value: String?
    package var expectedVersion: UInt64
    package var ttlMs: Int64

    package init(key: String, value: String?, expectedVersion: UInt64, ttlMs: Int64 = 0) {
        self.key = key
        self.value = value
        self.expectedVersion = expectedVersion
        self.ttlMs = ttlMs
    }
}

/// DCR client credentials. `statementFingerprint` ties them to the software statement that obtained
/// them, so a new statement in the config triggers a new registration instead of a stale client.
package struct ClientCredentials: Sendable, Equatable {
    package var clientId: String
    package var clientSecret: String
    package var issuedAt: Int64?
    package var statementFingerprint: String

    init(clientId: String, clientSecret: String, issuedAt: Int64?, statementFingerprint: String) {
        self.clientId = clientId
        self.clientSecret = clientSecret
        self.issuedAt = issuedAt
        self.statementFingerprint = statementFingerprint
    }

    /// FNV-1a 64 of the statement: identifies it without storing it twice.
    static func fingerprint(of statement: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in statement.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return "fnv1a64:" + String(hash, radix: 16)
    }
}

/// A DCR access token with its absolute lifetime in wall-clock milliseconds, and the client it was
/// issued to (so a rejected token names the client to replace).
package struct AccessToken: Sendable, Equatable {
    package var value: String
    package var obtainedAt: Int64
    package var expiresAt: Int64
    package var clientId: String?

    init(value: String, obtainedAt: Int64, expiresAt: Int64, clientId: String? = nil) {
        self.value = value
        self.obtainedAt = obtainedAt
        self.expiresAt = expiresAt
        self.clientId = clientId
    }

    /// Usable now: refreshed shortly before expiry (a tenth of its lifetime, at most five minutes) so a
    /// request never leaves with a token that dies in flight.
    func isFresh(at now: Int64) -> Bool {
        let margin = min((expiresAt - obtainedAt) / 10, 300_000)
        return now < expiresAt - margin
    }
}
