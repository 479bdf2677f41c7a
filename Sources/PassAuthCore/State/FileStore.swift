import Glibc

/// The default store: one JSON file per service provider in the store directory, mode 0600, replaced
/// atomically (temporary file, fsync, rename, fsync of the directory) and guarded by an flock(2) on a
/// sibling lock file so several processes sharing the directory register only once.
package final class FileStore: StateStore {
    package let path: String
    private let lockPath: String
    private let directory: String

    package init(directory: String, serviceProvider: String) {
        self.directory = directory
        let name = FileStore.fileName(for: serviceProvider)
        path = directory + "/" + name + ".json"
        lockPath = directory + "/" + name + ".lock"
    }

    /// Service provider ids become file names: anything outside [A-Za-z0-9._-] is %-escaped, so no id
    /// can climb out of the store directory or collide with another.
    static func fileName(for serviceProvider: String) -> String {
        var name = ""
        for byte in serviceProvider.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"):
                name.unicodeScalars.append(UnicodeScalar(byte))
            case UInt8(ascii: ".") where !name.isEmpty:
                name.append(".")
            default:
                name += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return name
    }

    package func load() throws(PassAuthError) -> StoredState {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return .empty }
            throw storeError("cannot open")
        }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 { if errno == EINTR { continue }; throw storeError("cannot read") }
            if count == 0 { break }
            bytes += chunk[0..<count]
            if bytes.count > 64 << 20 { throw PassAuthError(.store, "store file \(path) is larger than 64 MiB; it was left untouched") }
        }
        do throws(JSONError) {
            let document = try JSON.parse(bytes)
            guard case .object = document, document["format"]?.int64Value == 1 else {
                throw JSONError(message: "not a passauth store (format 1)", line: 1, column: 0)
            }
            return StoredState(document: document)
        } catch {
            throw PassAuthError(.store, "store file \(path) is corrupt (\(error.message), line \(error.line)); it was left untouched: move it away to start over")
        }
    }

    package func save(_ state: StoredState) throws(PassAuthError) {
        try makeDirectory()
        removeStaleTemporaries()
        let temporary = "\(path).tmp.\(getpid()).\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw storeError("cannot create a temporary file next to") }
        var committed = false
        defer {
            if !committed { unlink(temporary) }
        }
        let bytes = Array(state.document.serialized().utf8) + [0x0A]
        var written = 0
        while written < bytes.count {
            let count = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + written, bytes.count - written) }
            if count < 0 { if errno == EINTR { continue }; close(fd); throw storeError("cannot write") }
            written += count
        }
        guard fsync(fd) == 0 else { close(fd); throw storeError("cannot flush") }
        close(fd)
        guard rename(temporary, path) == 0 else { throw storeError("cannot replace") }
        committed = true
        // The rename is durable only once the directory entry is.
        let dirfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirfd >= 0 { fsync(dirfd); close(dirfd) }
    }

    /// A writer killed between creating its temporary file and renaming it leaves the file behind.
    /// Temporaries of processes that no longer exist are removed before each save, so they never pile up
    /// (a live writer's, including this process's, are left alone).
    private func removeStaleTemporaries() {
        let prefix = String(path.split(separator: "/").last ?? "") + ".tmp."
        guard let dir = opendir(directory) else { return }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            // strlen-bounded: the bytes of d_name after its NUL are not initialised.
            let name = withUnsafePointer(to: &entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: MemoryLayout.size(ofValue: entry.pointee.d_name)) { String(cString: $0) }
            }
            guard name.hasPrefix(prefix) else { continue }
            let rest = name.dropFirst(prefix.count)
            guard let pid = rest.split(separator: ".").first.flatMap({ pid_t($0) }), pid > 0, pid != getpid() else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH { unlink(directory + "/" + name) }
        }
    }

    package func withLock<T>(timeoutMs: Int, _ body: () throws(PassAuthError) -> T) throws(PassAuthError) -> T {
        try makeDirectory()
        let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw storeError("cannot open the lock file of") }
        defer { close(fd) }  // closing releases the flock
        let deadline = Clock.monotonicMs() + Int64(timeoutMs)
        var pause: Int64 = 1
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR else { throw storeError("cannot lock") }
            guard Clock.monotonicMs() < deadline else {
                throw PassAuthError(.store, "timed out after \(timeoutMs) ms waiting for the lock on store \(path)")
            }
            Clock.sleep(ms: pause)
            pause = min(pause * 2, 50)
        }
        return try body()
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

    private func storeError(_ what: String) -> PassAuthError {
        PassAuthError(.store, "\(what) store file \(path): \(String(cString: strerror(errno)))")
    }
}
