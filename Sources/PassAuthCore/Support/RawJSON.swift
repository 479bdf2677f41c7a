import CJansson
import Glibc

/// jansson values read in place, without ARC: for the few passes the library makes over every answer
/// (timestamps, shape checks, decision matching). Callers keep the owning JSONDocument alive for the
/// duration (`JSONDocument.withRoot`).
typealias RawJSON = UnsafeMutablePointer<json_t>

extension UnsafeMutablePointer where Pointee == json_t {
    var isObject: Bool { pointee.type == JSON_OBJECT }
    var isArray: Bool { pointee.type == JSON_ARRAY }
    var isString: Bool { pointee.type == JSON_STRING }

    /// Member `key` of an object (nil for a missing member or a non-object).
    func member(_ key: StaticString) -> RawJSON? {
        guard pointee.type == JSON_OBJECT else { return nil }
        return key.withUTF8Buffer { json_object_getn(self, UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self), $0.count) }
    }

    var bool: Bool? {
        switch pointee.type {
        case JSON_TRUE: return true
        case JSON_FALSE: return false
        default: return nil
        }
    }

    var int64: Int64? {
        switch pointee.type {
        case JSON_INTEGER: return Int64(json_integer_value(self))
        case JSON_REAL:
            let value = json_real_value(self)
            return value.rounded() == value && abs(value) < 9.2e18 ? Int64(value) : nil
        default: return nil
        }
    }

    /// The string's bytes (valid while the value is).
    var stringBytes: UnsafeRawBufferPointer? {
        guard pointee.type == JSON_STRING, let text = json_string_value(self) else { return nil }
        return UnsafeRawBufferPointer(start: text, count: json_string_length(self))
    }

    var string: String? { stringBytes.map { String(decoding: $0, as: UTF8.self) } }

    /// Whether this is a string equal to `text`.
    func equals(_ text: String) -> Bool {
        guard let bytes = stringBytes else { return false }
        var text = text
        return text.withUTF8 { bytes.elementsEqual($0) }
    }

    var count: Int {
        switch pointee.type {
        case JSON_ARRAY: return json_array_size(self)
        case JSON_OBJECT: return json_object_size(self)
        default: return 0
        }
    }

    func element(_ index: Int) -> RawJSON? { pointee.type == JSON_ARRAY ? json_array_get(self, index) : nil }

    /// The value as compact JSON text (members in document order), without the top-level member
    /// `omitting`. What `json_dumps(JSON_COMPACT)` writes, at a fraction of its cost for the small
    /// objects it is used on (permits kept by the decision cache).
    func compactText(omitting: StaticString? = nil) -> [UInt8] {
        var out = ByteWriter(capacity: 256)
        RawJSON.write(self, to: &out, omitting: omitting)
        return out.finish()
    }

    private static func write(_ value: RawJSON, to out: inout ByteWriter, omitting: StaticString?) {
        switch value.pointee.type {
        case JSON_OBJECT:
            out.byte(UInt8(ascii: "{"))
            var first = true
            var iterator = json_object_iter(value)
            while let it = iterator {
                let key = UnsafeRawBufferPointer(start: json_object_iter_key(it), count: strlen(json_object_iter_key(it)))
                iterator = json_object_iter_next(value, it)
                if let omitting, key.elementsEqual(UnsafeRawBufferPointer(start: omitting.utf8Start, count: omitting.utf8CodeUnitCount)) { continue }
                guard let member = json_object_iter_value(it) else { continue }
                if !first { out.byte(UInt8(ascii: ",")) }
                first = false
                out.string(key)
                out.byte(UInt8(ascii: ":"))
                write(member, to: &out, omitting: nil)
            }
            out.byte(UInt8(ascii: "}"))
        case JSON_ARRAY:
            out.byte(UInt8(ascii: "["))
            for index in 0..<json_array_size(value) {
                if index > 0 { out.byte(UInt8(ascii: ",")) }
                write(json_array_get(value, index), to: &out, omitting: nil)
            }
            out.byte(UInt8(ascii: "]"))
        case JSON_STRING: out.string(value.stringBytes ?? UnsafeRawBufferPointer(start: nil, count: 0))
        case JSON_INTEGER: out.integer(Int64(json_integer_value(value)))
        case JSON_TRUE: out.raw("true")
        case JSON_FALSE: out.raw("false")
        case JSON_NULL: out.raw("null")
        default:  // a real: jansson's own formatting
            guard let text = json_dumps(value, Int(JSON_COMPACT | JSON_ENCODE_ANY)) else { return }
            out.bytes(UnsafeRawBufferPointer(start: text, count: strlen(text)))
            free(text)
        }
    }
}

extension JSONDocument {
    /// Runs `body` with the root as a raw value, the document alive meanwhile.
    func withRoot<T, E: Error>(_ body: (RawJSON) throws(E) -> T) throws(E) -> T {
        defer { withExtendedLifetime(self) {} }
        return try body(root)
    }
}
