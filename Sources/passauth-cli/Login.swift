import Glibc
import PassAuthCore
import Synchronization

/// Set by the SIGINT handler (async-signal-safe: one lock-free atomic store), read by the wait loop.
let interrupted = Atomic<Bool>(false)

/// `passauth login`: the second-screen login, in the manner of `gh auth login` — the code and the URL
/// first, then a spinner with the code's countdown while the library polls, then the profile.
struct Login {
    let invocation: Invocation
    init(_ invocation: Invocation) { self.invocation = invocation }

    var client: Client { invocation.client }
    var json: Bool { invocation.json }
    var arguments: ParsedArguments { invocation.arguments }

    static let frames = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"]
    static let redrawMs = 120
    static let plainProgressMs: Int64 = 30_000

    func run() throws(CLIFailure) -> ExitStatus {
        try invocation.requireNoArguments()
        let device = invocation.device
        let mvpd: String
        if let chosen = arguments.value("mvpd") {
            mvpd = chosen
        } else if let selected = try? client.selectedMVPD(device: device), let id = selected["id"]?.stringValue {
            mvpd = id
        } else {
            throw CLIFailure(usage: "login: choose a TV provider with --mvpd ID", key: "mvpd",
                             hint: "list the providers with: passauth providers")
        }
        var timeoutMs: Int?
        if let text = arguments.value("timeout") {
            guard let seconds = Int(text), seconds > 0, seconds <= 86_400 else {
                throw CLIFailure(usage: "--timeout must be a number of seconds between 1 and 86400", key: "timeout")
            }
            timeoutMs = seconds * 1000
        }

        let parameters: JSON = ["mvpd": .string(mvpd), "domainName": .string(try domainName()),
                                "redirectUrl": .string(arguments.value("redirect-url") ?? Login.defaultRedirectURL)]
        let session = try invocation.call { () throws(PassAuthError) in
            try client.createSession(device: device, parameters: SessionParameters(json: parameters)).json
        }

        switch session["actionName"]?.stringValue {
        case "authorize"?:
            // Single sign-on, TempPass or degraded access: a profile exists without a login.
            let profiles = try invocation.call { () throws(PassAuthError) in try client.profile(device: device, mvpd: mvpd).json }
            return finish(mvpd: mvpd, profiles: profiles, reason: session["reasonType"]?.stringValue)
        case "authenticate"?:
            break
        default:
            let missing = session["missingParameters"]?.arrayValue?.compactMap(\.stringValue).joined(separator: ", ") ?? "?"
            throw CLIFailure(usage: "login: the service needs more parameters (\(missing))",
                             hint: "pass them with --domain / --redirect-url")
        }

        guard let code = session["code"]?.stringValue else {
            throw CLIFailure(PassAuthError(.protocol, "the session answer has no code"))
        }
        let url = try invocation.call { () throws(PassAuthError) -> String in
            if let url = session["url"]?.stringValue { return url }
            return try client.authenticateURL(code: code)
        }
        let notAfter = session["notAfter"]?.int64Value
        announce(code: code, url: url, mvpd: mvpd, notAfter: notAfter)

        var options: JSON = [:]
        if let notAfter { options = options.setting("notAfter", .int(notAfter)) }
        if let timeoutMs { options = options.setting("timeoutMs", .int(Int64(timeoutMs))) }
        let poll = try invocation.call { () throws(PassAuthError) in
            try client.poll(device: device, code: code, options: PollOptions(json: options), callback: nil)
        }
        defer { poll.release() }

        interrupted.store(false, ordering: .relaxed)
        signal(SIGINT) { _ in interrupted.store(true, ordering: .relaxed) }
        defer { signal(SIGINT, SIG_DFL) }

        let started = Clock.monotonicMs()
        let deadline = timeoutMs.map { started + Int64($0) }
        var frame = 0
        var lastProgress = started
        let spinning = Terminal.stdoutIsTTY && !json
        if !spinning && !json { Terminal.out("Waiting for the login (code expires in \(remaining(notAfter, deadline)))…") }
        while true {
            if let outcome = poll.wait(timeoutMs: Login.redrawMs) {
                if spinning { Terminal.out("\r\u{1B}[K", terminator: "") }
                guard outcome.status == .ok, let result = outcome.result else {
                    let error = outcome.error ?? PassAuthError(outcome.status, "the login did not complete")
                    if outcome.status == .expired {
                        throw CLIFailure(client.scrub(error), hint: "the code \(code) expired: run passauth login again")
                    }
                    if outcome.status == .timeout && timeoutMs != nil {
                        // Our own --timeout, not a network one: the user simply has not logged in yet.
                        var failure = CLIFailure(client.scrub(error), hint: "the login did not finish within --timeout; run passauth login again")
                        failure.exit = .authentication
                        throw failure
                    }
                    throw CLIFailure(client.scrub(error))
                }
                return finish(mvpd: mvpd, profiles: result, reason: nil)
            }
            if interrupted.load(ordering: .relaxed) {
                poll.cancel()
                if spinning { Terminal.out("\r\u{1B}[K", terminator: "") }
                if json { Terminal.json(["event": "cancelled", "code": .string(code)]) }
                Terminal.err("cancelled")
                return .cancelled
            }
            if spinning {
                Terminal.out("\r\u{1B}[K\(Login.frames[frame % Login.frames.count]) Waiting for you to log in… "
                             + "code expires in \(remaining(notAfter, deadline)) (Ctrl-C to cancel)", terminator: "")
                frame += 1
            } else if !json, Clock.monotonicMs() - lastProgress >= Login.plainProgressMs {
                lastProgress = Clock.monotonicMs()
                Terminal.out("Still waiting (code expires in \(remaining(notAfter, deadline)))…")
            }
        }
    }

