/// The commands, their options and their help text. `passauth help`, `--help` and
/// `passauth completion` print from here.

struct CommandSpec {
    let name: String
    let usage: String
    let summary: String
    let details: String
    let options: [OptionSpec]
    /// What the positional arguments complete to in shells ("" = nothing, "shells" = bash zsh fish).
    var arguments = ""
}

enum Commands {
    static let globalOptions: [OptionSpec] = [
        OptionSpec(name: "config", value: "FILE", help: "JSON config file (same keys as passauth_client_new)"),
        OptionSpec(name: "base-url", value: "URL", help: "service base URL (overrides --environment)"),
        OptionSpec(name: "environment", value: "NAME", help: "production, staging, prequal-production, prequal-staging"),
        OptionSpec(name: "service-provider", value: "ID", help: "service provider (requestor) id, e.g. REF30"),
        OptionSpec(name: "software-statement", value: "JWT", help: "software statement from the TVE Dashboard"),
        OptionSpec(name: "store", value: "DIR|URL", help: "directory of the persistent state, or redis://host:port/db (rediss:// for TLS) shared by a fleet"),
        OptionSpec(name: "device-id", value: "ID", help: "stable device id (default: derived from /etc/machine-id)"),
        OptionSpec(name: "ca-file", value: "FILE", help: "PEM bundle of the CAs to trust"),
        OptionSpec(name: "proxy", value: "URL", help: "HTTP(S) proxy for every request (default: https_proxy)"),
        OptionSpec(name: "log-level", value: "LEVEL", help: "none, error (default), warn, info, debug, trace"),
        OptionSpec(name: "json", value: nil, help: "print JSON only (one document; login prints JSON lines)"),
        OptionSpec(name: "help", value: nil, help: "show help"),
        OptionSpec(name: "version", value: nil, help: "print the version"),
    ]

    /// Shown with each command's own options (the rest of the global ones are listed by name only).
    static let commonOptions = ["json", "help"]

    static let mvpdOption = OptionSpec(name: "mvpd", value: "ID",
                                       help: "TV provider (default: the valid stored profile, else the last login's)")

    static let all: [CommandSpec] = [
        CommandSpec(
            name: "register", usage: "passauth register",
            summary: "register the application (DCR) and fetch an access token",
            details: "Uses the stored client credentials and token when they are still usable; prints the client id\nand the token's expiry, never a secret.",
            options: []),
        CommandSpec(
            name: "import-state", usage: "passauth import-state FILE",
            summary: "import a passauth 0.1 state file (<store>/<service provider>.json)",
            details: "0.1 files do not record the service they were written for, so they are never used as they are.\nRun this with the base URL and service provider the file was written for: its client credentials,\ntoken, profiles and MVPD choices move into the store, and the file is renamed FILE.imported.\nRefused when the store already holds a registration for them.",
            options: []),
        CommandSpec(
            name: "providers", usage: "passauth providers [--search TEXT] [--no-temppass] [--no-proxy] [--exclude ID]...",
            summary: "list the TV providers (MVPDs) of the service provider",
            details: "Prints the MVPDs of the configuration as a table, filtered like passauth_mvpds.",
            options: [
                OptionSpec(name: "search", value: "TEXT", help: "case-insensitive substring of the id or the name"),
                OptionSpec(name: "no-temppass", value: nil, help: "leave out TempPass providers"),
                OptionSpec(name: "no-proxy", value: nil, help: "leave out proxied providers"),
                OptionSpec(name: "exclude", value: "ID", help: "leave out this provider (repeatable)", repeatable: true),
            ]),
        CommandSpec(
            name: "login", usage: "passauth login [--mvpd ID] [--open] [--timeout SECONDS] [--domain NAME] [--redirect-url URL]",
            summary: "log in with a TV provider on a second screen",
            details: """
            Prints a code, the URL to open on another device and its QR code, then waits until the login
            finishes, the code expires, or Ctrl-C (exit status 130). Without --mvpd a terminal offers the
            TV providers to pick from. With --json it prints JSON lines ({"event":"code",...}, then
            {"event":"authenticated",...}).
            """,
            options: [
                OptionSpec(name: "mvpd", value: "ID", help: "TV provider (default: pick one from a list)"),
                OptionSpec(name: "open", value: nil, help: "open the URL in a browser ($BROWSER, else xdg-open)"),
                OptionSpec(name: "timeout", value: "SECONDS", help: "stop waiting after this long (the code stays valid)"),
                OptionSpec(name: "no-qr", value: nil, help: "do not draw the URL's QR code"),
                OptionSpec(name: "domain", value: "NAME", help: "domainName of the session (default: the configuration's first)"),
                OptionSpec(name: "redirect-url", value: "URL", help: "redirectUrl of the session (default https://www.adobe.com/)"),
            ]),
        CommandSpec(
            name: "status", usage: "passauth status",
            summary: "show the environment, registration, TV provider and stored profiles",
            details: "Reads the configuration and the store only (no request). Never prints a secret.",
            options: []),
        CommandSpec(
            name: "profiles", usage: "passauth profiles [--mvpd ID] [--stored]",
            summary: "show the device's authenticated profiles",
            details: "Asks the service for the device's valid profiles (all, or one provider's); --stored reads the\nprofile parts kept in the store instead, without a request.",
            options: [
                OptionSpec(name: "mvpd", value: "ID", help: "only this provider's profile"),
                OptionSpec(name: "stored", value: nil, help: "read the store, make no request"),
            ]),
        CommandSpec(
            name: "preauthorize", usage: "passauth preauthorize [--mvpd ID] RESOURCE...",
            summary: "which resources the user may watch (content filtering only)",
            details: "Preauthorization decisions are for filtering a catalogue, never for playback: use authorize.",
            options: [mvpdOption]),
        CommandSpec(
            name: "authorize", usage: "passauth authorize [--mvpd ID] [--show-token] RESOURCE...",
            summary: "authorization decisions for playback, with the media token's validity",
            details: "Prints each decision: the media token's validity, or the provider's message for a deny. The\ntoken itself is printed only with --show-token. Exit status 8 when any resource is denied.",
            options: [
                mvpdOption,
                OptionSpec(name: "show-token", value: nil, help: "also print the serialized media token"),
            ]),
        CommandSpec(
            name: "logout", usage: "passauth logout [--mvpd ID] [--redirect-url URL]",
            summary: "end the login with a TV provider",
            details: "Forgets the stored profile and says whether a logout page must still be opened (its URL).",
            options: [
                mvpdOption,
                OptionSpec(name: "redirect-url", value: "URL", help: "where the provider's logout page returns (default https://www.adobe.com/)"),
            ]),
        CommandSpec(
            name: "completion", usage: "passauth completion bash|zsh|fish",
            summary: "print a shell completion script",
            details: """
            bash:  source <(passauth completion bash)      (or save it in ~/.local/share/bash-completion/completions/passauth)
            zsh:   passauth completion zsh > "${fpath[1]}/_passauth"
            fish:  passauth completion fish > ~/.config/fish/completions/passauth.fish
            """,
            options: [], arguments: "shells"),
        CommandSpec(
            name: "version", usage: "passauth version", summary: "print the version", details: "", options: []),
    ]

