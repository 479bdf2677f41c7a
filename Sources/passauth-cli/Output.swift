import Glibc
import PassAuthCore

/// Writing to the terminal: unbuffered lines (a script reading through a pipe sees each line as soon
/// as it is printed), tables, times, and the error report with its exit status.
enum Terminal {
    static let stdoutIsTTY = isatty(1) == 1
    static let stderrIsTTY = isatty(2) == 1

    static func out(_ text: String, terminator: String = "\n") { write(1, text + terminator) }

    static func err(_ text: String, terminator: String = "\n") { write(2, text + terminator) }

    /// Straight to the file descriptor: nothing is held in a buffer, whatever the output is.
    private static func write(_ fd: Int32, _ text: String) {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { return }
            bytes = bytes.dropFirst(written)
        }
    }

    static func json(_ document: JSON) { out(document.serialized()) }

    /// Left-aligned columns, a header row, two spaces between columns.
    static func table(_ header: [String], _ rows: [[String]]) {
        let widths = header.indices.map { column in
            ([header] + rows).map { $0[column].count }.max() ?? 0
        }
        for row in [header] + rows {
            let cells = row.enumerated().map { column, cell in
                column == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[column] - cell.count)
            }
            out(cells.joined(separator: "  "))
        }
    }

    /// A timestamp in ms as ISO 8601 with the local offset: "2026-11-22T21:58:03+01:00".
    static func time(_ ms: Int64?) -> String {
        guard let ms else { return "-" }
        let offset = format(ms, "%z")  // "+0100"
        let colon = offset.count == 5 ? String(offset.prefix(3)) + ":" + String(offset.suffix(2)) : offset
        return format(ms, "%Y-%m-%dT%H:%M:%S") + colon
    }

    /// "in 4 min (14:03 CET)", "2 h ago (12:01 CET)", "in 3 days (2026-11-25 14:03 CET)": how far a
    /// timestamp is from `now`, and when that is on the local clock, with its zone.
    static func when(_ ms: Int64?, now: Int64 = Clock.nowMs()) -> String {
        guard let ms else { return "-" }
        return relative(ms, now: now) + " (\(clock(ms, now: now)))"
    }

    /// "in 4 min", "2 h ago".
    static func relative(_ ms: Int64, now: Int64 = Clock.nowMs()) -> String {
        let distance = duration(abs(ms - now))
        return ms >= now ? "in \(distance)" : "\(distance) ago"
    }

    /// "14:03 CET" on the same local day as `now`, else "2026-11-25 14:03 CET".
    static func clock(_ ms: Int64, now: Int64 = Clock.nowMs(), seconds: Bool = false) -> String {
        let day = format(ms, "%Y-%m-%d")
        let time = format(ms, seconds ? "%H:%M:%S" : "%H:%M") + " " + zone(ms)
        return day == format(now, "%Y-%m-%d") ? time : day + " " + time
    }

    /// The local zone's abbreviation at `ms` ("CET"), or its offset when it has none ("UTC+03:00").
    static func zone(_ ms: Int64) -> String {
        let name = format(ms, "%Z")
        if !name.isEmpty, name.allSatisfy({ $0.isLetter }) { return name }
        let offset = format(ms, "%z")
        return offset.count == 5 ? "UTC" + offset.prefix(3) + ":" + offset.suffix(2) : "UTC" + offset
    }

    /// "45 s", "4 min", "1 h 20 min", "2 days 3 h".
    static func duration(_ ms: Int64) -> String {
        let seconds = (ms + 500) / 1000
        if seconds < 60 { return "\(seconds) s" }
        let minutes = (seconds + 30) / 60
        if minutes < 60 { return "\(minutes) min" }
        if minutes < 48 * 60 { return minutes % 60 == 0 ? "\(minutes / 60) h" : "\(minutes / 60) h \(minutes % 60) min" }
        let hours = (minutes + 30) / 60
        return hours % 24 == 0 ? "\(hours / 24) days" : "\(hours / 24) days \(hours % 24) h"
    }

    private static func format(_ ms: Int64, _ pattern: String) -> String {
        var seconds = time_t(ms / 1000)
        var parts = tm()
        localtime_r(&seconds, &parts)
        var buffer = [CChar](repeating: 0, count: 64)
        let count = strftime(&buffer, buffer.count, pattern, &parts)
        return String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The terminal's width in columns (80 when unknown).
    static var columns: Int {
        var size = winsize()
        if ioctl(1, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return Int(size.ws_col) }
        return Settings.environment("COLUMNS").flatMap { Int($0) } ?? 80
    }

    /// "29:58" or "1:02:03".
    static func countdown(_ ms: Int64) -> String {
        let total = max(0, (ms + 999) / 1000)
        let hours = total / 3600, minutes = (total % 3600) / 60, seconds = total % 60
        func two(_ n: Int64) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return hours > 0 ? "\(hours):\(two(minutes)):\(two(seconds))" : "\(minutes):\(two(seconds))"
    }

    /// A JSON value as a table cell: strings bare, everything else compact JSON.
    static func cell(_ value: JSON?) -> String {
        guard let value else { return "-" }
        if let text = value.stringValue { return text }
        if let flag = value.boolValue { return flag ? "yes" : "no" }
        return value.serialized()
    }
}

