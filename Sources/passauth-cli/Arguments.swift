/// A small, strict command-line parser: `passauth [global options] <command> [options] [arguments]`.
/// Options may come before or after the command, as `--name value` or `--name=value`; `--` ends
/// options. Unknown options and missing values are usage errors (exit status 2).

struct OptionSpec {
    let name: String
    /// nil for a flag; otherwise the placeholder shown in help (`ID`, `FILE`…).
    let value: String?
    let help: String
    var repeatable = false
}

struct ParsedArguments {
    var command: String?
    var positionals: [String] = []
    private(set) var values: [String: [String]] = [:]
    private(set) var flags: Set<String> = []

    func value(_ name: String) -> String? { values[name]?.last }
    func all(_ name: String) -> [String] { values[name] ?? [] }
    func flag(_ name: String) -> Bool { flags.contains(name) }
    func has(_ name: String) -> Bool { flags.contains(name) || values[name] != nil }

    mutating func set(_ name: String, _ value: String) { values[name, default: []].append(value) }
    mutating func raise(_ name: String) { flags.insert(name) }
}

struct UsageError: Error {
    let message: String
    let command: String?
}

enum ArgumentParser {
    /// Parses `arguments` (without argv[0]). The command is the first positional argument; the
    /// options allowed are the global ones plus those of that command.
    static func parse(_ arguments: [String]) throws(UsageError) -> ParsedArguments {
        var parsed = ParsedArguments()
        var index = 0
        var onlyPositionals = false
        func options() -> [OptionSpec] {
            Commands.globalOptions + (parsed.command.flatMap { Commands.named($0)?.options } ?? [])
        }
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            if onlyPositionals || argument == "-" || !argument.hasPrefix("-") {
                if parsed.command == nil {
                    guard Commands.named(argument) != nil || argument == "help" else {
                        throw UsageError(message: "unknown command '\(argument)'", command: nil)
                    }
                    parsed.command = argument
                } else {
                    parsed.positionals.append(argument)
                }
                continue
            }
            if argument == "--" { onlyPositionals = true; continue }
            if argument == "-h" { parsed.raise("help"); continue }
            guard argument.hasPrefix("--") else {
                throw UsageError(message: "unknown option '\(argument)'", command: parsed.command)
            }
            var name = String(argument.dropFirst(2))
            var inline: String?
            if let equals = name.firstIndex(of: "=") {
                inline = String(name[name.index(after: equals)...])
                name = String(name[..<equals])
            }
            guard let spec = options().first(where: { $0.name == name }) else {
                throw UsageError(message: "unknown option '--\(name)'", command: parsed.command)
            }
            if spec.value == nil {
                guard inline == nil else { throw UsageError(message: "option '--\(name)' takes no value", command: parsed.command) }
                parsed.raise(name)
                continue
            }
            let value: String
            if let inline {
                value = inline
            } else {
                guard index < arguments.count else {
                    throw UsageError(message: "option '--\(name)' needs a value (\(spec.value!))", command: parsed.command)
                }
                value = arguments[index]
                index += 1
            }
            if !spec.repeatable && parsed.value(name) != nil {
                throw UsageError(message: "option '--\(name)' given twice", command: parsed.command)
            }
            parsed.set(name, value)
        }
        return parsed
    }
}
