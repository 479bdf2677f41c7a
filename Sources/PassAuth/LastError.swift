import Glibc
import PassAuthCore

/// The per-thread "last error" string behind passauth_last_error(): a malloc'd C string owned by the
/// thread's key slot, freed when replaced or when the thread exits.
enum LastError {
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { free($0) }
        return key
    }()

    nonisolated(unsafe) static let none: UnsafePointer<CChar> = UnsafePointer(strdup(#"{"status":0,"statusName":"PASSAUTH_OK","message":"no error"}"#)!)

    static func set(_ error: PassAuthError) {
        let text = error.asJSON.serialized()
        let previous = pthread_getspecific(key)
        pthread_setspecific(key, strdup(text))
        free(previous)
    }

    static var current: UnsafePointer<CChar> {
        pthread_getspecific(key).map { UnsafePointer($0.assumingMemoryBound(to: CChar.self)) } ?? none
    }
}
