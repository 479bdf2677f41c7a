import CSQLite
import Glibc

/// The default store: one SQLite database, `passauth.sqlite3`, in the store directory (WAL mode,
/// `synchronous=FULL`: a commit survives a crash or a kill -9 of any writer at any moment, and a reader
/// never sees a torn value). One table holds every key:
///
///     kv(key TEXT PRIMARY KEY, value TEXT, version INTEGER, expires_at INTEGER NULL)
///     meta(id = 1, seq INTEGER)      -- versions come from this one sequence, so none is ever reused
///
/// A write touches one row (plus the sequence): its cost does not depend on how many devices are
/// stored. Expired rows are purged a few at a time by writes. Versions, TTLs and the registration lock
/// (an flock(2) on the sibling `passauth.sqlite3.lock`, released by the kernel if its holder dies) give
/// the `StateStore` contract across processes; readers take no lock and are never stalled by a crashed
/// process (SQLite's own locks are fcntl locks the kernel releases too).
///
/// Values read and written are kept in memory by key and version; `PRAGMA data_version` (a cheap read
/// of the WAL index) tells when another connection or process committed, and the copy is then dropped.
///
/// Files: the directory is created 0700, the database 0600 (SQLite gives its -wal and -shm files the
/// database's mode). A store that cannot be written (read-only directory or file system) still serves
/// reads: the database is opened read-only, or as immutable when even the WAL index cannot be created.
/// A file that is not a passauth database, or is corrupt, is a `.store` error naming it, and is never
/// written to.
package final class SQLiteStore: StateStore, @unchecked Sendable {
    package static let fileName = "passauth.sqlite3"
    /// `PRAGMA application_id` of passauth databases ("PaSt").
    static let applicationId: Int64 = 0x5061_5374
    static let schemaVersion: Int64 = 1
    /// Expired rows removed per write (keeps the cost of a write flat).
    static let purgeBatch = 16

    package let directory: String
    package let path: String
    package let lockPath: String
    package var description: String { "store \(path)" }

    private let mutex = TimedMutex()
    // Guarded by `mutex`: the one connection (opened on first use) and the copy of values.
    private var connection: Connection?
    private var cache = ValueCache(capacity: 4096)

    package init(directory: String) {
        var directory = directory
        while directory.count > 1 && directory.hasSuffix("/") { directory.removeLast() }
        self.directory = directory
        path = directory + "/" + SQLiteStore.fileName
        lockPath = path + ".lock"
    }

    deinit { connection?.close() }

    // MARK: - StateStore

    package func get(_ key: String, timeoutMs: Int) throws(PassAuthError) -> StoredValue? {
        try mutex.run(timeoutMs: timeoutMs, what: description) { () throws(PassAuthError) -> StoredValue? in
            guard let connection = try connection(forWriting: false, timeoutMs: timeoutMs), !connection.empty else { return nil }
            try refreshCache(connection)
            let now = Clock.nowMs()
            if let entry = cache.lookup(key) { return entry.live(at: now) }
            let statement = try connection.prepare("SELECT value, version, expires_at FROM kv WHERE key = ?1", store: self)
            defer { sqlite3_reset(statement) }
            bind(statement, 1, key)
            let entry: ValueCache.Entry
            switch sqlite3_step(statement) {
            case SQLITE_ROW:
                guard let text = sqlite3_column_text(statement, 0) else {
                    throw PassAuthError(.store, "\(description): the value of key '\(key)' is NULL; it was left untouched")
                }
                let length = Int(sqlite3_column_bytes(statement, 0))
                let value = text.withMemoryRebound(to: UInt8.self, capacity: length) {
                    String(validating: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self)
                }
                guard let value else {
                    throw PassAuthError(.store, "\(description): the value of key '\(key)' is not UTF-8 text; it was left untouched")
                }
                let expires: Int64? = sqlite3_column_type(statement, 2) == SQLITE_NULL ? nil : sqlite3_column_int64(statement, 2)
                entry = .init(value: value, version: UInt64(bitPattern: sqlite3_column_int64(statement, 1)), expiresAt: expires)
            case SQLITE_DONE:
                entry = .init(value: nil, version: 0, expiresAt: nil)
            case let code:
                throw failure("reading key '\(key)' from", code, connection.db)
            }
            cache.insert(key, entry)
            return entry.live(at: now)
        }
    }

    package func put(_ key: String, value: String?, expectedVersion: UInt64, ttlMs: Int64, timeoutMs: Int) throws(PassAuthError) -> PutResult {
        try putAll([StoreWrite(key: key, value: value, expectedVersion: expectedVersion, ttlMs: ttlMs)], timeoutMs: timeoutMs)[0]
    }

    /// Every write in one transaction (one fsync), each conditional on its own key's version.
    package func putAll(_ writes: [StoreWrite], timeoutMs: Int) throws(PassAuthError) -> [PutResult] {
        guard !writes.isEmpty else { return [] }
        return try mutex.run(timeoutMs: timeoutMs, what: description) { () throws(PassAuthError) -> [PutResult] in
            guard let connection = try connection(forWriting: true, timeoutMs: timeoutMs) else {
                throw PassAuthError(.store, "\(description) could not be created")
            }
            let db = connection.db
            let now = Clock.nowMs()
            var results: [PutResult] = []
            var entries: [(String, ValueCache.Entry)] = []
            try connection.execute("BEGIN IMMEDIATE", store: self, what: "starting a write transaction on")
            do throws(PassAuthError) {
                let select = try connection.prepare("SELECT version, expires_at FROM kv WHERE key = ?1", store: self)
                let sequence = try connection.prepare("UPDATE meta SET seq = seq + 1 WHERE id = 1 RETURNING seq", store: self)
                let upsert = try connection.prepare(
                    "INSERT INTO kv (key, value, version, expires_at) VALUES (?1, ?2, ?3, ?4) ON CONFLICT (key) DO UPDATE SET "
                        + "value = excluded.value, version = excluded.version, expires_at = excluded.expires_at", store: self)
                let delete = try connection.prepare("DELETE FROM kv WHERE key = ?1", store: self)
                for write in writes {
                    bind(select, 1, write.key)
                    var current: UInt64 = 0
                    switch sqlite3_step(select) {
                    case SQLITE_ROW:
                        let expired = sqlite3_column_type(select, 1) != SQLITE_NULL && sqlite3_column_int64(select, 1) <= now
                        current = expired ? 0 : UInt64(bitPattern: sqlite3_column_int64(select, 0))
                    case SQLITE_DONE: break
                    case let code: sqlite3_reset(select); throw failure("reading key '\(write.key)' from", code, db)
                    }
                    sqlite3_reset(select)
                    guard current == write.expectedVersion else {
                        results.append(.conflict)
                        continue
                    }
                    guard sqlite3_step(sequence) == SQLITE_ROW else {
                        let code = sqlite3_errcode(db)
                        sqlite3_reset(sequence)
                        throw failure("numbering a write in", code, db)
                    }
                    let version = sqlite3_column_int64(sequence, 0)
                    sqlite3_reset(sequence)
                    let expiresAt: Int64? = write.ttlMs > 0 ? now + write.ttlMs : nil
                    let statement = write.value == nil ? delete : upsert
                    bind(statement, 1, write.key)
                    if let value = write.value {
                        bind(statement, 2, value)
                        sqlite3_bind_int64(statement, 3, version)
                        if let expiresAt { sqlite3_bind_int64(statement, 4, expiresAt) } else { sqlite3_bind_null(statement, 4) }
                    }
                    let code = sqlite3_step(statement)
                    sqlite3_reset(statement)
                    sqlite3_clear_bindings(statement)
                    guard code == SQLITE_DONE else { throw failure("writing key '\(write.key)' to", code, db) }
                    results.append(.stored(version: UInt64(version)))
                    entries.append((write.key, .init(value: write.value, version: write.value == nil ? 0 : UInt64(version), expiresAt: expiresAt)))
                }
                let purge = try connection.prepare(
                    "DELETE FROM kv WHERE key IN (SELECT key FROM kv WHERE expires_at IS NOT NULL AND expires_at <= ?1 LIMIT \(SQLiteStore.purgeBatch))",
                    store: self)
                sqlite3_bind_int64(purge, 1, now)
                let purged = sqlite3_step(purge)
                sqlite3_reset(purge)
                guard purged == SQLITE_DONE else { throw failure("purging expired keys of", purged, db) }
                try connection.execute("COMMIT", store: self, what: "committing a write to")
            } catch {
                _ = sqlite3_exec(db, "ROLLBACK", nil, nil, nil)
                cache.removeAll()
                throw error
            }
            // Our own commit does not move this connection's data_version: the copy stays valid.
            for (key, entry) in entries { cache.insert(key, entry) }
            for (write, result) in zip(writes, results) where result == .conflict { cache.remove(write.key) }
            connection.protectFiles(path: path)
            return results
        }
    }

    package func withLock<T>(_ name: String, timeoutMs: Int, _ body: () throws(PassAuthError) -> T) throws(PassAuthError) -> T {
        try makeDirectory()
        var fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        if fd < 0 && (errno == EACCES || errno == EROFS) { fd = open(lockPath, O_RDONLY | O_CLOEXEC) }
        guard fd >= 0 else {
            throw PassAuthError(.store, "cannot open the lock file \(lockPath) of store \(path): \(String(cString: strerror(errno))) (the store directory must be writable to register or renew the access token)")
        }
        defer { close(fd) }  // closing releases the flock (and so does the kernel if this process dies)
        let deadline = Clock.monotonicMs() + Int64(timeoutMs)
        var pause: Int64 = 1
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR else {
                throw PassAuthError(.store, "cannot lock \(lockPath): \(String(cString: strerror(errno)))")
            }
            guard Clock.monotonicMs() < deadline else {
                throw PassAuthError(.store, "timed out after \(timeoutMs) ms waiting for the lock \(lockPath) of store \(path) (another process is registering)")
            }
            Clock.sleep(ms: pause)
            pause = min(pause * 2, 50)
        }
        return try body()
    }

    // MARK: - Opening

    /// The connection, opened on first use. For a read, nil means "nothing stored yet" (no file: none
    /// is created by reading). A connection that could only be opened read-only is reopened for a
    /// write, which fails clearly if the store is still not writable.
    private func connection(forWriting: Bool, timeoutMs: Int) throws(PassAuthError) -> Connection? {
        if let connection {
            if !forWriting || connection.mode == .readWrite {
                sqlite3_busy_timeout(connection.db, Int32(clamping: timeoutMs))
                return connection
            }
            connection.close()
            self.connection = nil
            cache.removeAll()
        }
        var info = stat()
        if stat(path, &info) != 0 {
            guard errno == ENOENT else { throw posixFailure("cannot reach") }
            guard forWriting else { return nil }
            try create()
        }
        let opened: Connection
        do throws(PassAuthError) {
            opened = try openConnection(uri: nil, mode: .readWrite, timeoutMs: timeoutMs)
        } catch {
            // A read may still succeed read-only (a read-only directory: no WAL index can be created).
            guard error.code == SQLiteStore.fallbackMarker else { throw error }
            guard !forWriting else {
                throw PassAuthError(.store, "\(description) cannot be written: the store directory or the database file is read-only; the state was not changed")
            }
            let fallback = try? openConnection(uri: "file:\(SQLiteStore.uriEscaped(path))?mode=ro", mode: .readOnly, timeoutMs: timeoutMs)
            guard let fallback = fallback ?? (try? openConnection(uri: "file:\(SQLiteStore.uriEscaped(path))?immutable=1", mode: .immutable, timeoutMs: timeoutMs))
            else { throw error.unmarked }
            opened = fallback
        }
        if forWriting && opened.mode != .readWrite {
            opened.close()
            throw PassAuthError(.store, "\(description) is read-only (the file or its directory cannot be written): the state cannot be changed")
        }
        connection = opened
        cache.removeAll()
        return opened
    }

    static let fallbackMarker = "sqlite-cannot-open-read-write"

    private func openConnection(uri: String?, mode: Connection.Mode, timeoutMs: Int) throws(PassAuthError) -> Connection {
        var db: OpaquePointer?
        let flags = (mode == .readWrite ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY) | SQLITE_OPEN_NOMUTEX | (uri == nil ? 0 : SQLITE_OPEN_URI)
        let code = sqlite3_open_v2(uri ?? path, &db, flags, nil)
        guard code == SQLITE_OK, let db else {
            let error = failure("opening", code, db)
            sqlite3_close_v2(db)
            throw error
        }
        sqlite3_extended_result_codes(db, 1)
        sqlite3_busy_timeout(db, Int32(clamping: timeoutMs))
        // The file may be read-only even though read-write was asked (SQLite then opens it read-only).
        let effective: Connection.Mode = mode == .readWrite && sqlite3_db_readonly(db, "main") == 1 ? .readOnly : mode
        let connection = Connection(db: db, mode: effective)
        do throws(PassAuthError) {
            try prepareSchema(connection)
        } catch {
            connection.close()
            throw error
        }
        return connection
    }

    /// Checks that the file is a passauth database (never writing to one that is not), and turns an
    /// empty file into one.
    private func prepareSchema(_ connection: Connection) throws(PassAuthError) {
        let pages: Int64
        let application: Int64
        do throws(PassAuthError) {
            pages = try connection.integer("PRAGMA page_count", store: self)
            application = try connection.integer("PRAGMA application_id", store: self)
        } catch {
            // A read-write open whose first read fails for lack of a writable WAL index (a read-only
            // directory) may be retried read-only; anything else (corrupt, not a database) may not.
            let primary = connection.lastCode & 0xFF
            if connection.mode != .immutable && (primary == SQLITE_CANTOPEN || primary == SQLITE_READONLY || primary == SQLITE_IOERR) {
                var marked = error
                marked.code = SQLiteStore.fallbackMarker
                throw marked
            }
            throw error
        }
        if application != SQLiteStore.applicationId {
            // An empty file, or an empty database (a creator that died before its first commit): ours to
            // initialise. Anything else is not ours and is never written to.
            let tables = pages == 0 ? 0 : try connection.integer("SELECT count(*) FROM sqlite_master", store: self)
            guard application == 0 && tables == 0 else {
                throw PassAuthError(.store, "store file \(path) is not a passauth database (an SQLite database of another application, application_id \(application)); it was left untouched: move it away or choose another store directory")
            }
            guard connection.mode == .readWrite else { connection.empty = true; return }
            try initialize(connection)
        } else {
            let schema = try connection.integer("PRAGMA user_version", store: self)
            guard schema == SQLiteStore.schemaVersion else {
                throw PassAuthError(.store, "store file \(path) has schema version \(schema), this passauth reads version \(SQLiteStore.schemaVersion) (written by a newer passauth?); it was left untouched")
            }
            if connection.mode == .readWrite, try connection.text("PRAGMA journal_mode", store: self) != "wal" {
                _ = try connection.text("PRAGMA journal_mode=WAL", store: self)
            }
        }
        if connection.mode == .readWrite {
            try connection.execute("PRAGMA synchronous=FULL", store: self, what: "configuring")
        }
        connection.protectFiles(path: path)
    }

    private func initialize(_ connection: Connection) throws(PassAuthError) {
        guard try connection.text("PRAGMA journal_mode=WAL", store: self) == "wal" else {
            throw PassAuthError(.store, "\(description): cannot switch the new database to WAL mode")
        }
        try connection.execute("BEGIN IMMEDIATE", store: self, what: "initialising")
        do throws(PassAuthError) {
            // Another process may have initialised it meanwhile (then this is a no-op), or written
            // something that is not ours (then it is left alone).
            let application = try connection.integer("PRAGMA application_id", store: self)
            let tables = try connection.integer("SELECT count(*) FROM sqlite_master", store: self)
            guard application == SQLiteStore.applicationId || (application == 0 && tables == 0) else {
                throw PassAuthError(.store, "store file \(path) is not a passauth database (application_id \(application)); it was left untouched")
            }
            try connection.execute("""
                CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL, version INTEGER NOT NULL,
                                               expires_at INTEGER);
                CREATE INDEX IF NOT EXISTS kv_expiry ON kv (expires_at) WHERE expires_at IS NOT NULL;
                CREATE TABLE IF NOT EXISTS meta (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL);
                INSERT OR IGNORE INTO meta (id, seq) VALUES (1, 0);
                PRAGMA application_id = \(SQLiteStore.applicationId);
                PRAGMA user_version = \(SQLiteStore.schemaVersion);
                COMMIT;
                """, store: self, what: "initialising")
        } catch {
            _ = sqlite3_exec(connection.db, "ROLLBACK", nil, nil, nil)
            throw error
        }
    }

    private func create() throws(PassAuthError) {
        try makeDirectory()
        let fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        if fd >= 0 {
            fchmod(fd, 0o600)  // whatever the umask
            close(fd)
        } else if errno != EEXIST {
            throw posixFailure("cannot create")
        }
    }

    private func makeDirectory() throws(PassAuthError) {
        var prefix = directory.hasPrefix("/") ? "" : "."
        for component in directory.split(separator: "/") {
            prefix += "/" + component
            if mkdir(prefix, 0o700) != 0 && errno != EEXIST {
                throw PassAuthError(.store, "cannot create store directory \(prefix): \(String(cString: strerror(errno)))")
            }
        }
    }

    /// Drops the copy of values when another connection (another client, another process) committed
    /// since this connection last looked.
    private func refreshCache(_ connection: Connection) throws(PassAuthError) {
        guard connection.mode != .immutable else { return }
        let statement = try connection.prepare("PRAGMA data_version", store: self)
        defer { sqlite3_reset(statement) }
        let code = sqlite3_step(statement)
        guard code == SQLITE_ROW else { throw failure("checking", code, connection.db) }
        let version = sqlite3_column_int64(statement, 0)
        if version != connection.dataVersion {
            cache.removeAll()
            connection.dataVersion = version
        }
    }

    // MARK: - Errors

    func failure(_ what: String, _ code: Int32, _ db: OpaquePointer?) -> PassAuthError {
        let detail = db.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(code))
        switch code & 0xFF {
        case SQLITE_NOTADB, SQLITE_CORRUPT:
            return PassAuthError(.store, "store file \(path) is corrupt or not a passauth database (\(detail)); it was left untouched: move it away to start over (the next call then registers anew)")
        case SQLITE_BUSY, SQLITE_LOCKED:
            return PassAuthError(.store, "timed out \(what) store \(path): another process holds it (\(detail))")
        case SQLITE_READONLY:
            return PassAuthError(.store, "store \(path) is read-only (\(detail)): the state cannot be changed")
        case SQLITE_FULL:
            return PassAuthError(.store, "store \(path) is full (\(detail)): the state was not changed")
        default:
            return PassAuthError(.store, "\(what) store \(path) failed: \(detail) (SQLite code \(code))")
        }
    }

    private func posixFailure(_ what: String) -> PassAuthError {
        PassAuthError(.store, "\(what) store file \(path): \(String(cString: strerror(errno)))")
    }

    private func bind(_ statement: OpaquePointer, _ index: Int32, _ text: String) {
        var text = text
        text.withUTF8 { bytes in
            bytes.withMemoryRebound(to: CChar.self) {
                if let base = $0.baseAddress {
                    _ = passauth_sqlite3_bind_text(statement, index, base, Int32(bytes.count))
                } else {
                    _ = passauth_sqlite3_bind_text(statement, index, "", 0)
                }
            }
        }
    }

    /// A path as the path part of an SQLite URI filename.
    static func uriEscaped(_ path: String) -> String {
        var out = ""
        for byte in path.utf8 {
            if byte == UInt8(ascii: "%") || byte == UInt8(ascii: "?") || byte == UInt8(ascii: "#") || byte < 0x21 || byte > 0x7E {
                out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            } else {
                out.unicodeScalars.append(UnicodeScalar(byte))
            }
        }
        return out
    }
}

