import PassAuthCore

/// `passauth completion bash|zsh|fish`: completion scripts generated from the command table, so every
/// command and each command's options complete, and option values where they have a fixed set
/// (environments, log levels, files, directories, shells).
enum Completion {
    static func script(for shell: String) -> String? {
        switch shell {
        case "bash": return bash()
        case "zsh": return zsh()
        case "fish": return fish()
        default: return nil
        }
    }

    static let environments = Environment.allCases.map(\.rawValue).joined(separator: " ")
    static let logLevels = LogLevel.allCases.map(\.rawValue).joined(separator: " ")
    static let shells = "bash zsh fish"

    /// How a value of the option completes: "file", "directory", a word list, or free text ("").
    static func values(of option: OptionSpec) -> String {
        switch option.name {
        case "config", "ca-file": return "file"
        case "store": return "directory"
        case "environment": return environments
        case "log-level": return logLevels
        default: return ""
        }
    }

    static var helpTopics: String { (Commands.all.map(\.name) + Commands.topics).joined(separator: " ") }

    /// Every option that takes a value, over all commands (to find the command word in a line).
    static var valueOptions: [String] {
        var names: [String] = []
        for option in Commands.globalOptions + Commands.all.flatMap(\.options) where option.value != nil {
            if !names.contains(option.name) { names.append(option.name) }
        }
        return names
    }

    // MARK: bash

    static func bash() -> String {
        let commands = Commands.all.map(\.name).joined(separator: " ")
        let global = Commands.globalOptions.map { "--\($0.name)" }.joined(separator: " ") + " -h"
        let takesValue = valueOptions.map { "--\($0)" }.joined(separator: "|")
        var valueCases = ""
        for option in Commands.globalOptions + Commands.all.flatMap(\.options) where option.value != nil {
            let completion = values(of: option)
            guard !completion.isEmpty, !valueCases.contains("--\(option.name))") else { continue }
            let generator = completion == "file" ? "-f" : completion == "directory" ? "-d" : "-W \"\(completion)\""
            valueCases += "        --\(option.name)) COMPREPLY=( $(compgen \(generator) -- \"$cur\") ); return ;;\n"
        }
        var commandCases = ""
        for command in Commands.all {
            let options = command.options.map { "--\($0.name)" }.joined(separator: " ")
            commandCases += "        \(command.name)) options=\"\(options)\" ;;\n"
        }
        return """
        # bash completion for passauth: source <(passauth completion bash)
        _passauth() {
            local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}"
            local commands="\(commands)"
            local global="\(global)"
            case "$prev" in
        \(valueCases)        \(takesValue)) return ;;
            esac
            # The command is the first word that is neither an option nor an option's value.
            local command="" i=1
            while [ "$i" -lt "$COMP_CWORD" ]; do
                case "${COMP_WORDS[i]}" in
                    \(takesValue)) i=$((i + 2)); continue ;;
                    -*) ;;
                    *) command="${COMP_WORDS[i]}"; break ;;
                esac
                i=$((i + 1))
            done
            if [ -z "$command" ]; then
                if [[ "$cur" == -* ]]; then
                    COMPREPLY=( $(compgen -W "$global" -- "$cur") )
                else
                    COMPREPLY=( $(compgen -W "$commands help" -- "$cur") )
                fi
                return
            fi
            local options=""
            case "$command" in
        \(commandCases)        help) COMPREPLY=( $(compgen -W "\(helpTopics)" -- "$cur") ); return ;;
            esac
            if [[ "$cur" == -* ]]; then
                COMPREPLY=( $(compgen -W "$options $global" -- "$cur") )
            elif [ "$command" = completion ]; then
                COMPREPLY=( $(compgen -W "\(shells)" -- "$cur") )
            fi
        }
        complete -F _passauth passauth

        """
    }

    // MARK: zsh

    /// A description safe inside single quotes and _arguments brackets.
    private static func zshText(_ text: String) -> String {
        text.replacing("'", with: "'\\''").replacing("[", with: "(")
            .replacing("]", with: ")").replacing(":", with: " -")
    }

