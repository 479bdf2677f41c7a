/// A store whose four operations are supplied by the application (the C `passauth_store` callbacks):
/// shared state across service instances (Redis, a database…). It keeps the FileStore's contract: a
/// failing operation is a `.store` error naming the operation, a document that is not a passauth state
/// (format 1 JSON object) is a `.store` error and is never overwritten by an empty state, and `save`
/// is only reached with a complete document, so an outage can fail a call but never corrupt the state.
package final class CallbackStore: StateStore, @unchecked Sendable {
    package struct Operations: @unchecked Sendable {
        /// The stored document (nil = nothing stored yet), or a non-zero status.
        package var load: () -> (status: Int32, text: String?)
        package var save: (String) -> Int32
        /// Acquires the exclusive lock, waiting at most `timeoutMs`; returns a status and an opaque token
        /// that `unlock` receives back.
        package var lock: (Int) -> (status: Int32, token: UnsafeMutableRawPointer?)
        package var unlock: (UnsafeMutableRawPointer?) -> Int32

        package init(load: @escaping () -> (status: Int32, text: String?), save: @escaping (String) -> Int32,
                    lock: @escaping (Int) -> (status: Int32, token: UnsafeMutableRawPointer?),
                    unlock: @escaping (UnsafeMutableRawPointer?) -> Int32) {
            self.load = load
            self.save = save
            self.lock = lock
            self.unlock = unlock
        }
    }

    private let operations: Operations
    private let name: String

    package init(serviceProvider: String, operations: Operations) {
        self.operations = operations
        name = "application store (service provider \(serviceProvider))"
    }

    package func load() throws(PassAuthError) -> StoredState {
        let (status, text) = operations.load()
        guard status == 0 else { throw PassAuthError(.store, "\(name): the load callback failed (returned \(status))") }
        guard let text, !text.isEmpty else { return .empty }
        do throws(JSONError) {
            let document = try JSON.parse(text)
            guard case .object = document, document["format"]?.int64Value == 1 else {
                throw JSONError(message: "not a passauth state (format 1)", line: 1, column: 0)
            }
            return StoredState(document: document)
        } catch {
            throw PassAuthError(.store, "\(name): the load callback returned a document that is not a passauth state (\(error.message), line \(error.line)); it was left untouched")
        }
    }

    package func save(_ state: StoredState) throws(PassAuthError) {
        let status = operations.save(state.document.serialized())
        guard status == 0 else { throw PassAuthError(.store, "\(name): the save callback failed (returned \(status)); the state was not changed") }
    }

    package func withLock<T>(timeoutMs: Int, _ body: () throws(PassAuthError) -> T) throws(PassAuthError) -> T {
        let (status, token) = operations.lock(timeoutMs)
        guard status == 0 else {
            throw PassAuthError(.store, "\(name): the lock callback failed (returned \(status), timeout \(timeoutMs) ms)")
        }
        defer {
            // The body's outcome stands (its save is done): a lock that cannot be released is the
            // store's to expire (e.g. a Redis lease), so an unlock failure is not reported.
            _ = operations.unlock(token)
        }
        return try body()
    }
}
