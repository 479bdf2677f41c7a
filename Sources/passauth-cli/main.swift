import Glibc
import PassAuthCore

/// `passauth`: the Adobe Pass journey from the terminal. See `passauth --help` and docs/tools.md.
func main() -> ExitStatus {
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
        if let topic = parsed.positionals.first, let spec = Commands.named(topic) {
            Terminal.out(Commands.help(for: spec))
        } else {
            Terminal.out(Commands.mainHelp)
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
    do {
        return try Invocation(parsed).run(command)
    } catch {
        error.report(json: parsed.flag("json"))
        return error.exit
    }
}

exit(main().rawValue)
