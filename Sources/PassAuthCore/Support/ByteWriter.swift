import Glibc

/// JSON text assembled in memory the writer owns and grows: no uniqueness check or reference count
/// per byte, for the paths that write text on every call (statistics, permits kept by the decision
/// cache). `finish()` hands the bytes over as an array, with one copy.
struct ByteWriter: ~Copyable {
    private var base: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private(set) var count = 0

    init(capacity: Int) {
        self.capacity = max(64, capacity)
        base = .allocate(capacity: self.capacity)
    }

    deinit { base.deallocate() }

    consuming func finish() -> [UInt8] { Array(UnsafeBufferPointer(start: base, count: count)) }

    @inline(__always)
    private mutating func reserve(_ extra: Int) {
        if count + extra > capacity { grow(extra) }
    }

    private mutating func grow(_ extra: Int) {
        let grown = UnsafeMutablePointer<UInt8>.allocate(capacity: max(capacity * 2, count + extra))
        grown.update(from: base, count: count)
        base.deallocate()
        base = grown
        capacity = max(capacity * 2, count + extra)
    }

    @inline(__always)
    mutating func byte(_ value: UInt8) {
        reserve(1)
        base[count] = value
        count += 1
    }

    mutating func bytes(_ text: UnsafeRawBufferPointer) {
        guard let source = text.baseAddress, !text.isEmpty else { return }
        reserve(text.count)
        memcpy(base + count, source, text.count)
        count += text.count
    }

    mutating func raw(_ text: StaticString) {
        bytes(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    mutating func integer(_ value: Int64) {
        reserve(20)
        if value < 0 { base[count] = UInt8(ascii: "-"); count += 1 }
        var magnitude = value.magnitude
        var divisor: UInt64 = 1
        while magnitude / divisor >= 10 { divisor *= 10 }
        repeat {
            base[count] = UInt8(ascii: "0") + UInt8(magnitude / divisor)
            count += 1
            magnitude %= divisor
            divisor /= 10
        } while divisor > 0
    }

    /// A JSON string literal of UTF-8 `text`: quotes, backslashes and control characters escaped,
    /// everything else as it is (the text is valid UTF-8 already).
    mutating func string(_ text: UnsafeRawBufferPointer) {
        reserve(text.count + 2)
        base[count] = UInt8(ascii: "\"")
        count += 1
        var plain = 0, index = 0  // plain: start of the run of bytes that need no escape
        while index < text.count {
            let value = text[index]
            index += 1
            guard value < 0x20 || value == UInt8(ascii: "\"") || value == UInt8(ascii: "\\") else { continue }
            bytes(UnsafeRawBufferPointer(rebasing: text[plain..<index - 1]))
            plain = index
            byte(UInt8(ascii: "\\"))
            if value >= 0x20 {
                byte(value)
            } else {
                func hex(_ nibble: UInt8) -> UInt8 { nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10 }
                for part in [UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex(value >> 4), hex(value & 15)] { byte(part) }
            }
        }
        bytes(UnsafeRawBufferPointer(rebasing: text[plain...]))
        byte(UInt8(ascii: "\""))
    }

    /// A string literal of the library's own static text, which needs no escapes (names).
    mutating func string(_ text: StaticString) {
        byte(UInt8(ascii: "\""))
        raw(text)
        byte(UInt8(ascii: "\""))
    }

    mutating func string(_ text: String) {
        var text = text
        text.withUTF8 { string(UnsafeRawBufferPointer($0)) }
    }
}
