import Glibc

package enum LogLevel: String, Sendable, CaseIterable, Comparable {
    case none, error, warn, info, debug, trace

    /// The C value (passauth_log_level): error 1 … trace 5; none 0.
    package var rank: Int32 {
        switch self {
        case .none: return 0
        case .error: return 1
        case .warn: return 2
        case .info: return 3
        case .debug: return 4
        case .trace: return 5
        }
    }

    package static func < (lhs: LogLevel, rhs: LogLevel) -> Bool { lhs.rank < rhs.rank }
}

/// Where a client's log lines go: stderr, or the host application's handler (passauth_set_log_callback).
package typealias LogHandler = @Sendable (LogLevel, String) -> Void

/// Writes one line per event. Every message goes through the client's redactor first, so a secret can
/// only reach the log by a bug in the redactor, never by a careless message.
package struct Logger: Sendable {
    let level: LogLevel
    let redactor: Redactor
    private let handler = Locked<LogHandler?>(nil)

    init(level: LogLevel, redactor: Redactor) {
        self.level = level
        self.redactor = redactor
    }

    func wants(_ level: LogLevel) -> Bool { level != .none && level <= self.level }

    package func log(_ level: LogLevel, _ message: @autoclosure () -> String) {
        guard wants(level) else { return }
        let line = redactor.scrub(message())
        if let handler = handler.withLock({ $0 }) {
            handler(level, line)
        } else {
            // write(2) on fd 2: one atomic line, no shared FILE* state.
            let text = "passauth[\(level.rawValue)]: \(line)\n"
            _ = text.withCString { write(2, $0, strlen($0)) }
        }
    }

    /// Replaces the destination (nil: back to stderr) for lines logged from now on.
    func route(to handler: LogHandler?) { self.handler.withLock { $0 = handler } }
}
