import Synchronization

/// A counter that many threads bump without a lock.
public final class Counter: Sendable {
    private let value = Atomic<Int>(0)
    public init() {}
    public func add(_ amount: Int = 1) { value.add(amount, ordering: .relaxed) }
    public var current: Int { value.load(ordering: .relaxed) }
}

/// What `passauth_stats` reports. Counts only; nothing here can carry a secret.
public final class Stats: Sendable {
    private let requests = Locked<[String: Int]>([:])
    public let retries = Counter()
    public let unauthorizedRefreshes = Counter()
    public let throttled = Counter()
    public let cacheHits = Counter()
    public let connectionsOpened = Counter()
    public let registrations = Counter()
    /// Registrations that replaced a client (every user of the old client was logged out).
    public let reregistrations = Counter()
    public let tokenFetches = Counter()

    public init() {}

    func countRequest(_ endpoint: String) { requests.withLock { $0[endpoint, default: 0] += 1 } }

    public var asJSON: JSON {
        // Sorted under the lock: a copy read after unlocking would share the dictionary's storage with
        // the next countRequest, a hand-over only the reference count orders (invisible to helgrind).
        let perEndpoint = requests.withLock { $0.sorted { $0.key < $1.key } }
        return [
            "requests": .object(perEndpoint.map { ($0.key, JSON.int(Int64($0.value))) }),
            "requestsTotal": .int(Int64(perEndpoint.reduce(0) { $0 + $1.value })),
            "retries": .int(Int64(retries.current)),
            "unauthorizedRefreshes": .int(Int64(unauthorizedRefreshes.current)),
            "throttled": .int(Int64(throttled.current)),
            "cacheHits": .int(Int64(cacheHits.current)),
            "connectionsOpened": .int(Int64(connectionsOpened.current)),
            "registrations": .int(Int64(registrations.current)),
            "tokenFetches": .int(Int64(tokenFetches.current)),
        ]
    }
}