    private static func zshSpec(_ option: OptionSpec) -> String {
        let help = zshText(option.help)
        guard let value = option.value else {
            return option.name == "help" ? "'(-h --help)'{-h,--help}'[\(help)]'" : "'--\(option.name)[\(help)]'"
        }
        let action: String
        switch values(of: option) {
        case "file": action = "_files"
        case "directory": action = "_files -/"
        case "": action = " "
        case let words: action = "(\(words))"
        }
        return "'\(option.repeatable ? "*" : "")--\(option.name)=[\(help)]:\(value):\(action)'"
    }

    static func zsh() -> String {
        let global = Commands.globalOptions.map { "    " + zshSpec($0) }.joined(separator: "\n")
        let commands = (Commands.all.map { "    '\($0.name):\(zshText($0.summary))'" } + ["    'help:help on a command or topic'"])
            .joined(separator: "\n")
        var cases = ""
        for command in Commands.all {
            var specs = command.options.map(zshSpec)
            switch command.name {
            case "completion": specs.append("'1:shell:(\(shells))'")
            case "authorize", "preauthorize": specs.append("'*:resource: '")
            default: break
            }
            cases += "        \(command.name)) _arguments -s $global \(specs.joined(separator: " ")) ;;\n"
        }
        return """
        #compdef passauth
        # zsh completion for passauth: passauth completion zsh > "${fpath[1]}/_passauth"
        _passauth() {
          local curcontext="$curcontext" state line ret=1
          typeset -A opt_args
          local -a global commands
          global=(
        \(global)
          )
          commands=(
        \(commands)
          )
          _arguments -C -s $global '1: :->command' '*:: :->arguments' && ret=0
          case $state in
            command)
              _describe -t commands 'passauth command' commands && ret=0 ;;
            arguments)
              curcontext="${curcontext%:*:*}:passauth-$words[1]:"
              case $words[1] in
        \(cases)        help) _arguments '1:topic:(\(helpTopics))' ;;
              esac ;;
          esac
          return ret
        }
        if [ "$funcstack[1]" = "_passauth" ]; then
          _passauth "$@"
        else
          compdef _passauth passauth
        fi

        """
    }

    // MARK: fish

    private static func fishText(_ text: String) -> String {
        "'" + text.replacing("\\", with: "\\\\").replacing("'", with: "\\'") + "'"
    }

    private static func fishLine(_ option: OptionSpec, condition: String?) -> String {
        var line = "complete -c passauth"
        if let condition { line += " -n \(fishText(condition))" }
        if option.name == "help" { line += " -s h" }
        line += " -l \(option.name)"
        if option.value != nil {
            switch values(of: option) {
            case "file": line += " -r -F"
            case "directory": line += " -r -f -a '(__fish_complete_directories)'"
            case "": line += " -r -f"
            case let words: line += " -r -f -a \(fishText(words))"
            }
        }
        return line + " -d \(fishText(option.help))"
    }

    static func fish() -> String {
        var lines = ["# fish completion for passauth: passauth completion fish > ~/.config/fish/completions/passauth.fish",
                     "complete -c passauth -f"]
        for command in Commands.all {
            lines.append("complete -c passauth -n __fish_use_subcommand -a \(command.name) -d \(fishText(command.summary))")
        }
        lines.append("complete -c passauth -n __fish_use_subcommand -a help -d 'help on a command or topic'")
        for option in Commands.globalOptions { lines.append(fishLine(option, condition: nil)) }
        for command in Commands.all {
            for option in command.options {
                lines.append(fishLine(option, condition: "__fish_seen_subcommand_from \(command.name)"))
            }
        }
        lines.append("complete -c passauth -n '__fish_seen_subcommand_from completion' -a \(fishText(shells))")
        lines.append("complete -c passauth -n '__fish_seen_subcommand_from help' -a \(fishText(helpTopics))")
        return lines.joined(separator: "\n") + "\n"
    }
}
