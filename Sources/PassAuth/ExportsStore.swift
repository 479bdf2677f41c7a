import Glibc
import PassAuthCore

// passauth_store (Include/passauth.h): the application's callbacks, read field by field from the
// caller's struct (copied at creation) and wrapped in a CallbackStore. Conversion only.

typealias StoreLoad = @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<CChar>?,
                                      UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32
typealias StoreSave = @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<CChar>?, UnsafePointer<CChar>?) -> Int32
typealias StoreLock = @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<CChar>?, Int32,
                                      UnsafeMutablePointer<UnsafeMutableRawPointer?>?) -> Int32
typealias StoreUnlock = @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<CChar>?, UnsafeMutableRawPointer?) -> Int32

/// Same layout as `struct passauth_store` (five pointers).
struct CStore {
    var userData: UnsafeMutableRawPointer?
    var load: StoreLoad?
    var save: StoreSave?
    var lock: StoreLock?
    var unlock: StoreUnlock?
}

/// A C string kept for the client's life: the service provider handed to every callback.
final class PinnedCString: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<CChar>
    init(_ text: String) { pointer = strdup(text)! }
    deinit { free(pointer) }
}

extension Bridge {
    static func callbackStore(_ raw: UnsafeRawPointer?, serviceProvider: String) throws(PassAuthError) -> CallbackStore {
        guard let raw else { throw .invalid("store must not be NULL", key: "store") }
        let c = raw.loadUnaligned(as: CStore.self)
        guard let load = c.load, let save = c.save, let lock = c.lock, let unlock = c.unlock else {
            throw .invalid("store: the load, save, lock and unlock callbacks are all required", key: "store")
        }
        let user = c.userData
        let sp = PinnedCString(serviceProvider)
        return CallbackStore(serviceProvider: serviceProvider, operations: .init(
            load: {
                var out: UnsafeMutablePointer<CChar>? = nil
                let status = load(user, sp.pointer, &out)
                defer { free(out) }
                guard status == 0 else { return (status, nil) }
                guard let out else { return (0, nil) }
                guard let text = String(validatingCString: out) else { return (0, "\u{0}invalid UTF-8") }
                return (0, text)
            },
            save: { text in text.withCString { save(user, sp.pointer, $0) } },
            lock: { timeoutMs in
                var token: UnsafeMutableRawPointer? = nil
                let status = lock(user, sp.pointer, Int32(clamping: timeoutMs), &token)
                return (status, token)
            },
            unlock: { token in unlock(user, sp.pointer, token) }))
    }
}

@_cdecl("passauth_client_new_with_store")
public func passauth_client_new_with_store(_ configJSON: CString?, _ store: UnsafeRawPointer?,
                                           _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    Bridge.run { () throws(PassAuthError) in
        let out = try Bridge.requireOut(out, "out")
        let config = try ClientSettings(json: Bridge.json(configJSON, "config_json"))
        let store = try Bridge.callbackStore(store, serviceProvider: config.serviceProvider)
        let client = try Client(config: config, store: store)
        out.pointee = OpaquePointer(Unmanaged.passRetained(client).toOpaque())
    }
}
