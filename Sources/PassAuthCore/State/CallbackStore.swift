import Glibc

/// A store whose operations the application supplies (the C `passauth_store` callbacks): state shared
/// by service instances in a database of its own. A callback that fails (non-zero) is a `.store` error
/// naming the callback and the key, with the reason the callback gave through
/// `passauth_store_set_error`; nothing is written then, so an outage fails calls but never corrupts
/// the state. What `get` returns is validated by `ClientState` like any value.
package final class CallbackStore: StateStore, @unchecked Sendable {
    /// The contract's PASSAUTH_STORE_CONFLICT.
    package static let conflictStatus: Int32 = 1

    package struct Operations: @unchecked Sendable {
        /// (status, value or nil when absent, version, whether the value was valid UTF-8).
        package var get: (String) -> (status: Int32, value: String?, version: UInt64, validUTF8: Bool)
        /// (status, new version).
        package var put: (String, String?, UInt64, Int64) -> (status: Int32, version: UInt64)
        package var lock: (String, Int) -> (status: Int32, token: UnsafeMutableRawPointer?)
        package var unlock: (String, UnsafeMutableRawPointer?) -> Int32

        package init(get: @escaping (String) -> (status: Int32, value: String?, version: UInt64, validUTF8: Bool),
                    put: @escaping (String, String?, UInt64, Int64) -> (status: Int32, version: UInt64),
                    lock: @escaping (String, Int) -> (status: Int32, token: UnsafeMutableRawPointer?),
                    unlock: @escaping (String, UnsafeMutableRawPointer?) -> Int32) {
            self.get = get
            self.put = put
            self.lock = lock
            self.unlock = unlock
        }
    }

    private let operations: Operations
    package let description = "application store"

    package init(operations: Operations) { self.operations = operations }

    package func get(_ key: String, timeoutMs: Int) throws(PassAuthError) -> StoredValue? {
        CallbackStore.clearCallbackError()
        let (status, value, version, validUTF8) = operations.get(key)
        guard status == 0 else { throw failure("get", key, "returned \(status)") }
        guard validUTF8 else { throw PassAuthError(.store, "\(description): the get callback returned a value for key '\(key)' that is not UTF-8 text; it was left untouched") }
        guard let value else { return nil }
        guard version > 0 else {
            throw PassAuthError(.store, "\(description): the get callback returned a value for key '\(key)' with version 0 (versions of existing keys are > 0)")
        }
        return StoredValue(value: value, version: version)
    }

    package func put(_ key: String, value: String?, expectedVersion: UInt64, ttlMs: Int64, timeoutMs: Int) throws(PassAuthError) -> PutResult {
        CallbackStore.clearCallbackError()
        let (status, version) = operations.put(key, value, expectedVersion, ttlMs)
        if status == CallbackStore.conflictStatus { return .conflict }
        guard status == 0 else { throw failure("put", key, "returned \(status); the state was not changed") }
        guard version > expectedVersion else {
            throw PassAuthError(.store, "\(description): the put callback stored key '\(key)' under version \(version), which is not greater than the expected version \(expectedVersion)")
        }
        return .stored(version: version)
    }

    package func withLock<T>(_ name: String, timeoutMs: Int, _ body: () throws(PassAuthError) -> T) throws(PassAuthError) -> T {
        CallbackStore.clearCallbackError()
        let (status, token) = operations.lock(name, timeoutMs)
        guard status == 0 else { throw failure("lock", name, "returned \(status), timeout \(timeoutMs) ms") }
        defer {
            // The body's outcome stands (its writes are done): a lock that cannot be released is the
            // store's to expire (e.g. a Redis lease), so an unlock failure is not reported.
            _ = operations.unlock(name, token)
            CallbackStore.clearCallbackError()
        }
        return try body()
    }

    private func failure(_ callback: String, _ key: String, _ outcome: String) -> PassAuthError {
        var message = "\(description): the \(callback) callback failed for \(callback == "lock" ? "lock" : "key") '\(key)' (\(outcome))"
        if let reason = CallbackStore.takeCallbackError() { message += ": " + reason }
        return PassAuthError(.store, message)
    }

    // MARK: - passauth_store_set_error

    /// The reason a callback gave for its failure, per thread, consumed by the next store failure on
    /// the thread (cleared before every callback, so a stale reason never attaches to a later one).
    private static let reasonKey: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { free($0) }
        return key
    }()

    /// What `passauth_store_set_error` does (nil clears). Kept to 1,000 bytes.
    package static func setCallbackError(_ message: String?) {
        let previous = pthread_getspecific(reasonKey)
        let bounded = message.map { String(decoding: Array($0.utf8.prefix(1000)), as: UTF8.self) }
        pthread_setspecific(reasonKey, bounded.flatMap { strdup($0) })
        free(previous)
    }

    static func takeCallbackError() -> String? {
        guard let pointer = pthread_getspecific(reasonKey) else { return nil }
        let text = String(cString: pointer.assumingMemoryBound(to: CChar.self))
        pthread_setspecific(reasonKey, nil)
        free(pointer)
        return text.isEmpty ? nil : text
    }

    static func clearCallbackError() {
        guard let pointer = pthread_getspecific(reasonKey) else { return }
        pthread_setspecific(reasonKey, nil)
        free(pointer)
    }
}

