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

    /// A local date and time for a timestamp in ms ("2026-11-22 21:58:03").
    static func time(_ ms: Int64?) -> String {
        guard let ms else { return "-" }
        var seconds = time_t(ms / 1000)
        var parts = tm()
        localtime_r(&seconds, &parts)
        var buffer = [CChar](repeating: 0, count: 64)
        let count = strftime(&buffer, buffer.count, "%Y-%m-%d %H:%M:%S", &parts)
        return String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self)
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
        case .store: return "check that the --store directory is writable"
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
