import CHiredis
import Glibc

// Compiled for size (@_optimize(size) on each function): this code waits on Redis round trips, and
// the library stays under 7 MiB.

/// A Redis reply.
package enum RedisValue: Sendable, Equatable {
    /// A bulk string (bytes: values are UTF-8 JSON, but the protocol carries bytes).
    case string([UInt8])
    /// A simple status ("OK", "QUEUED").
    case status(String)
    case integer(Int64)
    case null
    case array([RedisValue])
    /// An error reply ("WRONGPASS ...", "NOSCRIPT ...", a script's error): a reply, not a failure of
    /// the connection.
    case error(String)

    /// The text of a bulk string or status (nil for anything else, or bytes that are not UTF-8).
    package var text: String? {
        switch self {
        case .string(let bytes): return String(validating: bytes, as: UTF8.self)
        case .status(let text): return text
        default: return nil
        }
    }

    /// An integer reply, or a bulk string holding a decimal integer.
    package var integer: Int64? {
        switch self {
        case .integer(let value): return value
        case .string: return text.flatMap { Int64($0) }
        default: return nil
        }
    }

    package var elements: [RedisValue]? {
        if case .array(let items) = self { return items }
        return nil
    }

    package var errorMessage: String? {
        if case .error(let message) = self { return message }
        return nil
    }

    @_optimize(size) init(_ reply: UnsafePointer<redisReply>) {
        let r = reply.pointee
        switch r.type {
        case REDIS_REPLY_STRING:
            self = .string(r.str.map { Array(UnsafeRawBufferPointer(start: $0, count: r.len)) } ?? [])
        case REDIS_REPLY_STATUS:
            self = .status(r.str.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: r.len), as: UTF8.self) } ?? "")
        case REDIS_REPLY_ERROR:
            self = .error(r.str.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: r.len), as: UTF8.self) } ?? "ERR")
        case REDIS_REPLY_INTEGER:
            self = .integer(r.integer)
        case REDIS_REPLY_ARRAY:
            var items: [RedisValue] = []
            items.reserveCapacity(r.elements)
            for index in 0..<r.elements {
                if let element = r.element[index] { items.append(RedisValue(element)) } else { items.append(.null) }
            }
            self = .array(items)
        default:
            self = .null
        }
    }
}

/// One connection to a Redis server (CHiredis: our socket I/O, hiredis's protocol). Used by one thread
/// at a time (the pool hands it out); any failure leaves it broken, and the pool then drops it.
final class RedisConnection {
    private let raw: OpaquePointer
    /// Scripts this connection's server is known to have (SCRIPT LOAD answered on it).
    var loadedScripts: Set<String> = []
    private(set) var broken = false
    /// Replies still owed by the server for commands sent (appended and flushed, not yet read).
    private var owed = 0

    enum Read {
        case reply(RedisValue)
        case timedOut
        case woken
    }

    @_optimize(size) private init(raw: OpaquePointer) { self.raw = raw }

    deinit { chiredis_close(raw) }

    /// Connects within `timeoutMs` (resolution, TCP, TLS handshake). The error text names the cause.
    @_optimize(size) static func open(_ location: RedisLocation, caFile: String?, timeoutMs: Int) -> Result<RedisConnection, RedisFailure> {
        var error = [CChar](repeating: 0, count: 512)
        let raw = chiredis_connect(location.host, Int32(location.port), location.tls ? 1 : 0, caFile,
                                         Int32(clamping: max(timeoutMs, 1)), &error, error.count)
        guard let raw else { return .failure(RedisFailure(message: text(error), isLoad: chiredis_load(nil, 0) != 0)) }
        return .success(RedisConnection(raw: raw))
    }

    /// Queues one command (nothing is sent until `flush`).
    @_optimize(size) func append(_ arguments: [String]) throws(RedisFailure) {
        var bytes: [UInt8] = []
        var lengths: [Int] = []
        lengths.reserveCapacity(arguments.count)
        for argument in arguments {
            bytes.append(contentsOf: argument.utf8)
            lengths.append(argument.utf8.count)
        }
        bytes.append(0)  // never an empty buffer (a base address is needed even for empty arguments)
        var error = [CChar](repeating: 0, count: 256)
        let status: Int32 = bytes.withUnsafeBufferPointer { buffer in
            let base = UnsafeRawPointer(buffer.baseAddress!)
            var pointers: [UnsafePointer<CChar>?] = []
            pointers.reserveCapacity(arguments.count)
            var offset = 0
            for length in lengths {
                pointers.append((base + offset).assumingMemoryBound(to: CChar.self))
                offset += length
            }
            return pointers.withUnsafeMutableBufferPointer { argv in
                lengths.withUnsafeBufferPointer { argvlen in
                    chiredis_append(raw, Int32(arguments.count), argv.baseAddress, argvlen.baseAddress, &error, error.count)
                }
            }
        }
        guard status == 0 else { throw fail(text(error)) }
        owed += 1
    }