/// Exit statuses, one per class of failure (documented in --help and docs/tools.md).
enum ExitStatus: Int32 {
    case ok = 0
    case usage = 2
    case registration = 3
    case authentication = 4
    case service = 5
    case transport = 6
    case store = 7
    case denied = 8
    case `internal` = 10
    case cancelled = 130

    static func `for`(_ error: PassAuthError) -> ExitStatus {
        if error.action == "authentication" { return .authentication }
        if error.action == "application-registration" { return .registration }
        switch error.status {
        case .ok, .pending: return .ok
        case .invalidArgument: return .usage
        case .registration, .unauthorized: return .registration
        case .expired, .notFound: return .authentication
        case .service, .http, .protocol: return .service
        case .transport, .timeout, .throttled: return .transport
        case .store: return .store
        case .cancelled: return .cancelled
        case .internal: return .internal
        }
    }
}

/// A failure the CLI reports and exits with.
struct CLIFailure: Error {
    let error: PassAuthError
    var exit: ExitStatus
    var hint: String?

    init(_ error: PassAuthError, hint: String? = nil) {
        self.error = error
        exit = ExitStatus.for(error)
        self.hint = hint
    }

    init(usage message: String, key: String? = nil, hint: String? = nil) {
        self.init(PassAuthError(.invalidArgument, message, key: key), hint: hint)
    }

    /// What the user should do next, from the enhanced error `action` or the status.
    var suggestion: String {
        if let hint { return hint }
        switch error.action {
        case "retry": return "try again in a moment"
        case "authentication": return "log in again: passauth login --mvpd <ID>"
        case "authorization": return "the subscription does not include this content; check the TV provider package"
        case "degradation": return "the TV provider is degraded; try again later"
        case "application-registration": return "register again: passauth register (check the software statement)"
        case "configuration": return "check the service provider, software statement and MVPD setup in the TVE Dashboard"
        case "none": return "nothing can be done automatically; see the message and helpUrl"
        default: break
        }
        switch error.status {
        case .invalidArgument: return "check the arguments and configuration (passauth --help)"
        case .registration: return "check --software-statement and --service-provider (or the TVE Dashboard registration)"
        case .unauthorized: return "register again: passauth register"
        case .expired: return "run passauth login again"
        case .notFound: return "log in first: passauth login --mvpd <ID>"
        case .transport: return "check the network and --base-url"
        case .timeout: return "the service did not answer in time; try again"
        case .throttled: return "too many requests; wait \(error.retryAfterMs.map { "\(($0 + 999) / 1000) s" } ?? "a moment") and try again"
        case .store:
            return error.message.contains("Redis ") ? "check that the Redis server of --store is reachable"
                : "check that the --store directory is writable"
        case .http, .protocol, .service: return "try again later; report the trace id if it persists"
        case .internal: return "this is a bug in passauth; please report it"
        case .cancelled, .ok, .pending: return ""
        }
    }

    /// The report: the enhanced error's message, code and suggested action on stderr, or one JSON
    /// document ({"error": {...}}) on stdout with --json.
    func report(json: Bool) {
        if json {
            Terminal.json(["error": error.asJSON.setting("suggestion", .string(suggestion))])
            return
        }
        Terminal.err("passauth: error: \(error.message)")
        var status = error.status.name
        if let http = error.httpStatus { status += " (HTTP \(http))" }
        Terminal.err("  status:  \(status)")
        if let code = error.code { Terminal.err("  code:    \(code)") }
        if let action = error.action { Terminal.err("  action:  \(action)") }
        if let details = error.details { Terminal.err("  details: \(details)") }
        if let key = error.key { Terminal.err("  key:     \(key)") }
        if let trace = error.trace { Terminal.err("  trace:   \(trace)") }
        if let helpUrl = error.helpUrl { Terminal.err("  help:    \(helpUrl)") }
        let suggestion = self.suggestion
        if !suggestion.isEmpty { Terminal.err("  try:     \(suggestion)") }
    }
}
