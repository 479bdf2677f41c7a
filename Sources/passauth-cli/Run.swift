import PassAuthCore

/// One invocation: the parsed arguments, the client built from the merged configuration, and the
/// commands. Each command prints its result (a table, or JSON with --json) and returns an exit status.
struct Invocation {
    let arguments: ParsedArguments
    let client: Client
    let json: Bool

    init(_ arguments: ParsedArguments) throws(CLIFailure) {
        self.arguments = arguments
        json = arguments.flag("json")
        let config = try Settings.configuration(arguments)
        do { client = try Client(config: config) } catch { throw CLIFailure(error) }
    }

    var device: Device { client.config.device }

    /// Runs a core call, turning its error into a reported failure.
    func call<T>(_ body: () throws(PassAuthError) -> T) throws(CLIFailure) -> T {
        do { return try body() } catch { throw failure(error) }
    }

    /// A core error as the CLI reports it: scrubbed of secrets, and a connection failure names the
    /// host it tried (and the proxy, when one is used).
    func failure(_ error: PassAuthError, hint: String? = nil) -> CLIFailure {
        var error = client.scrub(error)
        var hint = hint
        if error.status == .transport || (error.status == .timeout && error.endpoint != nil) {
            let baseURL = client.config.baseURL
            // The library names the host, and the proxy when it was configured; a proxy libcurl took
            // from the environment is named here.
            if !error.message.contains(Endpoint.authorityOf(baseURL)) {
                error.message += " (\(Endpoint.describe(baseURL)))"
            } else if let proxy = Settings.proxy(for: baseURL), !error.message.contains("proxy") {
                error.message += " (proxy \(Endpoint.authorityOf(proxy.url)) from \(proxy.source))"
            }
            if hint == nil, error.status == .transport {
                if let proxy = Settings.proxy(for: baseURL) {
                    hint = "check that the proxy \(Endpoint.authorityOf(proxy.url)) (from \(proxy.source)) is reachable, or do without it"
                } else {
                    hint = "check the network and the base URL (\(baseURL))"
                }
            }
        }
        return CLIFailure(error, hint: hint)
    }

    func run(_ command: String) throws(CLIFailure) -> ExitStatus {
        switch command {
        case "register": return try register()
        case "providers": return try providers()
        case "login": return try Login(self).run()
        case "status": return try status()
        case "profiles": return try profiles()
        case "preauthorize": return try decisions(kind: "preauthorize")
        case "authorize": return try decisions(kind: "authorize")
        case "logout": return try logout()
        case "import-state": return try importState()
        default: throw CLIFailure(usage: "unknown command '\(command)'")
        }
    }

    func requireNoArguments() throws(CLIFailure) {
        if let extra = arguments.positionals.first { throw CLIFailure(usage: "unexpected argument '\(extra)'") }
    }

    // MARK: register

    func register() throws(CLIFailure) -> ExitStatus {
        try requireNoArguments()
        let result = try call { () throws(PassAuthError) in try client.register(device: device) }
        if json { Terminal.json(result); return .ok }
        let what = result["registered"]?.boolValue == true ? "Registered" : "Already registered"
        Terminal.out("✓ \(what) with \(client.config.serviceProvider) at \(client.config.baseURL)")
        Terminal.out("  client id:     \(Terminal.cell(result["clientId"]))")
        Terminal.out("  token expires: \(Terminal.when(result["accessTokenExpiresAt"]?.int64Value))")
        return .ok
    }

    // MARK: import-state

    /// Imports a passauth 0.1 state file for the configured base URL and service provider.
    func importState() throws(CLIFailure) -> ExitStatus {
        guard let file = arguments.positionals.first, arguments.positionals.count == 1 else {
            throw CLIFailure(usage: "import-state needs one argument: the passauth 0.1 state file")
        }
        let result = try call { () throws(PassAuthError) in try client.importLegacyState(file: file) }
        if json { Terminal.json(result); return .ok }
        Terminal.out("✓ Imported \(file) for \(client.config.serviceProvider) at \(client.config.baseURL)")
        if let id = result["clientId"]?.stringValue { Terminal.out("  client id: \(id)") }
        Terminal.out("  devices:   \(Terminal.cell(result["devices"]))")
        Terminal.out("  the file is now \(Terminal.cell(result["renamedTo"]))")
        return .ok
    }

