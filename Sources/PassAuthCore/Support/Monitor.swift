import Glibc

/// A mutex with condition variables on the monotonic clock, for the few places that must wait for
/// a state change with a deadline (poll results, the poll scheduler). Threads that wait for different
/// things wait on different conditions, so a change wakes only the thread it concerns.
final class Monitor: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let conditions: UnsafeMutablePointer<pthread_cond_t>
    private let count: Int

    init(conditions count: Int = 1) {
        self.count = count
        conditions = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: count)
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        for index in 0..<count { pthread_cond_init(conditions + index, &attributes) }
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        for index in 0..<count { pthread_cond_destroy(conditions + index) }
        pthread_mutex_destroy(mutex)
        conditions.deallocate()
        mutex.deallocate()
    }

    func withLock<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }

    /// Waits (lock held by the caller, inside `withLock`) on condition `on` until signalled or
    /// `deadline` (monotonic ms).
    func wait(until deadline: Int64?, on condition: Int = 0) {
        guard let deadline else {
            pthread_cond_wait(conditions + condition, mutex)
            return
        }
        var ts = timespec(tv_sec: Int(deadline / 1000), tv_nsec: Int(deadline % 1000) * 1_000_000)
        pthread_cond_timedwait(conditions + condition, mutex, &ts)
    }

    /// Wakes every thread waiting on `condition` (every condition when nil).
    func broadcast(_ condition: Int? = nil) {
        if let condition { pthread_cond_broadcast(conditions + condition); return }
        for index in 0..<count { pthread_cond_broadcast(conditions + index) }
    }

    /// Wakes one thread waiting on `condition`.
    func signal(_ condition: Int) { pthread_cond_signal(conditions + condition) }
}