    static func named(_ name: String) -> CommandSpec? { all.first { $0.name == name } }

    /// `passauth help <topic>` besides the commands.
    static let topics = ["options", "exit-status"]

    static let exitStatusTable = """
    Exit status:
      0    success
      2    usage error or invalid argument/configuration
      3    registration refused (software statement, client) or 401 after a token refresh
      4    authentication needed: no profile, profile or code expired, login not finished
      5    service error (enhanced error code, HTTP error, malformed response)
      6    transport failure, timeout or throttling (try again later)
      7    the persistent store could not be read or written
      8    authorize: at least one resource was denied
      10   internal error
      130  cancelled (Ctrl-C, Esc in the provider list)
    """

    static let configurationText = """
    Configuration (flags > environment > config file, key by key):
      --config FILE / PASSAUTH_CONFIG        JSON object with the keys of passauth_client_new
                                             (default ~/.config/passauth/config.json when it exists)
      --base-url / PASSAUTH_BASE_URL         baseUrl      --environment / PASSAUTH_ENVIRONMENT  environment
      --service-provider / PASSAUTH_SERVICE_PROVIDER    serviceProvider
      --software-statement / PASSAUTH_SOFTWARE_STATEMENT  softwareStatement
      --store / PASSAUTH_STORE               store        --device-id / PASSAUTH_DEVICE_ID      device.id
      --ca-file / PASSAUTH_CA_FILE           caFile       --log-level / PASSAUTH_LOG_LEVEL      logLevel
      --proxy / PASSAUTH_PROXY               proxy

    Proxies: without --proxy, https_proxy (http_proxy for an http base URL), all_proxy and no_proxy
    are honoured as libcurl does (upper-case HTTPS_PROXY, ALL_PROXY and NO_PROXY too).
    """

    static func optionLines(_ options: [OptionSpec]) -> String {
        options.map { option in
            var left = option.name == "help" ? "  -h, --help" : "  --\(option.name)"
            if let value = option.value { left += " \(value)" }
            let pad = max(1, 28 - left.count)
            return left + String(repeating: " ", count: pad) + option.help
        }.joined(separator: "\n")
    }

    /// Option names as one wrapped paragraph: "--config, --base-url, …".
    static func nameList(_ options: [OptionSpec], indent: String, width: Int = 100) -> String {
        var lines: [String] = [], line = indent
        for (index, option) in options.enumerated() {
            let word = "--\(option.name)" + (index == options.count - 1 ? "" : ",")
            if line.count + word.count + 1 > width && line != indent {
                lines.append(line)
                line = indent
            }
            line += (line == indent ? "" : " ") + word
        }
        return (lines + [line]).joined(separator: "\n")
    }

    static var mainHelp: String {
        let commandLines = all.map { "  " + $0.name + String(repeating: " ", count: max(1, 15 - $0.name.count)) + $0.summary }
        return """
        passauth — Adobe Pass Authentication (REST API V2) from the terminal

        Usage: passauth [options] <command> [command options] [arguments]

        Commands:
        \(commandLines.joined(separator: "\n"))

        Options (every command):
        \(optionLines(globalOptions))

        More help:
          passauth <command> --help     a command's own options
          passauth help options         flags, environment variables, config file keys, proxies
          passauth help exit-status     what each exit status means
        """
    }

    static var optionsHelp: String {
        "Options (every command):\n\(optionLines(globalOptions))\n\n\(configurationText)"
    }

    /// A command's help: its usage and options first, the global options by name after. Short.
    static func help(for command: CommandSpec) -> String {
        var text = "Usage: \(command.usage)\n\n\(command.summary.prefix(1).uppercased() + command.summary.dropFirst()).\n"
        if !command.details.isEmpty { text += "\n\(command.details)\n" }
        let common = globalOptions.filter { commonOptions.contains($0.name) }
        text += "\nOptions:\n\(optionLines(command.options + common))\n"
        let others = globalOptions.filter { !commonOptions.contains($0.name) }
        text += "\nGlobal options (passauth help options):\n\(nameList(others, indent: "  "))\n"
        text += "Exit status: 0 success, 2 usage, 4 log in needed, 6 network, 130 cancelled… (passauth help exit-status)"
        return text
    }
}
