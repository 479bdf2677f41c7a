import CJansson

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
}

extension JSONDocument {
    /// Runs `body` with the root as a raw value, the document alive meanwhile.
    func withRoot<T, E: Error>(_ body: (RawJSON) throws(E) -> T) throws(E) -> T {
        defer { withExtendedLifetime(self) {} }
        return try body(root)
    }
}
