import Glibc
import PassAuthCore

/// `passauth`: the Adobe Pass journey from the terminal. See `passauth --help` and docs/tools.md.
func main() -> ExitStatus {
    tzset()  // local times carry the zone of TZ (localtime_r alone need not read it)
    let parsed: ParsedArguments
    do {
        parsed = try ArgumentParser.parse(Array(CommandLine.arguments.dropFirst()))
    } catch {
        Terminal.err("passauth: \(error.message)")
        Terminal.err("Run 'passauth \(error.command.map { "\($0) " } ?? "")--help' for usage.")
        return .usage
    }
    if parsed.flag("version") || parsed.command == "version" {
        Terminal.out(parsed.flag("json") ? (["version": .string(Version.string)] as JSON).serialized() : "passauth \(Version.string)")
        return .ok
    }
    if parsed.command == "help" {
        switch parsed.positionals.first {
        case "options"?: Terminal.out(Commands.optionsHelp)
        case "exit-status"?: Terminal.out(Commands.exitStatusTable)
        case let topic? where Commands.named(topic) != nil: Terminal.out(Commands.help(for: Commands.named(topic)!))
        case let topic?:
            Terminal.err("passauth: no help topic '\(topic)' (commands, options, exit-status)")
            return .usage
        case nil: Terminal.out(Commands.mainHelp)
        }
        return .ok
    }
    guard let command = parsed.command else {
        if parsed.flag("help") { Terminal.out(Commands.mainHelp); return .ok }
        Terminal.err(Commands.mainHelp)
        return .usage
    }
    if parsed.flag("help") {
        Terminal.out(Commands.help(for: Commands.named(command)!))
        return .ok
    }
    if command == "completion" {
        // Needs no configuration: it prints a script and touches nothing.
        guard parsed.positionals.count == 1, let script = Completion.script(for: parsed.positionals[0]) else {
            Terminal.err("passauth: completion needs one shell: bash, zsh or fish")
            return .usage
        }
        Terminal.out(script, terminator: "")
        return .ok
    }
    do {
        return try Invocation(parsed).run(command)
    } catch {
        error.report(json: parsed.flag("json"))
        return error.exit
    }
}

exit(main().rawValue)
