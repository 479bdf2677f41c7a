import CPassAuthHeader
import Glibc
import PassAuthCore

/// The per-thread last error behind passauth_error_last() and passauth_last_error(): one malloc'd
/// block holding the `passauth_error` struct and every string it points to (its JSON form included),
/// owned by the thread's key slot, freed when replaced or when the thread exits.
enum LastError {
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { free($0) }
        return key
    }()

    /// The record before any failure on a thread.
    nonisolated(unsafe) static let none: UnsafeMutablePointer<passauth_error> = block(for: nil)

    static func set(_ error: PassAuthError) {
        let previous = pthread_getspecific(key)
        pthread_setspecific(key, UnsafeMutableRawPointer(block(for: error)))
        free(previous)
    }

    static var current: UnsafePointer<passauth_error> {
        UnsafePointer(pthread_getspecific(key)?.assumingMemoryBound(to: passauth_error.self) ?? none)
    }

    /// Lays out the struct followed by its NUL-terminated strings in one allocation.
    private static func block(for error: PassAuthError?) -> UnsafeMutablePointer<passauth_error> {
        let status = error?.status ?? .ok
        let fields: [String?] = [
            status.name, error?.message ?? "no error", error?.code, error?.action, error?.endpoint, error?.key,
            error?.details, error?.helpUrl, error?.trace, error?.bodyExcerpt,
            error.map { $0.asJSON.serialized() } ?? #"{"status":0,"statusName":"PASSAUTH_OK","message":"no error"}"#,
        ]
        let header = MemoryLayout<passauth_error>.stride
        let size = header + fields.reduce(0) { $0 + ($1.map { $0.utf8.count + 1 } ?? 0) }
        let raw = malloc(size)!
        var cursor = raw + header
        let pointers: [UnsafePointer<CChar>?] = fields.map { field in
            guard let field else { return nil }
            let start = cursor.assumingMemoryBound(to: CChar.self)
            _ = field.withCString { memcpy(cursor, $0, field.utf8.count + 1) }
            cursor += field.utf8.count + 1
            return UnsafePointer(start)
        }
        let record = raw.bindMemory(to: passauth_error.self, capacity: 1)
        record.initialize(to: passauth_error(
            status: status.rawValue, name: pointers[0], message: pointers[1], code: pointers[2], action: pointers[3],
            endpoint: pointers[4], key: pointers[5], details: pointers[6], help_url: pointers[7], trace: pointers[8],
            body: pointers[9], http_status: Int32(clamping: error?.httpStatus ?? 0),
            retry_after_ms: Int64(error?.retryAfterMs ?? -1), json: pointers[10]))
        return record
    }
}
