import Glibc

/// A lock held across one network operation so that concurrent callers share its result instead of
/// repeating it (single flight). Waiting is bounded: a waiter gives up after `timeoutMs`.
final class FlightLock: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)

    init() { pthread_mutex_init(mutex, nil) }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    func run<T>(timeoutMs: Int, what: String, _ body: () throws(PassAuthError) -> T) throws(PassAuthError) -> T {
        var deadline = timespec()
        clock_gettime(CLOCK_REALTIME, &deadline)
        let nanos = Int(deadline.tv_nsec) + (timeoutMs % 1000) * 1_000_000
        deadline.tv_sec += timeoutMs / 1000 + nanos / 1_000_000_000
        deadline.tv_nsec = nanos % 1_000_000_000
        let result = pthread_mutex_timedlock(mutex, &deadline)
        guard result == 0 else {
            throw PassAuthError(.timeout, "timed out after \(timeoutMs) ms waiting for another thread's \(what)")
        }
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }
}