    @_optimize(size) func flush(timeoutMs: Int) throws(RedisFailure) {
        var error = [CChar](repeating: 0, count: 512)
        guard chiredis_flush(raw, Int32(clamping: max(timeoutMs, 1)), &error, error.count) == 0 else {
            throw fail(text(error))
        }
    }

    /// The next reply within `timeoutMs`; a timeout is a failure (the reply is still owed: the
    /// connection cannot be reused).
    @_optimize(size) func read(timeoutMs: Int) throws(RedisFailure) -> RedisValue {
        switch try read(timeoutMs: timeoutMs, wakeFd: -1) {
        case .reply(let value): return value
        case .timedOut, .woken: throw fail(lastTimeout)
        }
    }

    private var lastTimeout = "timed out"

    /// The next reply, or `.timedOut` / `.woken` (the subscriber's waits: nothing is lost, a partial
    /// reply stays buffered).
    @_optimize(size) func read(timeoutMs: Int, wakeFd: Int32) throws(RedisFailure) -> Read {
        var error = [CChar](repeating: 0, count: 512)
        var reply: UnsafeMutablePointer<redisReply>?
        switch chiredis_read(raw, Int32(clamping: max(timeoutMs, 0)), wakeFd, &reply, &error, error.count) {
        case 0:
            defer { chiredis_free_reply(reply) }
            owed = max(0, owed - 1)
            return .reply(RedisValue(reply!))
        case 1:
            lastTimeout = text(error)
            if owed > 0 && wakeFd < 0 { broken = true }
            return .timedOut
        case 2:
            return .woken
        default:
            throw fail(text(error))
        }
    }

    /// Sends the queued commands and reads one reply per command.
    @_optimize(size) func exchange(deadline: Int64) throws(RedisFailure) -> [RedisValue] {
        let count = owed
        try flush(timeoutMs: RedisConnection.remaining(deadline))
        var replies: [RedisValue] = []
        replies.reserveCapacity(count)
        for _ in 0..<count { replies.append(try read(timeoutMs: RedisConnection.remaining(deadline))) }
        return replies
    }

    /// An idle connection the server closed (restart, idle timeout) or that holds unexpected bytes.
    var isStale: Bool { chiredis_is_stale(raw) != 0 }

    @_optimize(size) static func remaining(_ deadline: Int64) -> Int { Int(clamping: max(deadline - Clock.monotonicMs(), 1)) }

    @_optimize(size) private func fail(_ message: String) -> RedisFailure {
        broken = true
        return RedisFailure(message: message, isLoad: false)
    }
}

/// A failure below the protocol: hiredis missing, the connection refused, lost or timed out.
struct RedisFailure: Error {
    var message: String
    /// libhiredis could not be loaded.
    var isLoad: Bool
}

extension RedisScript {
    /// SHA-1 of the source, as EVALSHA names a script.
    @_optimize(size) static func sha1(_ source: String) -> String {
        var out = [CChar](repeating: 0, count: 41)
        let bytes = Array(source.utf8)
        bytes.withUnsafeBufferPointer { chiredis_sha1_hex($0.baseAddress, $0.count, &out) }
        return text(out)
    }
}

/// A pipe the subscriber thread waits on besides its socket, so that a new subscription, a lease to
/// renew or the client's end wakes it at once.
final class WakePipe {
    let readFd: Int32
    private let writeFd: Int32

    @_optimize(size) init?() {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return nil }
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        readFd = fds[0]
        writeFd = fds[1]
    }

    deinit {
        close(readFd)
        close(writeFd)
    }

    @_optimize(size) func wake() {
        var byte: UInt8 = 1
        _ = write(writeFd, &byte, 1)
    }

    @_optimize(size) func drain() {
        var buffer = [UInt8](repeating: 0, count: 64)
        while read(readFd, &buffer, buffer.count) > 0 {}
    }
}

/// The NUL-terminated text in a C buffer.
@_optimize(size) func text(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
