extension StringProtocol {
    /// Trims any of the Unicode scalars in `set` from both ends (scalars, not Characters: "\r\n" is
    /// one Character in Swift and would otherwise never match a lone "\n").
    func trimmingCharacters(in set: String) -> String {
        let trim = Set(set.unicodeScalars)
        var scalars = Substring(self).unicodeScalars[...]
        while let first = scalars.first, trim.contains(first) { scalars.removeFirst() }
        while let last = scalars.last, trim.contains(last) { scalars.removeLast() }
        return String(String.UnicodeScalarView(scalars))
    }
}

extension String {
    func leftPadded(to width: Int, with pad: Character = "0") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }
}
