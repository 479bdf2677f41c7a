import CJansson
import Glibc

/// A parsed JSON document kept as jansson's own tree. The service's answers are read in place (shape
/// checks, media tokens, decision order) and, when nothing in them needed changing, handed to the
/// caller as the bytes that arrived: no Swift tree is built and nothing is printed again on the hot
/// paths. Cold paths that want a Swift value use `json`.
package final class JSONDocument: @unchecked Sendable {
    /// Owned: one reference, released in deinit. Never shared with another document.
    let root: UnsafeMutablePointer<json_t>

    private init(owning root: UnsafeMutablePointer<json_t>) { self.root = root }

    deinit { passauth_json_decref(root) }

    /// Parses `bytes`: a complete document, any value (the caller checks the shape). jansson rejects
    /// invalid UTF-8, duplicate keys, trailing garbage and nesting deeper than its limit.
    package static func parse(_ bytes: UnsafeRawBufferPointer) throws(JSONError) -> JSONDocument {
        guard let base = bytes.baseAddress, bytes.count > 0 else { throw JSONError(message: "empty document", line: 1, column: 0) }
        var error = json_error_t()
        guard let root = json_loadb(base.assumingMemoryBound(to: CChar.self), bytes.count,
                                    Int(JSON_REJECT_DUPLICATES | JSON_DECODE_ANY), &error) else {
            let text = withUnsafeBytes(of: &error.text) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            throw JSONError(message: text, line: Int(error.line), column: Int(error.column))
        }
        return JSONDocument(owning: root)
    }

    package static func parse(_ bytes: [UInt8]) throws(JSONError) -> JSONDocument {
        var result: Result<JSONDocument, JSONError> = .failure(JSONError(message: "empty document", line: 1, column: 0))
        bytes.withUnsafeBytes { buffer in
            do throws(JSONError) { result = .success(try parse(buffer)) } catch { result = .failure(error) }
        }
        return try result.get()
    }

    /// A new document holding `json` (for results the library assembles, e.g. merged decisions).
    package init(_ json: JSON) {
        root = json.makeNode() ?? json_null()
    }

    package var node: JSONNode { JSONNode(raw: root, owner: self) }

    /// Compact UTF-8 text, object members in document order.
    package func serialized() -> [UInt8] {
        guard let text = json_dumps(root, Int(JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER)) else { return Array("null".utf8) }
        defer { free(text) }
        return Array(UnsafeRawBufferPointer(start: text, count: strlen(text)))
    }

    /// The document as a Swift value (cold paths: persistence, tests).
    package var json: JSON { JSON(borrowing: root) }
}

/// A value inside a JSONDocument. It keeps its document alive (a node read from an answer stays valid
/// whatever happens to the answer); it is valid while the document is not changed at that place.
package struct JSONNode {
    let raw: UnsafeMutablePointer<json_t>
    private let owner: JSONDocument

    init(raw: UnsafeMutablePointer<json_t>, owner: JSONDocument) {
        self.raw = raw
        self.owner = owner
    }

    private func child(_ node: UnsafeMutablePointer<json_t>?) -> JSONNode? { node.map { JSONNode(raw: $0, owner: owner) } }

    package subscript(key: String) -> JSONNode? {
        guard raw.pointee.type == JSON_OBJECT else { return nil }
        return child(key.withCString { json_object_get(raw, $0) })
    }

    package subscript(index: Int) -> JSONNode? {
        guard raw.pointee.type == JSON_ARRAY, index >= 0, index < json_array_size(raw) else { return nil }
        return child(json_array_get(raw, index))
    }

    package var isObject: Bool { raw.pointee.type == JSON_OBJECT }
    package var isArray: Bool { raw.pointee.type == JSON_ARRAY }
    package var isString: Bool { raw.pointee.type == JSON_STRING }

    package var string: String? {
        guard raw.pointee.type == JSON_STRING, let text = json_string_value(raw) else { return nil }
        let length = json_string_length(raw)
        return text.withMemoryRebound(to: UInt8.self, capacity: length) {
            String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self)
        }
    }

    /// The string's UTF-8 bytes, without building a String.
    package func withStringBytes<T>(_ body: (UnsafeRawBufferPointer) -> T) -> T? {
        guard raw.pointee.type == JSON_STRING, let text = json_string_value(raw) else { return nil }
        return body(UnsafeRawBufferPointer(start: text, count: json_string_length(raw)))
    }

    package var bool: Bool? {
        switch raw.pointee.type {
        case JSON_TRUE: return true
        case JSON_FALSE: return false
        default: return nil
        }
    }

    /// Integers, and reals that hold an integral value within 64 bits.
    package var int64: Int64? {
        switch raw.pointee.type {
        case JSON_INTEGER: return Int64(json_integer_value(raw))
        case JSON_REAL:
            let value = json_real_value(raw)
            return value.rounded() == value && abs(value) < 9.2e18 ? Int64(value) : nil
        default: return nil
        }
    }

    /// Elements of an array, members of an object, 0 otherwise.
    package var count: Int {
        switch raw.pointee.type {
        case JSON_ARRAY: return json_array_size(raw)
        case JSON_OBJECT: return json_object_size(raw)
        default: return 0
        }
    }

    /// An object's members in document order.
    package func forEachMember(_ body: (String, JSONNode) throws(PassAuthError) -> Void) throws(PassAuthError) {
        guard raw.pointee.type == JSON_OBJECT else { return }
        var iter = json_object_iter(raw)
        while let it = iter {
            if let value = json_object_iter_value(it) { try body(String(cString: json_object_iter_key(it)), JSONNode(raw: value, owner: owner)) }
            iter = json_object_iter_next(raw, it)
        }
    }

    /// An array's elements in order.
    package var elements: [JSONNode] {
        guard raw.pointee.type == JSON_ARRAY else { return [] }
        return (0..<json_array_size(raw)).compactMap { child(json_array_get(raw, $0)) }
    }

    package var typeName: String { JSONNode.typeName(raw) }

    static func typeName(_ raw: RawJSON) -> String {
        switch raw.pointee.type {
        case JSON_OBJECT: return "object"
        case JSON_ARRAY: return "array"
        case JSON_STRING: return "string"
        case JSON_INTEGER, JSON_REAL: return "number"
        case JSON_TRUE, JSON_FALSE: return "boolean"
        default: return "null"
        }
    }

    /// Replaces (or adds) member `key` of this object.
    package func set(_ key: String, _ value: JSON) {
        guard raw.pointee.type == JSON_OBJECT, let node = value.makeNode() else { return }
        json_object_set_new(raw, key, node)
    }

    /// This value as a Swift value.
    package var json: JSON { JSON(borrowing: raw) }
}
