import Glibc

/// A list to pick one item from on the terminal, in the manner of `gh auth login`'s prompts: type to
/// filter (id or name, case-insensitive), ↑/↓ (or Ctrl-P/Ctrl-N) to move, a number to jump to that
/// line, Enter to choose, Esc or Ctrl-C to cancel. The terminal is put in raw mode on stdin for the
/// duration and always restored.
struct Picker {
    struct Item {
        let id: String
        let label: String
        let note: String
    }

    let title: String
    let items: [Item]
    /// The item the cursor starts on (e.g. the provider of the last login).
    var preselected: String?
    /// Lines of items shown at once.
    var window = 10

    /// The chosen item, or nil when the user cancelled.
    func run() -> Item? {
        var original = termios()
        guard tcgetattr(0, &original) == 0 else { return nil }
        var raw = original
        raw.c_lflag &= ~tcflag_t(ICANON | ECHO | ISIG | IEXTEN)
        raw.c_iflag &= ~tcflag_t(IXON | ICRNL)
        withUnsafeMutableBytes(of: &raw.c_cc) { cc in
            cc[Int(VMIN)] = 1
            cc[Int(VTIME)] = 0
        }
        tcsetattr(0, TCSANOW, &raw)
        Terminal.out("\u{1B}[?25l", terminator: "")  // hide the cursor while drawing
        defer {
            tcsetattr(0, TCSANOW, &original)
            Terminal.out("\u{1B}[?25h", terminator: "")
        }

        var filter = ""
        var cursor = 0
        var drawn = 0
        var shown = matches(filter)
        if let preselected, let index = shown.firstIndex(where: { items[$0].id == preselected }) { cursor = index }

        func draw() {
            let width = max(20, Terminal.columns - 1)
            var lines = ["? \(title): " + (filter.isEmpty ? "\u{1B}[2m[type to filter, ↑/↓ or a number, Enter to choose, Esc to cancel]\u{1B}[0m" : filter)]
            if shown.isEmpty {
                lines.append("  no TV provider matches '\(filter)'")
            } else {
                let visible = min(window, shown.count)
                let first = min(max(0, cursor - visible / 2), shown.count - visible)
                for row in first..<(first + visible) {
                    let index = shown[row]
                    let number = String(index + 1)
                    let item = items[index]
                    var text = String(repeating: " ", count: max(0, String(items.count).count - number.count)) + number + "  " + item.label
                    if !item.note.isEmpty { text += "  \u{1B}[2m" + item.note + "\u{1B}[0m" }
                    let visibleText = clip(text, to: width - 2)
                    lines.append(row == cursor ? "\u{1B}[1;36m> " + visibleText + "\u{1B}[0m" : "  " + visibleText)
                }
                if shown.count > visible { lines.append("\u{1B}[2m  (\(cursor + 1) of \(shown.count); ↑/↓ for more)\u{1B}[0m") }
            }
            var output = "\r"
            if drawn > 1 { output += "\u{1B}[\(drawn - 1)A" }
            output += "\u{1B}[J" + lines.joined(separator: "\r\n")
            Terminal.out(output, terminator: "")
            drawn = lines.count
        }

        func erase() {
            var output = "\r"
            if drawn > 1 { output += "\u{1B}[\(drawn - 1)A" }
            Terminal.out(output + "\u{1B}[J", terminator: "")
        }

        draw()
        while let key = readKey() {
            switch key {
            case .enter:
                guard !shown.isEmpty else { continue }
                erase()
                let item = items[shown[cursor]]
                Terminal.out("✓ \(title): \(item.label)" + (item.label == item.id ? "" : " (\(item.id))"))
                return item
            case .cancel:
                erase()
                return nil
            case .up: if cursor > 0 { cursor -= 1 }
            case .down: if cursor + 1 < shown.count { cursor += 1 }
            case .pageUp: cursor = max(0, cursor - window)
            case .pageDown: cursor = max(0, min(shown.count - 1, cursor + window))
            case .backspace:
                guard !filter.isEmpty else { continue }
                filter.removeLast()
                shown = matches(filter)
                cursor = 0
            case .clear:
                filter = ""
                shown = matches(filter)
                cursor = 0
            case .text(let character):
                filter.append(character)
                shown = matches(filter)
                cursor = 0
            }
            draw()
        }
        erase()
        return nil
    }

    /// Indices of the items matching `filter`: a number selects that line (listed first), text matches
    /// the id or the label.
    func matches(_ filter: String) -> [Int] {
        guard !filter.isEmpty else { return Array(items.indices) }
        let needle = filter.lowercased()
        var found = items.indices.filter { items[$0].id.lowercased().contains(needle) || items[$0].label.lowercased().contains(needle) }
        if let number = Int(filter), number >= 1, number <= items.count {
            found.removeAll { $0 == number - 1 }
            found.insert(number - 1, at: 0)
        }
        return found
    }

    private func clip(_ text: String, to width: Int) -> String {
        // Escape sequences take no columns; everything else here is one column per Character.
        var out = "", columns = 0, escape = false
        for character in text {
            if character == "\u{1B}" { escape = true }
            if !escape {
                if columns == width { break }
                columns += 1
            }
            out.append(character)
            if escape && character.isLetter { escape = false }
        }
        return out + "\u{1B}[0m"
    }

    enum Key {
        case up, down, pageUp, pageDown, enter, cancel, backspace, clear
        case text(Character)
    }

    private func readByte(timeoutMs: Int32 = -1) -> UInt8? {
        var descriptor = pollfd(fd: 0, events: Int16(POLLIN), revents: 0)
        while true {
            let ready = poll(&descriptor, 1, timeoutMs)
            if ready < 0 && errno == EINTR { continue }
            guard ready > 0 else { return nil }
            var byte: UInt8 = 0
            let count = read(0, &byte, 1)
            if count < 0 && errno == EINTR { continue }
            return count == 1 ? byte : nil
        }
    }

    /// One key press; nil at the end of input.
    private func readKey() -> Key? {
        while true {
            guard let byte = readByte() else { return nil }
            switch byte {
            case 0x0D, 0x0A: return .enter
            case 0x03, 0x04: return .cancel                    // Ctrl-C, Ctrl-D
            case 0x7F, 0x08: return .backspace
            case 0x15: return .clear                           // Ctrl-U
            case 0x10: return .up                              // Ctrl-P
            case 0x0E: return .down                            // Ctrl-N
            case 0x1B:
                // A lone Esc cancels; ESC [ A / ESC O A… are the arrow keys.
                guard let next = readByte(timeoutMs: 50) else { return .cancel }
                guard next == UInt8(ascii: "[") || next == UInt8(ascii: "O"), let final = readByte(timeoutMs: 50) else { continue }
                switch final {
                case UInt8(ascii: "A"): return .up
                case UInt8(ascii: "B"): return .down
                case UInt8(ascii: "5"): _ = readByte(timeoutMs: 50); return .pageUp   // ESC [ 5 ~
                case UInt8(ascii: "6"): _ = readByte(timeoutMs: 50); return .pageDown // ESC [ 6 ~
                default: continue
                }
            case 0x20...0x7E:
                return .text(Character(UnicodeScalar(byte)))
            case 0xC0...0xF7:
                // A UTF-8 sequence: its continuation bytes follow at once.
                var bytes = [byte]
                let length = byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : 2
                while bytes.count < length, let more = readByte(timeoutMs: 50) { bytes.append(more) }
                if let character = String(validating: bytes, as: UTF8.self)?.first { return .text(character) }
            default:
                continue
            }
        }
    }
}
