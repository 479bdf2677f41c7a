import CSQLite
import Foundation
import Testing
@testable import PassAuthCore

@Suite struct SQLiteStoreTests {
    private func mode(_ path: String) -> Int? {
        (try? FileManager.default.attributesOfItem(atPath: path)[.posixPermissions]) as? Int
    }

    @Test func filesArePrivateAndReadsCreateNothing() throws {
        let dir = temporaryDirectory() + "/nested/dir"
        let store = SQLiteStore(directory: dir)
        #expect(try store.get("k", timeoutMs: 1000) == nil)
        #expect(!FileManager.default.fileExists(atPath: dir))  // a read creates no file
        _ = try store.put("k", value: "v", expectedVersion: 0, ttlMs: 0, timeoutMs: 1000)
        #expect(mode(dir) == 0o700)
        #expect(mode(store.path) == 0o600)
        #expect(mode(store.path + "-wal") == 0o600)
        #expect(mode(store.path + "-shm") == 0o600)
        #expect(try store.get("k", timeoutMs: 1000)?.value == "v")
    }

    @Test func corruptFileIsAnErrorAndStaysUntouched() throws {
        let dir = temporaryDirectory()
        let store = SQLiteStore(directory: dir)
        let garbage = Data((0..<8192).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })
        try garbage.write(to: URL(fileURLWithPath: store.path))
        #expect { try store.get("k", timeoutMs: 1000) } throws: { error in
            let e = error as? PassAuthError
            return e?.status == .store && e?.message.contains(store.path) == true && e?.message.contains("left untouched") == true
        }
        #expect(throws: PassAuthError.self) { try store.put("k", value: "v", expectedVersion: 0, ttlMs: 0, timeoutMs: 1000) }
        #expect(try Data(contentsOf: URL(fileURLWithPath: store.path)) == garbage)
        #expect(!FileManager.default.fileExists(atPath: store.path + "-wal"))
    }

    @Test func anotherApplicationsDatabaseIsRefused() throws {
        let dir = temporaryDirectory()
        let store = SQLiteStore(directory: dir)
        var db: OpaquePointer?
        #expect(sqlite3_open(store.path, &db) == SQLITE_OK)
        #expect(sqlite3_exec(db, "CREATE TABLE songs (title TEXT); INSERT INTO songs VALUES ('x')", nil, nil, nil) == SQLITE_OK)
        sqlite3_close(db)
        let before = try Data(contentsOf: URL(fileURLWithPath: store.path))
        #expect { try store.put("k", value: "v", expectedVersion: 0, ttlMs: 0, timeoutMs: 1000) } throws: { error in
            (error as? PassAuthError)?.message.contains("not a passauth database") == true
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: store.path)) == before)
    }

    /// The in-memory copy is dropped when another connection (another process) commits.
    @Test func anotherWritersCommitIsSeen() throws {
        let dir = temporaryDirectory()
        let a = SQLiteStore(directory: dir), b = SQLiteStore(directory: dir)
        _ = try a.put("k", value: "1", expectedVersion: 0, ttlMs: 0, timeoutMs: 1000)
        let first = try #require(try a.get("k", timeoutMs: 1000))
        #expect(try b.get("k", timeoutMs: 1000) == first)
        _ = try b.put("k", value: "2", expectedVersion: first.version, ttlMs: 0, timeoutMs: 1000)
        #expect(try a.get("k", timeoutMs: 1000)?.value == "2")
        // And a's copy is not trusted for a write either: its stale version conflicts.
        #expect(try a.put("k", value: "3", expectedVersion: first.version, ttlMs: 0, timeoutMs: 1000) == .conflict)
    }

    @Test func expiredRowsArePurgedByWrites() throws {
        let dir = temporaryDirectory()
        let store = SQLiteStore(directory: dir)
        for i in 0..<40 { _ = try store.put("old-\(i)", value: "x", expectedVersion: 0, ttlMs: 1, timeoutMs: 1000) }
        usleep(20_000)
        for i in 0..<3 { _ = try store.put("new-\(i)", value: "y", expectedVersion: 0, ttlMs: 0, timeoutMs: 1000) }
        var db: OpaquePointer?
        #expect(sqlite3_open(store.path, &db) == SQLITE_OK)
        var statement: OpaquePointer?
        sqlite3_prepare_v2(db, "SELECT count(*) FROM kv", -1, &statement, nil)
        sqlite3_step(statement)
        let rows = sqlite3_column_int(statement, 0)
        sqlite3_finalize(statement)
        sqlite3_close(db)
        // 3 writes purge up to 3 x 16 expired rows: all 40 are gone, the 3 live ones stay.
        #expect(rows == 3)
    }

    @Test func registrationLockTimesOutInsteadOfWaitingForever() throws {
        let dir = temporaryDirectory()
        let a = SQLiteStore(directory: dir), b = SQLiteStore(directory: dir)
        try a.withLock("x", timeoutMs: 1000) { () throws(PassAuthError) in
            // flock is per open file description: a second open, even in this process, conflicts.
            let started = Clock.monotonicMs()
            #expect(throws: PassAuthError.self) { try b.withLock("x", timeoutMs: 100) { () throws(PassAuthError) in } }
            #expect(Clock.monotonicMs() - started >= 100)
            // Readers take no lock.
            #expect(try b.get("k", timeoutMs: 100) == nil)
        }
    }

    @Test func symlinkedDirectoryAndFileStaySymlinks() throws {
        let root = temporaryDirectory()
        try FileManager.default.createDirectory(atPath: root + "/real", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: root + "/link", withDestinationPath: root + "/real")
        let viaDirectory = SQLiteStore(directory: root + "/link")
        _ = try viaDirectory.put("k", value: "v", expectedVersion: 0, ttlMs: 0, timeoutMs: 1000)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: root + "/link") == root + "/real")
        #expect(FileManager.default.fileExists(atPath: root + "/real/" + SQLiteStore.fileName))

        try FileManager.default.createDirectory(atPath: root + "/files", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: root + "/files/" + SQLiteStore.fileName,
                                                   withDestinationPath: root + "/real/" + SQLiteStore.fileName)
        let viaFile = SQLiteStore(directory: root + "/files")
        #expect(try viaFile.get("k", timeoutMs: 1000)?.value == "v")
        _ = try viaFile.put("k2", value: "w", expectedVersion: 0, ttlMs: 0, timeoutMs: 1000)
        let attributes = try FileManager.default.attributesOfItem(atPath: root + "/files/" + SQLiteStore.fileName)
        #expect(attributes[.type] as? FileAttributeType == .typeSymbolicLink)
        #expect(try viaDirectory.get("k2", timeoutMs: 1000)?.value == "w")
    }
}
