import Foundation
import Testing
@testable import PassAuthCore

@Suite struct FileStoreTests {
    @Test func missingStoreIsEmptyAndSaveIsPrivate() throws {
        let dir = temporaryDirectory() + "/nested/dir"
        let store = FileStore(directory: dir, serviceProvider: "REF30")
        #expect(try store.load() == .empty)
        var state = StoredState.empty
        state.credentials = ClientCredentials(clientId: "c", clientSecret: "s", issuedAt: 5, statementFingerprint: "f")
        try store.save(state)
        #expect(try store.load() == state)
        let mode = try FileManager.default.attributesOfItem(atPath: store.path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.contains(".tmp.") }
        #expect(leftovers.isEmpty)
    }

    @Test func corruptStoreIsAnErrorAndStaysUntouched() throws {
        let dir = temporaryDirectory()
        let store = FileStore(directory: dir, serviceProvider: "REF30")
        try "{\"format\":1,".write(toFile: store.path, atomically: false, encoding: .utf8)
        #expect(throws: PassAuthError.self) { try store.load() }
        #expect(try String(contentsOfFile: store.path, encoding: .utf8) == "{\"format\":1,")
    }

    @Test func serviceProviderCannotEscapeTheDirectory() {
        #expect(FileStore.fileName(for: "../etc") == "%2E.%2Fetc")
        #expect(FileStore.fileName(for: "REF30") == "REF30")
        #expect(!FileStore.fileName(for: "a/b").contains("/"))
    }

    @Test func lockTimesOutInsteadOfWaitingForever() throws {
        let store = FileStore(directory: temporaryDirectory(), serviceProvider: "REF30")
        try store.withLock(timeoutMs: 1000) { () throws(PassAuthError) in
            // flock is per open file description: a second open in the same process conflicts.
            let started = Clock.monotonicMs()
            #expect(throws: PassAuthError.self) { try store.withLock(timeoutMs: 100) { () throws(PassAuthError) in } }
            #expect(Clock.monotonicMs() - started >= 100)
        }
    }
}
