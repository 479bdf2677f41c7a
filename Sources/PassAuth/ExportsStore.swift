import Glibc
import PassAuthCore

// passauth_store (Include/passauth.h): the application's versioned key-value callbacks, read from the
// caller's struct (copied at creation) and wrapped in a CallbackStore. Conversion only.

typealias StoreGet = @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<CChar>?,
                                     UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, UnsafeMutablePointer<UInt64>?) -> Int32
typealias StorePut = @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<CChar>?, UnsafePointer<CChar>?, UInt64, Int64,
                                     UnsafeMutablePointer<UInt64>?) -> Int32
typealias StoreLock = @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<CChar>?, Int32,
                                      UnsafeMutablePointer<UnsafeMutableRawPointer?>?) -> Int32
typealias StoreUnlock = @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<CChar>?, UnsafeMutableRawPointer?) -> Int32

/// PASSAUTH_STORE_VERSION: the layout read below.
let storeStructVersion: UInt32 = 1

extension Bridge {
    /// Reads `struct passauth_store` field by field at its C offsets: `unsigned int version`, then (after
    /// padding to pointer alignment) user_data, get, put, lock, unlock.
    static func callbackStore(_ raw: UnsafeRawPointer?) throws(PassAuthError) -> CallbackStore {
        guard let raw else { throw .invalid("store must not be NULL", key: "store") }
        let version = raw.loadUnaligned(as: UInt32.self)
        guard version == storeStructVersion else {
            throw .invalid("store->version is \(version), expected PASSAUTH_STORE_VERSION (\(storeStructVersion))", key: "store.version")
        }
        let word = MemoryLayout<UnsafeRawPointer>.stride
        let user = raw.loadUnaligned(fromByteOffset: word, as: UnsafeMutableRawPointer?.self)
        let get = raw.loadUnaligned(fromByteOffset: word * 2, as: StoreGet?.self)
        let put = raw.loadUnaligned(fromByteOffset: word * 3, as: StorePut?.self)
        let lock = raw.loadUnaligned(fromByteOffset: word * 4, as: StoreLock?.self)
        let unlock = raw.loadUnaligned(fromByteOffset: word * 5, as: StoreUnlock?.self)
        guard let get, let put, let lock, let unlock else {
            throw .invalid("store: the get, put, lock and unlock callbacks are all required", key: "store")
        }
        return CallbackStore(operations: .init(
            get: { key in
                var out: UnsafeMutablePointer<CChar>? = nil
                var version: UInt64 = 0
                let status = key.withCString { get(user, $0, &out, &version) }
                defer { free(out) }
                guard status == 0 else { return (status, nil, 0, true) }
                guard let out else { return (0, nil, 0, true) }
                guard let text = String(validatingCString: out) else { return (0, nil, version, false) }
                return (0, text, version, true)
            },
            put: { key, value, expected, ttl in
                var version: UInt64 = 0
                let status = key.withCString { k in
                    value.map { v in v.withCString { put(user, k, $0, expected, ttl, &version) } } ?? put(user, k, nil, expected, ttl, &version)
                }
                return (status, version)
            },
            lock: { name, timeoutMs in
                var token: UnsafeMutableRawPointer? = nil
                let status = name.withCString { lock(user, $0, Int32(clamping: timeoutMs), &token) }
                return (status, token)
            },
            unlock: { name, token in name.withCString { unlock(user, $0, token) } }))
    }
}

@_cdecl("passauth_client_new_with_store")
public func passauth_client_new_with_store(_ configJSON: CString?, _ store: UnsafeRawPointer?,
                                           _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    Bridge.run { () throws(PassAuthError) in
        let out = try Bridge.requireOut(out, "out")
        let config = try ClientSettings(json: Bridge.json(configJSON, "config_json"))
        let store = try Bridge.callbackStore(store)
        let client = try Client(config: config, store: store)
        out.pointee = OpaquePointer(Unmanaged.passRetained(client).toOpaque())
    }
}

@_cdecl("passauth_store_set_error")
public func passauth_store_set_error(_ message: CString?) {
    CallbackStore.setCallbackError(message.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: strlen($0)), as: UTF8.self) })
}
