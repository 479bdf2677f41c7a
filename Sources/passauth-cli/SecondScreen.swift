import Glibc
import PassAuthCore

/// The login URL for the second screen: its QR code drawn in the terminal, and opening it in a browser.
enum SecondScreen {
    /// The QR code of `text` (the core's QRCode, libqrencode) as lines of half blocks, two module rows
    /// per line, with the 4-module quiet zone. With `colours` the dark modules are drawn dark on a
    /// white background whatever the terminal's theme; without (NO_COLOR) the blocks draw the light
    /// modules, for the usual light-on-dark terminal (as `qrencode -t UTF8` does). nil when the text
    /// does not fit in a QR code.
    static func qrLines(_ text: String, colours: Bool) -> [String]? {
        guard let matrix = try? QRCode.matrix(of: text), let document = try? JSON.parse(matrix),
              let rows = document["rows"]?.arrayValue?.compactMap({ $0.stringValue.map { Array($0.utf8) } }),
              let size = document["size"]?.int64Value.map({ Int($0) }), rows.count == size else { return nil }
        let quiet = 4, span = size + 2 * quiet
        func dark(_ x: Int, _ y: Int) -> Bool {
            let (column, row) = (x - quiet, y - quiet)
            return row >= 0 && row < size && column >= 0 && column < size && rows[row][column] == UInt8(ascii: "1")
        }
        var lines: [String] = []
        for line in stride(from: 0, to: span, by: 2) {
            var text = colours ? "\u{1B}[30;107m" : ""
            for x in 0..<span {
                var (top, bottom) = (dark(x, line), dark(x, line + 1))
                if !colours { (top, bottom) = (!top, !bottom) }
                text += top && bottom ? "█" : top ? "▀" : bottom ? "▄" : " "
            }
            lines.append(text + (colours ? "\u{1B}[0m" : ""))
        }
        return lines
    }

    /// Draws `qr` with `text` beside it (from its second line), or below it when the terminal is too
    /// narrow for both.
    static func printBeside(_ qr: [String], _ text: [String], qrWidth: Int) {
        let gap = "   "
        if 2 + qrWidth + gap.count + (text.map(\.count).max() ?? 0) > Terminal.columns {
            for line in text { Terminal.out("  " + line) }
            for line in qr { Terminal.out("  " + line) }
            return
        }
        let start = max(0, min(1, qr.count - text.count))
        for (index, line) in qr.enumerated() {
            let beside = index >= start && index - start < text.count ? gap + text[index - start] : ""
            Terminal.out("  " + line + beside)
        }
    }

    /// Opens `url` in a browser: $BROWSER (its first ':'-separated entry; "%s" stands for the URL),
    /// else xdg-open. Does not wait for the browser. Returns the command run, or why nothing ran.
    static func open(_ url: String) -> Result<String, OpenFailure> {
        var command = ["xdg-open", url]
        if let browser = Settings.environment("BROWSER")?.split(separator: ":").first.map(String.init), !browser.isEmpty {
            if browser.contains("%s") {
                let quoted = "'" + url.replacing("'", with: "'\\''") + "'"
                command = ["/bin/sh", "-c", browser.replacing("%s", with: quoted)]
            } else {
                command = browser.split(separator: " ").map(String.init) + [url]
            }
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        var arguments: [UnsafeMutablePointer<CChar>?] = command.map { strdup($0) } + [nil]
        defer { for argument in arguments { free(argument) } }
        var pid = pid_t()
        let status = posix_spawnp(&pid, arguments[0]!, &actions, nil, &arguments, environ)
        guard status == 0 else { return .failure(OpenFailure(message: "\(command[0]): \(String(cString: strerror(status)))")) }
        return .success(command[0])
    }

    struct OpenFailure: Error { let message: String }
}
