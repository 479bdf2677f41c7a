import Glibc
import PassAuthCore
import Synchronization

/// Set by the SIGINT handler (async-signal-safe: one lock-free atomic store), read by the wait loop.
let interrupted = Atomic<Bool>(false)

/// `passauth login`: the second-screen login, in the manner of `gh auth login` — pick the TV provider
/// (a list on a terminal), the code, the URL and its QR code, then a spinner with the code's countdown
/// while the library polls, then the profile.
struct Login {
    let invocation: Invocation
    init(_ invocation: Invocation) { self.invocation = invocation }

    var client: Client { invocation.client }
    var json: Bool { invocation.json }
    var arguments: ParsedArguments { invocation.arguments }

    static let frames = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"]
    static let redrawMs = 120
    static let plainProgressMs: Int64 = 30_000

    /// A person at a terminal: the provider list can be offered and the spinner drawn.
    var interactive: Bool { isatty(0) == 1 && Terminal.stdoutIsTTY && !json }

    func run() throws(CLIFailure) -> ExitStatus {
        try invocation.requireNoArguments()
        let device = invocation.device
        var timeoutMs: Int?
        if let text = arguments.value("timeout") {
            guard let seconds = Int(text), seconds > 0, seconds <= 86_400 else {
                throw CLIFailure(usage: "--timeout must be a number of seconds between 1 and 86400", key: "timeout")
            }
            timeoutMs = seconds * 1000
        }
        guard let choice = try chooseMVPD() else {
            Terminal.err("cancelled")
            return .cancelled
        }
        let mvpd = choice.id

        let parameters: JSON = ["mvpd": .string(mvpd), "domainName": .string(try domainName()),
                                "redirectUrl": .string(arguments.value("redirect-url") ?? Login.defaultRedirectURL)]
        let session = try invocation.call { () throws(PassAuthError) in
            try client.createSession(device: device, parameters: SessionParameters(json: parameters)).json
        }

        switch session["actionName"]?.stringValue {
        case "authorize"?:
            // Single sign-on, TempPass or degraded access: a profile exists without a login.
            let profiles = try invocation.call { () throws(PassAuthError) in try client.profile(device: device, mvpd: mvpd).json }
            return finish(choice, profiles: profiles, reason: session["reasonType"]?.stringValue)
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
        announce(code: code, url: url, mvpd: mvpd, notAfter: notAfter, timeoutMs: timeoutMs)
        if arguments.flag("open") {
            switch SecondScreen.open(url) {
            case .success(let browser): if !json { Terminal.out("  Opened the URL with \(browser).") }
            case .failure(let failure): Terminal.err("passauth: could not open a browser (\(failure.message)); open the URL yourself")
            }
        }

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
        if !spinning && !json { Terminal.out("Waiting for the login (\(progress(notAfter, deadline)))…") }
        while true {
            if let outcome = poll.wait(timeoutMs: Login.redrawMs) {
                if spinning { Terminal.out("\r\u{1B}[K", terminator: "") }
                guard outcome.status == .ok, let result = outcome.result else {
                    let error = outcome.error ?? PassAuthError(outcome.status, "the login did not complete")
                    if outcome.status == .expired {
                        throw invocation.failure(error, hint: "the code \(code) expired: run passauth login again")
                    }
                    if outcome.status == .timeout, let timeoutMs {
                        // Our own --timeout, not a network one: the user simply has not logged in yet.
                        var stopped = error
                        stopped.message = "login: stopped waiting after --timeout \(timeoutMs / 1000) s; the login did not finish"
                            + (notAfter.map { ", but the code \(code) stays valid until \(Terminal.clock($0)) (this was the wait limit, not the code's expiry)" } ?? "")
                        var failure = invocation.failure(stopped, hint: "log in at the URL and run passauth login again, or wait longer with --timeout")
                        failure.exit = .authentication
                        throw failure
                    }
                    throw invocation.failure(error)
                }
                return finish(choice, profiles: result.json, reason: nil)
            }
            if interrupted.load(ordering: .relaxed) {
                poll.cancel()
                if spinning { Terminal.out("\r\u{1B}[K", terminator: "") }
                if json { Terminal.json(["event": "cancelled", "code": .string(code)]) }
                Terminal.err("cancelled")
                return .cancelled
            }
            while waitpid(-1, nil, WNOHANG) > 0 {}  // a browser started by --open that already exited
            if spinning {
                Terminal.out("\r\u{1B}[K\(Login.frames[frame % Login.frames.count]) Waiting for you to log in… "
                             + "\(progress(notAfter, deadline)) (Ctrl-C to cancel)", terminator: "")
                frame += 1
            } else if !json, Clock.monotonicMs() - lastProgress >= Login.plainProgressMs {
                lastProgress = Clock.monotonicMs()
                Terminal.out("Still waiting (\(progress(notAfter, deadline)))…")
            }
        }
    }

    static let defaultRedirectURL = "https://www.adobe.com/"

    /// --mvpd; else, on a terminal, the provider list (the last login's provider preselected); else a
    /// usage error asking for --mvpd. nil when the user cancelled the list.
    private func chooseMVPD() throws(CLIFailure) -> Picker.Item? {
        if let chosen = arguments.value("mvpd") { return Picker.Item(id: chosen, label: chosen, note: "") }
        let last = (try? client.selectedMVPD(device: invocation.device))?["id"]?.stringValue
        guard interactive else {
            throw CLIFailure(usage: "login: name the TV provider with --mvpd ID (there is no terminal to pick one on)", key: "mvpd",
                             hint: (last.map { "the last login used \($0): passauth login --mvpd \($0); " } ?? "") + "list them: passauth providers")
        }
        let result = try invocation.call { () throws(PassAuthError) in
            try client.mvpds(device: invocation.device, filter: MVPDFilter(json: nil))
        }
        let items = (result["mvpds"]?.arrayValue ?? []).compactMap { mvpd -> Picker.Item? in
            guard let id = mvpd["id"]?.stringValue else { return nil }
            var notes: [String] = []
            if let name = mvpd["displayName"]?.stringValue, name != id { notes.append(id) }
            if mvpd["isTempPass"]?.boolValue == true { notes.append("TempPass") }
            if id == last { notes.append("last used") }
            return Picker.Item(id: id, label: mvpd["displayName"]?.stringValue ?? id, note: notes.joined(separator: ", "))
        }
        guard !items.isEmpty else {
            throw CLIFailure(PassAuthError(.notFound, "the configuration lists no TV provider for \(client.config.serviceProvider)"))
        }
        return Picker(title: "TV provider", items: items, preselected: last).run()
    }

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

    /// "code expires in 29:41", and with --timeout "; stops waiting in 0:04 (--timeout)": the code's
    /// validity and the command's own wait limit, never one passed off as the other.
    private func progress(_ notAfter: Int64?, _ deadline: Int64?) -> String {
        var text = "code expires in " + (notAfter.map { Terminal.countdown($0 - Clock.nowMs()) } ?? "?")
        if let deadline { text += "; stops waiting in \(Terminal.countdown(deadline - Clock.monotonicMs())) (--timeout)" }
        return text
    }

    private func announce(code: String, url: String, mvpd: String, notAfter: Int64?, timeoutMs: Int?) {
        if json {
            var event: JSON = ["event": "code", "code": .string(code), "url": .string(url), "mvpd": .string(mvpd)]
            if let notAfter { event = event.setting("notAfter", .int(notAfter)) }
            if let timeoutMs { event = event.setting("waitTimeoutMs", .int(Int64(timeoutMs))) }
            Terminal.json(event)
            return
        }
        var expiry: [String] = []
        if let notAfter { expiry.append("The code expires \(Terminal.when(notAfter)).") }
        if let timeoutMs {
            expiry.append("This command waits at most \(Terminal.duration(Int64(timeoutMs))) (--timeout); the code stays valid longer.")
        }
        Terminal.out("! Your one-time code: \(code)")
        let colours = Settings.environment("NO_COLOR") == nil
        if Terminal.stdoutIsTTY, !arguments.flag("no-qr"), let qr = SecondScreen.qrLines(url, colours: colours) {
            let size = qr.first.map { $0.filter { "█▀▄ ".contains($0) }.count } ?? 0
            SecondScreen.printBeside(qr, [
                "Scan the QR code with your phone, or open this URL on any device",
                "and sign in with your TV provider (\(mvpd)):",
                url,
                "",
                "Code: \(code)",
            ] + expiry, qrWidth: size)
            return
        }
        Terminal.out("  Open this URL on your phone or computer and sign in with your TV provider (\(mvpd)):")
        Terminal.out("  \(url)")
        for line in expiry { Terminal.out("  \(line)") }
    }

    private func finish(_ choice: Picker.Item, profiles: JSON, reason: String?) -> ExitStatus {
        // Remember the provider so later commands (authorize, logout, the next login) need no --mvpd.
        let mvpd = choice.id
        var selection: JSON = ["id": .string(mvpd)]
        if choice.label != mvpd { selection = selection.setting("displayName", .string(choice.label)) }
        _ = try? client.selectMVPD(device: invocation.device, mvpd: selection)
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
