import CJansson

/// A JSON document as a Swift value. jansson does all parsing and printing; this enum is only the
/// shape the core works with, so no jansson reference ever escapes a single function.
package enum JSON: Equatable, Sendable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSON])
    /// Members keep the document's order (results are handed back in the service's order).
    case object([(String, JSON)])

    package static func == (lhs: JSON, rhs: JSON) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case let (.bool(a), .bool(b)): return a == b
        case let (.int(a), .int(b)): return a == b
        case let (.double(a), .double(b)): return a == b
        case let (.string(a), .string(b)): return a == b
        case let (.array(a), .array(b)): return a == b
        case let (.object(a), .object(b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }
}

/// Why a document could not be read.
package struct JSONError: Error, Sendable {
    package let message: String
    package let line: Int
    package let column: Int
    /// Bytes read before the error (jansson's position), -1 when unknown.
    package var position: Int = -1
}

// MARK: - Parsing

extension JSON {
    /// Parses a complete document (not a fragment unless `allowFragment`). Invalid UTF-8, duplicate
    /// keys and trailing garbage are rejected by jansson.
    package static func parse(_ bytes: [UInt8], allowFragment: Bool = false) throws(JSONError) -> JSON {
        var error = json_error_t()
        let flags = JSON_REJECT_DUPLICATES | (allowFragment ? JSON_DECODE_ANY : 0)
        let root: UnsafeMutablePointer<json_t>? = bytes.withUnsafeBufferPointer { buffer in
            buffer.baseAddress.flatMap { base in
                base.withMemoryRebound(to: CChar.self, capacity: buffer.count) {
                    json_loadb($0, buffer.count, Int(flags), &error)
                }
            }
        }
        guard let root else {
            if bytes.isEmpty { throw JSONError(message: "empty document", line: 1, column: 0) }
            let text = withUnsafeBytes(of: &error.text) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            throw JSONError(message: text, line: Int(error.line), column: Int(error.column), position: Int(error.position))
        }
        defer { passauth_json_decref(root) }
        return JSON(borrowing: root)
    }

    package static func parse(_ text: String, allowFragment: Bool = false) throws(JSONError) -> JSON {
        try parse(Array(text.utf8), allowFragment: allowFragment)
    }

    init(borrowing node: UnsafeMutablePointer<json_t>) {
        switch node.pointee.type {
        case JSON_OBJECT:
            var members: [(String, JSON)] = []
            members.reserveCapacity(Int(json_object_size(node)))
            var iter = json_object_iter(node)
            while let it = iter {
                let key = String(cString: json_object_iter_key(it))
                if let value = json_object_iter_value(it) { members.append((key, JSON(borrowing: value))) }
                iter = json_object_iter_next(node, it)
            }
            self = .object(members)
        case JSON_ARRAY:
            let count = json_array_size(node)
            var items: [JSON] = []
            items.reserveCapacity(count)
            for index in 0..<count {
                if let item = json_array_get(node, index) { items.append(JSON(borrowing: item)) }
            }
            self = .array(items)
        case JSON_STRING:
            let length = json_string_length(node)
            let text = json_string_value(node).map {
                $0.withMemoryRebound(to: UInt8.self, capacity: length) {
                    String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self)
                }
            }
            self = .string(text ?? "")
        case JSON_INTEGER: self = .int(Int64(json_integer_value(node)))
        case JSON_REAL: self = .double(json_real_value(node))
        case JSON_TRUE: self = .bool(true)
        case JSON_FALSE: self = .bool(false)
        default: self = .null
        }
    }
}

// MARK: - Printing

extension JSON {
    /// Compact UTF-8 text of this value; object members keep their order.
    package func serialized() -> String {
        guard let node = makeNode() else { return "null" }
        defer { passauth_json_decref(node) }
        guard let text = json_dumps(node, Int(JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER)) else {
            return "null"
        }
        defer { free(text) }
        return String(cString: text)
    }

    /// A new jansson reference the caller owns.
    func makeNode() -> UnsafeMutablePointer<json_t>? {
        switch self {
        case .null: return json_null()
        case .bool(let value): return value ? json_true() : json_false()
        case .int(let value): return json_integer(json_int_t(value))
        case .double(let value): return value.isFinite ? json_real(value) : json_null()
        case .string(let value):
            return value.utf8CString.withUnsafeBufferPointer { json_stringn($0.baseAddress, $0.count - 1) }
        case .array(let items):
            let node = json_array()
            for item in items { if let child = item.makeNode() { json_array_append_new(node, child) } }
            return node
        case .object(let members):
            let node = json_object()
            for (key, value) in members {
                if let child = value.makeNode() { json_object_set_new(node, key, child) }
            }
            return node
        }
    }
}

// MARK: - Access

extension JSON {
    package subscript(key: String) -> JSON? {
        guard case .object(let members) = self else { return nil }
        return members.first(where: { $0.0 == key })?.1
    }

    package var stringValue: String? { if case .string(let s) = self { return s }; return nil }
    package var boolValue: Bool? { if case .bool(let b) = self { return b }; return nil }
    package var arrayValue: [JSON]? { if case .array(let a) = self { return a }; return nil }
    package var objectValue: [(String, JSON)]? { if case .object(let o) = self { return o }; return nil }

    /// Integers, and reals that hold an integral value.
    package var int64Value: Int64? {
        switch self {
        case .int(let value): return value
        case .double(let value) where value.rounded() == value && abs(value) < 9.2e18: return Int64(value)
        default: return nil
        }
    }

    /// The JSON type name used in error messages.
    package var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "boolean"
        case .int, .double: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }

    /// A copy of this object with `key` set (appended if new, replaced in place otherwise).
    package func setting(_ key: String, _ value: JSON) -> JSON {
        guard case .object(var members) = self else { return self }
        if let index = members.firstIndex(where: { $0.0 == key }) {
            members[index].1 = value
        } else {
            members.append((key, value))
        }
        return .object(members)
    }

    package func removing(_ key: String) -> JSON {
        guard case .object(let members) = self else { return self }
        return .object(members.filter { $0.0 != key })
    }
}

extension JSON: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    package init(stringLiteral value: String) { self = .string(value) }
    package init(integerLiteral value: Int64) { self = .int(value) }
    package init(booleanLiteral value: Bool) { self = .bool(value) }
    package init(arrayLiteral elements: JSON...) { self = .array(elements) }
    package init(dictionaryLiteral elements: (String, JSON)...) { self = .object(elements) }
    package init(nilLiteral: ()) { self = .null }
}

extension JSON {
    /// `text` as a JSON string literal (RFC 8259: quote, backslash and control characters escaped;
    /// other UTF-8 as it is), for request bodies assembled without building a tree.
    static func quoted(_ text: String) -> String {
        var out = "\""
        out.reserveCapacity(text.utf8.count + 2)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                out += "\\u00" + String(scalar.value, radix: 16).leftPadded(to: 2)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
