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

extension String {
    /// Every occurrence of `target` replaced by `replacement`, on UTF-8 bytes (the standard library's
    /// substring search lives in its regex module, which would add more than a megabyte to the library).
    func replacingAll(_ target: String, with replacement: String) -> String {
        guard let first = target.utf8.first else { return self }
        let bytes = Array(utf8), needle = Array(target.utf8)
        var out: [UInt8] = []
        var i = 0
        while i < bytes.count {
            if bytes[i] == first, i + needle.count <= bytes.count, bytes[i..<(i + needle.count)].elementsEqual(needle) {
                out += replacement.utf8
                i += needle.count
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Whether `needle` occurs in this string, on UTF-8 bytes (see replacingAll).
    func containsBytes(_ needle: String) -> Bool {
        guard let first = needle.utf8.first else { return true }
        let bytes = Array(utf8), target = Array(needle.utf8)
        guard bytes.count >= target.count else { return false }
        for i in 0...(bytes.count - target.count) where bytes[i] == first && bytes[i..<(i + target.count)].elementsEqual(target) {
            return true
        }
        return false
    }
}
