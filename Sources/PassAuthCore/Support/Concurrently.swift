import Glibc

/// Runs `count` jobs, at most `limit` at a time: the calling thread takes jobs too, and up to
/// `limit - 1` short-lived helper threads join it (a multi-resource authorization sends its requests
/// side by side, each on a connection of the pool, with the whole retry policy of a blocking call).
/// Returns each job's outcome in job order. One job, or `limit` 1, runs on the caller alone.
enum Concurrently {
    static func run<T>(_ count: Int, limit: Int, _ job: @escaping @Sendable (Int) throws(PassAuthError) -> T)
        -> [Result<T, PassAuthError>]
    {
        if count == 1 {
            do throws(PassAuthError) { return [.success(try job(0))] } catch { return [.failure(error)] }
        }
        let shared = Jobs<T>(count: count, job: job)
        let helpers = max(0, min(limit, count) - 1)
        var threads: [pthread_t] = []
        for _ in 0..<helpers {
            // A helper that cannot start leaves its share to the others and the caller.
            if case .success(let thread) = Threads.start("passauth-call", { shared.drain() }) { threads.append(thread) }
        }
        shared.drain()
        for thread in threads { pthread_join(thread, nil) }
        return shared.results()
    }
}

/// The jobs and their outcomes; the next index is taken under the lock, jobs run outside it.
private final class Jobs<T>: @unchecked Sendable {
    private let count: Int
    private let job: @Sendable (Int) throws(PassAuthError) -> T
    private let state: Locked<(next: Int, outcomes: [Result<T, PassAuthError>?])>

    init(count: Int, job: @escaping @Sendable (Int) throws(PassAuthError) -> T) {
        self.count = count
        self.job = job
        state = Locked((0, Array(repeating: nil, count: count)))
    }

    func drain() {
        while true {
            let index: Int? = state.withLock { s in
                guard s.next < count else { return nil }
                defer { s.next += 1 }
                return s.next
            }
            guard let index else { return }
            let outcome: Result<T, PassAuthError>
            do throws(PassAuthError) { outcome = .success(try job(index)) } catch { outcome = .failure(error) }
            state.withLock { $0.outcomes[index] = outcome }
        }
    }

    func results() -> [Result<T, PassAuthError>] {
        state.withLock { s in s.outcomes.map { $0 ?? .failure(PassAuthError(.internal, "a job did not run")) } }
    }
}
