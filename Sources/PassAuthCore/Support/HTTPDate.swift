/// HTTP dates (RFC 9110 §5.6.7): the preferred IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") and the two
/// obsolete forms a recipient must still accept ("Sunday, 06-Nov-94 08:49:37 GMT" and asctime's
/// "Sun Nov  6 08:49:37 1994"). Used for the Date header (clock skew) and Retry-After.
enum HTTPDate {
    private static let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]

    /// Milliseconds since the epoch, or nil when `text` is not an HTTP date.
    static func milliseconds(_ text: String) -> Int64? {
        let tokens = text.split(separator: " ").map { $0.lowercased() }
        let day: Substring, month: Substring, year: Substring, time: Substring
        switch tokens.count {
        case 6 where tokens[5] == "gmt":                       // IMF-fixdate
            (day, month, year, time) = (tokens[1][...], tokens[2][...], tokens[3][...], tokens[4][...])
        case 4 where tokens[3] == "gmt":                       // RFC 850
            let parts = tokens[1].split(separator: "-")
            guard parts.count == 3 else { return nil }
            (day, month, year, time) = (parts[0], parts[1], parts[2], tokens[2][...])
        case 5:                                                 // asctime
            (day, month, year, time) = (tokens[2][...], tokens[1][...], tokens[4][...], tokens[3][...])
        default:
            return nil
        }
        let clock = time.split(separator: ":", omittingEmptySubsequences: false).map { number($0) }
        guard let d = number(day), var y = number(year), let m = months.firstIndex(of: String(month)).map({ $0 + 1 }),
              clock.count == 3, let hh = clock[0], let mm = clock[1], let ss = clock[2] else { return nil }
        if year.count == 2 { y += y < 70 ? 2000 : 1900 }  // RFC 850's two-digit years
        guard (1...31).contains(d), (0...23).contains(hh), (0...59).contains(mm), (0...60).contains(ss),
              (1970...9999).contains(y) else { return nil }
        return (daysSinceEpoch(year: y, month: m, day: d) * 86_400 + Int64(hh * 3600 + mm * 60 + ss)) * 1000
    }

    private static func number(_ digits: Substring) -> Int? {
        guard !digits.isEmpty, digits.count <= 4, digits.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return Int(digits)
    }

    /// Days from 1970-01-01 to the given civil date (proleptic Gregorian; Howard Hinnant's algorithm).
    static func daysSinceEpoch(year: Int, month: Int, day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = Int64((month + 9) % 12)
        let doy = (153 * mp + 2) / 5 + Int64(day) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}