/// A store in memory: tests, fuzzing, and a model of the contract (versions from one sequence, TTLs,
/// conflicts). Locks are per name, across threads.
package final class MemoryStore: StateStore, @unchecked Sendable {
    private struct Entry { var value: String; var version: UInt64; var expiresAt: Int64? }
    private struct Contents { var entries: [String: Entry] = [:]; var sequence: UInt64 = 0; var held: Set<String> = [] }
    private let contents = Locked(Contents())
    package let description = "memory store"

    package init() {}

    package func get(_ key: String, timeoutMs: Int) throws(PassAuthError) -> StoredValue? {
        let now = Clock.nowMs()
        return contents.withLock { contents in
            guard let entry = contents.entries[key], entry.expiresAt.map({ $0 > now }) ?? true else { return nil }
            return StoredValue(value: entry.value, version: entry.version)
        }
    }

    package func put(_ key: String, value: String?, expectedVersion: UInt64, ttlMs: Int64, timeoutMs: Int) throws(PassAuthError) -> PutResult {
        let now = Clock.nowMs()
        return contents.withLock { contents in
            let current = contents.entries[key].flatMap { $0.expiresAt.map({ $0 > now }) ?? true ? $0.version : nil } ?? 0
            guard current == expectedVersion else { return .conflict }
            contents.sequence += 1
            contents.entries[key] = value.map { Entry(value: $0, version: contents.sequence, expiresAt: ttlMs > 0 ? now + ttlMs : nil) }
            return .stored(version: contents.sequence)
        }
    }

    package func withLock<T>(_ name: String, timeoutMs: Int, _ body: () throws(PassAuthError) -> T) throws(PassAuthError) -> T {
        let deadline = Clock.monotonicMs() + Int64(timeoutMs)
        while !contents.withLock({ $0.held.insert(name).inserted }) {
            guard Clock.monotonicMs() < deadline else { throw PassAuthError(.store, "timed out waiting for lock \(name) of the memory store") }
            Clock.sleep(ms: 1)
        }
        defer { _ = contents.withLock { $0.held.remove(name) } }
        return try body()
    }

    /// Every live key and value (tests).
    package var snapshot: [String: String] {
        contents.withLock { $0.entries.mapValues(\.value) }
    }

    /// Sets a value directly, as another writer would (tests).
    package func set(_ key: String, _ value: String?) {
        contents.withLock { contents in
            contents.sequence += 1
            contents.entries[key] = value.map { Entry(value: $0, version: contents.sequence, expiresAt: nil) }
        }
    }
}
