import Glibc

/// A value guarded by a pthread mutex: the lock for state that many threads share.
///
/// Why not Synchronization's `Mutex`: it locks with raw futexes, which race checkers (valgrind helgrind,
/// ThreadSanitizer) do not see, so every access it guards shows up as a data race and real races drown
/// in the noise. pthread locks are intercepted by both tools.
final class Locked<Value> {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private var value: Value  // only touched with `mutex` held

    init(_ value: Value) {
        self.value = value
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    func withLock<T, E: Error>(_ body: (inout Value) throws(E) -> T) throws(E) -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}

// Safe to share: `value` is only reached through `withLock`, and a Sendable value may cross threads.
extension Locked: @unchecked Sendable where Value: Sendable {}
