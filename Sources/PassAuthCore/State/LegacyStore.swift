/// Passauth 0.1 kept all state of a service provider in one JSON file, `<store>/<name>.json` (format 1,
/// no origin recorded). Those files are never used as they are (ClientState refuses them while no
/// state exists for an origin); `Client.importLegacyState(file:)` imports one for the service it was
/// written for.
enum LegacyStore {
    /// The 0.1 file name of a service provider id: anything outside [A-Za-z0-9._-] %-escaped.
    static func fileName(for serviceProvider: String) -> String {
        var name = ""
        for byte in serviceProvider.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"):
                name.unicodeScalars.append(UnicodeScalar(byte))
            case UInt8(ascii: ".") where !name.isEmpty:
                name.append(".")
            default:
                name += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return name
    }
}