    static let defaultRedirectURL = "https://www.adobe.com/"

    /// --domain, else the service provider's first registered domain (from the configuration).
    private func domainName() throws(CLIFailure) -> String {
        if let domain = arguments.value("domain") { return domain }
        let configuration = try invocation.call { () throws(PassAuthError) in try client.configuration(device: invocation.device).json }
        if let first = configuration["requestor"]?["domains"]?.arrayValue?.first,
           let name = first["name"]?.stringValue ?? first.stringValue {
            return name
        }
        throw CLIFailure(usage: "login: the configuration lists no domain; pass --domain NAME", key: "domain")
    }

    /// Time left before the code expires (or before --timeout, if sooner).
    private func remaining(_ notAfter: Int64?, _ deadline: Int64?) -> String {
        var left: Int64? = notAfter.map { $0 - Clock.nowMs() }
        if let deadline {
            let own = deadline - Clock.monotonicMs()
            left = min(left ?? own, own)
        }
        return left.map(Terminal.countdown) ?? "?"
    }

    private func announce(code: String, url: String, mvpd: String, notAfter: Int64?) {
        if json {
            var event: JSON = ["event": "code", "code": .string(code), "url": .string(url), "mvpd": .string(mvpd)]
            if let notAfter { event = event.setting("notAfter", .int(notAfter)) }
            Terminal.json(event)
            return
        }
        Terminal.out("! Your one-time code: \(code)")
        Terminal.out("  Open this URL on your phone or computer and sign in with your TV provider (\(mvpd)):")
        Terminal.out("  \(url)")
        if let notAfter { Terminal.out("  The code expires at \(Terminal.time(notAfter)).") }
    }

    private func finish(mvpd: String, profiles: JSON, reason: String?) -> ExitStatus {
        // Remember the provider so later commands (authorize, logout, the next login) need no --mvpd.
        _ = try? client.selectMVPD(device: invocation.device, mvpd: ["id": .string(mvpd)])
        let members = profiles["profiles"]?.objectValue ?? []
        let entry = members.first(where: { $0.0 == mvpd }) ?? members.first
        if json {
            var event: JSON = ["event": "authenticated", "mvpd": .string(entry?.0 ?? mvpd), "profiles": profiles]
            if let reason { event = event.setting("reasonType", .string(reason)) }
            Terminal.json(event)
            return .ok
        }
        Terminal.out("✓ Logged in with \(entry?.0 ?? mvpd)\(reason.map { " (\($0))" } ?? "")")
        if let entry { Invocation.printProfile(mvpd: entry.0, profile: entry.1) }
        return .ok
    }
}
