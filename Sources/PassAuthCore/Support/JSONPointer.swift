import CJansson

/// RFC 6901 JSON Pointers over a document given as text, for C callers who read a few values of a
/// result without a JSON library of their own (passauth_json_get_*). The document is parsed by
/// jansson and walked in place: no Swift tree is built.
package enum JSONPointer {
    package static func string(in document: UnsafePointer<CChar>, at pointer: String) throws(PassAuthError) -> String {
        try resolve(document, pointer) { (node) throws(PassAuthError) -> String in
            guard node.pointee.type == JSON_STRING, let text = json_string_value(node) else { throw mismatch(node, "a string", pointer) }
            let length = json_string_length(node)
            return text.withMemoryRebound(to: UInt8.self, capacity: length) {
                String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self)
            }
        }
    }

    package static func bool(in document: UnsafePointer<CChar>, at pointer: String) throws(PassAuthError) -> Bool {
        try resolve(document, pointer) { (node) throws(PassAuthError) -> Bool in
            switch node.pointee.type {
            case JSON_TRUE: return true
            case JSON_FALSE: return false
            default: throw mismatch(node, "a boolean", pointer)
            }
        }
    }

    package static func int64(in document: UnsafePointer<CChar>, at pointer: String) throws(PassAuthError) -> Int64 {
        try resolve(document, pointer) { (node) throws(PassAuthError) -> Int64 in
            guard node.pointee.type == JSON_INTEGER else { throw mismatch(node, "an integer", pointer) }
            return Int64(json_integer_value(node))
        }
    }

    /// Elements of an array, members of an object.
    /// Any number, as a double (integers beyond 2^53 lose precision).
    package static func double(in document: UnsafePointer<CChar>, at pointer: String) throws(PassAuthError) -> Double {
        try resolve(document, pointer) { (node) throws(PassAuthError) -> Double in
            switch node.pointee.type {
            case JSON_INTEGER: return Double(json_integer_value(node))
            case JSON_REAL: return json_real_value(node)
            default: throw mismatch(node, "a number", pointer)
            }
        }
    }

    /// The name of member `index` (document order) of an object.
    package static func key(in document: UnsafePointer<CChar>, at pointer: String, index: Int) throws(PassAuthError) -> String {
        try resolve(document, pointer) { (node) throws(PassAuthError) -> String in
            guard node.pointee.type == JSON_OBJECT else { throw mismatch(node, "an object", pointer) }
            var iterator = json_object_iter(node)
            var position = 0
            while let it = iterator {
                if position == index { return String(cString: json_object_iter_key(it)) }
                position += 1
                iterator = json_object_iter_next(node, it)
            }
            throw PassAuthError(.notFound, "the object at '\(pointer)' has \(position) member(s); there is no member \(index)")
        }
    }

    package static func count(in document: UnsafePointer<CChar>, at pointer: String) throws(PassAuthError) -> Int {
        try resolve(document, pointer) { (node) throws(PassAuthError) -> Int in
            switch node.pointee.type {
            case JSON_ARRAY: return json_array_size(node)
            case JSON_OBJECT: return json_object_size(node)
            default: throw mismatch(node, "an array or an object", pointer)
            }
        }
    }

    private static func resolve<T>(_ document: UnsafePointer<CChar>, _ pointer: String,
                                   _ read: (UnsafeMutablePointer<json_t>) throws(PassAuthError) -> T) throws(PassAuthError) -> T {
        let tokens = try referenceTokens(pointer)
        var error = json_error_t()
        guard let root = json_loads(document, Int(JSON_REJECT_DUPLICATES | JSON_DECODE_ANY), &error) else {
            let reason = withUnsafeBytes(of: &error.text) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            throw .invalid("json is not a JSON document: \(reason) (line \(error.line), column \(error.column))", key: "json")
        }
        defer { passauth_json_decref(root) }
        var node = root
        for (depth, token) in tokens.enumerated() {
            let next: UnsafeMutablePointer<json_t>?
            switch node.pointee.type {
            case JSON_OBJECT:
                next = token.withCString { json_object_get(node, $0) }
            case JSON_ARRAY:
                // RFC 6901: an index is "0" or digits without a leading zero.
                let digits = token.utf8
                guard !digits.isEmpty, digits.count <= 18, digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                      digits.count == 1 || digits.first != 0x30, let index = Int(token) else {
                    throw PassAuthError(.notFound, "'\(prefix(tokens, depth + 1))' is not an index of the array at '\(prefix(tokens, depth))'")
                }
                next = index < json_array_size(node) ? json_array_get(node, index) : nil
            default:
                next = nil
            }
            guard let next else { throw PassAuthError(.notFound, "nothing at '\(prefix(tokens, depth + 1))'") }
            node = next
        }
        return try read(node)
    }

    /// "" is the whole document; otherwise "/"-separated tokens with ~1 = "/" and ~0 = "~".
    static func referenceTokens(_ pointer: String) throws(PassAuthError) -> [String] {
        guard !pointer.isEmpty else { return [] }
        guard pointer.hasPrefix("/") else { throw .invalid("pointer '\(pointer.prefix(80))' must be empty or start with '/'", key: "pointer") }
        var tokens: [String] = []
        for raw in pointer.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false).dropFirst() {
            var token: [UInt8] = []
            var escape = false
            for byte in raw {
                if escape {
                    switch byte {
                    case UInt8(ascii: "0"): token.append(UInt8(ascii: "~"))
                    case UInt8(ascii: "1"): token.append(UInt8(ascii: "/"))
                    default: throw .invalid("pointer '\(pointer.prefix(80))' has '~' not followed by 0 or 1", key: "pointer")
                    }
                    escape = false
                } else if byte == UInt8(ascii: "~") {
                    escape = true
                } else {
                    token.append(byte)
                }
            }
            if escape { throw .invalid("pointer '\(pointer.prefix(80))' ends with '~'", key: "pointer") }
            tokens.append(String(decoding: token, as: UTF8.self))
        }
        return tokens
    }

    private static func prefix(_ tokens: [String], _ count: Int) -> String {
        tokens.prefix(count).map { "/" + $0.replacingAll("~", with: "~0").replacingAll("/", with: "~1") }.joined()
    }

    private static func mismatch(_ node: UnsafeMutablePointer<json_t>, _ expected: String, _ pointer: String) -> PassAuthError {
        let found: String
        switch node.pointee.type {
        case JSON_OBJECT: found = "an object"
        case JSON_ARRAY: found = "an array"
        case JSON_STRING: found = "a string"
        case JSON_INTEGER, JSON_REAL: found = "a number"
        case JSON_TRUE, JSON_FALSE: found = "a boolean"
        default: found = "null"
        }
        return .invalid("the value at '\(pointer.prefix(200))' is \(found), not \(expected)", key: "pointer")
    }
}