extension PassAuthError {
    /// The error without the internal marker that asked for a read-only retry.
    fileprivate var unmarked: PassAuthError {
        var copy = self
        if copy.code == SQLiteStore.fallbackMarker { copy.code = nil }
        return copy
    }
}

/// One SQLite connection and its prepared statements; used only with the store's mutex held.
private final class Connection {
    enum Mode { case readWrite, readOnly, immutable }

    let db: OpaquePointer
    let mode: Mode
    /// `PRAGMA data_version` when the value copy was last validated.
    var dataVersion: Int64 = -1
    /// An empty file opened read-only: nothing stored.
    var empty = false
    var lastCode: Int32 = SQLITE_OK
    private var statements: [String: OpaquePointer] = [:]
    private var filesProtected = false

    init(db: OpaquePointer, mode: Mode) {
        self.db = db
        self.mode = mode
    }

    func close() {
        for statement in statements.values { sqlite3_finalize(statement) }
        statements = [:]
        sqlite3_close_v2(db)
    }

    func prepare(_ sql: String, store: SQLiteStore) throws(PassAuthError) -> OpaquePointer {
        if let statement = statements[sql] { return statement }
        var statement: OpaquePointer?
        let code = sqlite3_prepare_v3(db, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard code == SQLITE_OK, let statement else {
            lastCode = code
            throw store.failure("preparing a query on", code, db)
        }
        statements[sql] = statement
        return statement
    }

    func execute(_ sql: String, store: SQLiteStore, what: String) throws(PassAuthError) {
        let code = sqlite3_exec(db, sql, nil, nil, nil)
        lastCode = code
        guard code == SQLITE_OK else { throw store.failure(what, code, db) }
    }

    /// The first column of the first row of a one-off query.
    private func first<T>(_ sql: String, store: SQLiteStore, _ read: (OpaquePointer) -> T) throws(PassAuthError) -> T? {
        var statement: OpaquePointer?
        var code = sqlite3_prepare_v2(db, sql, -1, &statement, nil)
        defer { sqlite3_finalize(statement) }
        if code == SQLITE_OK, let statement {
            code = sqlite3_step(statement)
            if code == SQLITE_ROW { lastCode = SQLITE_OK; return read(statement) }
            if code == SQLITE_DONE { lastCode = SQLITE_OK; return nil }
        }
        lastCode = code
        throw store.failure("reading", code, db)
    }

    func integer(_ sql: String, store: SQLiteStore) throws(PassAuthError) -> Int64 {
        try first(sql, store: store) { sqlite3_column_int64($0, 0) } ?? 0
    }

    func text(_ sql: String, store: SQLiteStore) throws(PassAuthError) -> String? {
        try first(sql, store: store) { statement in sqlite3_column_text(statement, 0).map { String(cString: $0) } } ?? nil
    }

    /// The -wal and -shm files get the database's mode from SQLite; make sure of 0600 once they exist
    /// (next to the database's real path when it is a symlink).
    func protectFiles(path: String) {
        guard !filesProtected, mode == .readWrite else { return }
        var resolved = path
        if let real = realpath(path, nil) {
            resolved = String(cString: real)
            free(real)
        }
        var done = true
        for suffix in ["-wal", "-shm"] {
            var info = stat()
            guard stat(resolved + suffix, &info) == 0 else { done = false; continue }
            if info.st_mode & 0o077 != 0 { chmod(resolved + suffix, 0o600) }
        }
        filesProtected = done
    }
}

/// A mutex whose wait is bounded (the call's timeout).
private final class TimedMutex: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)

    init() { pthread_mutex_init(mutex, nil) }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    func run<T>(timeoutMs: Int, what: String, _ body: () throws(PassAuthError) -> T) throws(PassAuthError) -> T {
        if pthread_mutex_trylock(mutex) != 0 {
            var deadline = timespec()
            clock_gettime(CLOCK_REALTIME, &deadline)
            let nanos = Int(deadline.tv_nsec) + (timeoutMs % 1000) * 1_000_000
            deadline.tv_sec += timeoutMs / 1000 + nanos / 1_000_000_000
            deadline.tv_nsec = nanos % 1_000_000_000
            guard pthread_mutex_timedlock(mutex, &deadline) == 0 else {
                throw PassAuthError(.store, "timed out after \(timeoutMs) ms waiting for \(what) (used by another thread)")
            }
        }
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }
}

/// The in-memory copy of values (and of absent keys) by key, bounded.
struct ValueCache {
    struct Entry {
        var value: String?
        var version: UInt64
        var expiresAt: Int64?

        func live(at now: Int64) -> StoredValue? {
            guard let value, expiresAt.map({ $0 > now }) ?? true else { return nil }
            return StoredValue(value: value, version: version)
        }
    }

    let capacity: Int
    private var entries: [String: Entry] = [:]

    init(capacity: Int) { self.capacity = capacity }

    func lookup(_ key: String) -> Entry? { entries[key] }

    mutating func insert(_ key: String, _ entry: Entry) {
        // Bounded whatever the number of devices: a full copy starts over (the store has it all).
        if entries.count >= capacity && entries[key] == nil { entries.removeAll(keepingCapacity: true) }
        entries[key] = entry
    }

    mutating func remove(_ key: String) { entries[key] = nil }
    mutating func removeAll() { entries.removeAll() }
    var count: Int { entries.count }
}
