import Glibc

public enum LogLevel: String, Sendable, CaseIterable, Comparable {
    case none, error, warn, info, debug, trace

    private var rank: Int { LogLevel.allCases.firstIndex(of: self)! }
    public static func < (lhs: LogLevel, rhs: LogLevel) -> Bool { lhs.rank < rhs.rank }
}

/// Writes one line per event to stderr. Every message goes through the client's redactor first, so a
/// secret can only reach the log by a bug in the redactor, never by a careless message.
public struct Logger: Sendable {
    let level: LogLevel
    let redactor: Redactor

    public func log(_ level: LogLevel, _ message: @autoclosure () -> String) {
        guard level != .none, level <= self.level else { return }
        let line = "passauth[\(level.rawValue)]: \(redactor.scrub(message()))\n"
        // write(2) on fd 2: one atomic line, no shared FILE* state.
        _ = line.withCString { write(2, $0, strlen($0)) }
    }
}