    // MARK: providers

    func providers() throws(CLIFailure) -> ExitStatus {
        try requireNoArguments()
        var filter: JSON = [:]
        if let search = arguments.value("search") { filter = filter.setting("search", .string(search)) }
        if arguments.flag("no-temppass") { filter = filter.setting("tempPass", false) }
        if arguments.flag("no-proxy") { filter = filter.setting("proxy", false) }
        let excluded = arguments.all("exclude")
        if !excluded.isEmpty { filter = filter.setting("exclude", .array(excluded.map { .string($0) })) }
        let result = try call { () throws(PassAuthError) in
            try client.mvpds(device: device, filter: MVPDFilter(json: filter))
        }
        if json { Terminal.json(result); return .ok }
        let mvpds = result["mvpds"]?.arrayValue ?? []
        if mvpds.isEmpty { Terminal.out("No TV provider matches."); return .ok }
        Terminal.table(["ID", "NAME", "TEMPPASS", "PROXY"], mvpds.map { mvpd in
            [Terminal.cell(mvpd["id"]), Terminal.cell(mvpd["displayName"]),
             mvpd["isTempPass"]?.boolValue == true ? "yes" : "no", mvpd["isProxy"]?.boolValue == true ? "yes" : "no"]
        })
        return .ok
    }

    // MARK: profiles

    func profiles() throws(CLIFailure) -> ExitStatus {
        try requireNoArguments()
        let result: JSON
        if arguments.flag("stored") {
            result = try call { () throws(PassAuthError) in try client.storedProfiles(device: device) }
        } else if let mvpd = arguments.value("mvpd") {
            result = try call { () throws(PassAuthError) in try client.profile(device: device, mvpd: mvpd).json }
        } else {
            result = try call { () throws(PassAuthError) in try client.profiles(device: device).json }
        }
        if json { Terminal.json(result); return .ok }
        let profiles = result["profiles"]?.objectValue ?? []
        if profiles.isEmpty {
            Terminal.out("No profile: log in with passauth login --mvpd <ID>.")
            return .ok
        }
        for (index, (mvpd, profile)) in profiles.enumerated() {
            if index > 0 { Terminal.out("") }
            Invocation.printProfile(mvpd: mvpd, profile: profile)
        }
        return .ok
    }

    static func printProfile(mvpd: String, profile: JSON) {
        Terminal.out("\(mvpd)")
        Terminal.out("  type:        \(Terminal.cell(profile["type"]))")
        Terminal.out("  issuer:      \(Terminal.cell(profile["issuer"]))")
        let notAfter = profile["notAfter"]?.int64Value
        Terminal.out("  valid until: \(Terminal.time(notAfter))\(notAfter.map { " (\(Terminal.relative($0)))" } ?? "")")
        for (name, value) in profile["attributes"]?.objectValue ?? [] {
            // Attributes arrive as {"value": ..., "state": "plain"|"enc"}; show plain values bare.
            let shown = value["state"]?.stringValue == "plain" ? Terminal.cell(value["value"]) : Terminal.cell(value)
            Terminal.out("  \(name): \(shown)")
        }
    }

    // MARK: decisions

    /// --mvpd, else the valid stored profile with the latest expiry, else the provider chosen at login.
    func resolvedMVPD() throws(CLIFailure) -> String {
        if let mvpd = arguments.value("mvpd") { return mvpd }
        if let stored = try? client.storedProfiles(device: device),
           let picked = try? ProfilePicker.longestValid(stored), let mvpd = picked["mvpd"]?.stringValue {
            return mvpd
        }
        if let selected = try? client.selectedMVPD(device: device), let mvpd = selected["id"]?.stringValue { return mvpd }
        throw CLIFailure(PassAuthError(.notFound, "no TV provider: this device has no stored profile and no chosen provider"),
                         hint: "pass --mvpd <ID>, or log in first: passauth login --mvpd <ID>")
    }

    func decisions(kind: String) throws(CLIFailure) -> ExitStatus {
        guard !arguments.positionals.isEmpty else { throw CLIFailure(usage: "\(kind): name at least one RESOURCE") }
        let mvpd = try resolvedMVPD()
        let resources = JSON.array(arguments.positionals.map { .string($0) })
        var result = try call { () throws(PassAuthError) in
            kind == "authorize" ? try client.authorize(device: device, mvpd: mvpd, resources: resources).json
                : try client.preauthorize(device: device, mvpd: mvpd, resources: resources).json
        }
        let decisions = result["decisions"]?.arrayValue ?? []
        let showToken = arguments.flag("show-token")
        if !showToken {
            // The media token is a secret for the Media Token Verifier: keep it off the screen unless asked.
            result = ["decisions": .array(decisions.map { decision in
                guard let token = decision["token"], token["serializedToken"] != nil else { return decision }
                return decision.setting("token", token.removing("serializedToken"))
            })]
        }
        let denied = decisions.contains { $0["authorized"]?.boolValue != true }
        let status: ExitStatus = kind == "authorize" && denied ? .denied : .ok
        if json { Terminal.json(result); return status }
        Terminal.out(kind == "authorize" ? "Authorization with \(mvpd):" : "Preauthorization with \(mvpd) (content filtering only):")
        for decision in decisions {
            let resource = Terminal.cell(decision["resource"])
            if decision["authorized"]?.boolValue == true {
                var line = "  ✓ \(resource): permitted (source \(Terminal.cell(decision["source"])))"
                if let token = decision["token"], let notAfter = token["notAfter"]?.int64Value {
                    line += ", media token valid until \(Terminal.clock(notAfter, seconds: true)) (\(Terminal.relative(notAfter)))"
                } else if let notAfter = decision["notAfter"]?.int64Value {
                    line += ", until \(Terminal.clock(notAfter, seconds: true))"
                }
                Terminal.out(line)
                if showToken, let token = decision["token"]?["serializedToken"]?.stringValue {
                    Terminal.out("    token: \(token)")
                }
            } else {
                // The MVPD's own words: its message, and the details it sent (what the user can do).
                let error = decision["error"]
                Terminal.out("  ✗ \(resource): denied (\(Terminal.cell(error?["code"])))")
                if let message = error?["message"] { Terminal.out("    \(Terminal.cell(message))") }
                if let details = error?["details"] { Terminal.out("    details: \(Terminal.cell(details))") }
                if let action = error?["action"]?.stringValue, action != "none" { Terminal.out("    action:  \(action)") }
                if let help = error?["helpUrl"]?.stringValue { Terminal.out("    help:    \(help)") }
            }
        }
        return status
    }

    // MARK: logout

    func logout() throws(CLIFailure) -> ExitStatus {
        try requireNoArguments()
        let mvpd = try resolvedMVPD()
        let redirect = arguments.value("redirect-url") ?? "https://www.adobe.com/"
        let result = try call { () throws(PassAuthError) in try client.logout(device: device, mvpd: mvpd, redirectURL: redirect).json }
        if json { Terminal.json(result); return .ok }
        let entries = result["logouts"]?.objectValue ?? []
        for (name, entry) in entries {
            switch (entry["actionName"]?.stringValue, entry["actionType"]?.stringValue) {
            case (_, "interactive"?), (_, "partner_interactive"?):
                Terminal.out("✓ Logged out of \(name) on this device. To finish at the provider, open:")
                var url = Terminal.cell(entry["url"])
                if url.hasPrefix("/") { url = client.config.baseURL + url }
                Terminal.out("  \(url)")
            case ("invalid"?, _):
                Terminal.out("Not logged in with \(name): nothing to do.")
            default:
                Terminal.out("✓ Logged out of \(name).")
            }
        }
        return .ok
    }
}
