import Glibc
import PassAuthCore

/// Conversions between C arguments and core values. Everything here only converts and reports; no
/// decision about the service is taken in the C-ABI layer.
enum Bridge {
    /// Runs `body`, turning any failure into its status code and the thread's last error.
    static func run(_ body: () throws(PassAuthError) -> Void) -> Int32 {
        do {
            try body()
            return Status.ok.rawValue
        } catch {
            // PASSAUTH_PENDING is an answer, not a failure: the thread's last error stays as it was.
            if error.status != .pending { LastError.set(error) }
            return error.status.rawValue
        }
    }

    static func string(_ pointer: UnsafePointer<CChar>?, _ name: String) throws(PassAuthError) -> String {
        guard let pointer else { throw .invalid("\(name) must not be NULL", key: name) }
        guard let text = String(validatingCString: pointer) else { throw .invalid("\(name) is not valid UTF-8", key: name) }
        return text
    }

    static func optionalString(_ pointer: UnsafePointer<CChar>?, _ name: String) throws(PassAuthError) -> String? {
        guard let pointer else { return nil }
        return try string(pointer, name)
    }

    static func json(_ pointer: UnsafePointer<CChar>?, _ name: String) throws(PassAuthError) -> JSON {
        let text = try string(pointer, name)
        do throws(JSONError) {
            return try JSON.parse(text)
        } catch {
            // A number jansson cannot represent (an integer beyond 64 bits, 1e400) is a bad value, not bad
            // JSON: it is reported against the member that holds it, like any other bad value. Syntax
            // errors (a cut-off document, a stray comma) stay the argument's.
            let unrepresentable = error.message.hasPrefix("too big") || error.message.hasPrefix("real number overflow")
            let member = unrepresentable ? memberPath(Array(text.utf8).prefix(max(error.position, 0))) : ""
            let key = member.isEmpty ? name : name == "config_json" ? member : "\(name).\(member)"
            let at = member.isEmpty ? "" : ", in the value of '\(key)'"
            throw .invalid("\(name) is not a JSON document: \(error.message) (line \(error.line), column \(error.column)\(at))", key: key)
        }
    }

    /// The dotted path of object members open at the end of `prefix` (a JSON text cut where parsing
    /// failed): "device.port" for `{"device": {"port": 1e99999`; "" outside any member's value.
    static func memberPath(_ prefix: ArraySlice<UInt8>) -> String {
        var open: [(isObject: Bool, member: String?)] = []
        var lastString: String? = nil
        var index = prefix.startIndex
        while index < prefix.endIndex {
            let byte = prefix[index]
            index += 1
            switch byte {
            case UInt8(ascii: "\""):
                let start = index
                while index < prefix.endIndex && prefix[index] != UInt8(ascii: "\"") {
                    index += prefix[index] == UInt8(ascii: "\\") ? 2 : 1
                }
                guard index < prefix.endIndex else { return "" }  // the error is inside a string
                lastString = String(decoding: prefix[start..<index], as: UTF8.self)
                index += 1
            case UInt8(ascii: ":"):
                if open.last?.isObject == true { open[open.count - 1].member = lastString }
            case UInt8(ascii: ","):
                if open.last?.isObject == true { open[open.count - 1].member = nil }
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                open.append((byte == UInt8(ascii: "{"), nil))
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                _ = open.popLast()
            default:
                break
            }
        }
        let members = open.filter(\.isObject).map(\.member)
        guard let innermost = members.last, innermost != nil else { return "" }
        return members.compactMap { $0 }.joined(separator: ".")
    }

    static func optionalJSON(_ pointer: UnsafePointer<CChar>?, _ name: String) throws(PassAuthError) -> JSON? {
        guard pointer != nil else { return nil }
        return try json(pointer, name)
    }

    static func client(_ handle: OpaquePointer?) throws(PassAuthError) -> Client {
        guard let handle else { throw .invalid("client must not be NULL", key: "client") }
        return Unmanaged<Client>.fromOpaque(UnsafeRawPointer(handle)).takeUnretainedValue()
    }

    static func requireOut<T>(_ out: UnsafeMutablePointer<T>?, _ name: String) throws(PassAuthError) -> UnsafeMutablePointer<T> {
        guard let out else { throw .invalid("\(name) must not be NULL", key: name) }
        return out
    }

    /// `resources_json`: a JSON array of strings, read straight from jansson (no tree of its own).
    static func resources(_ pointer: UnsafePointer<CChar>?) throws(PassAuthError) -> [String] {
        guard let pointer else { throw .invalid("resources_json must not be NULL", key: "resources_json") }
        return try Decisions.resources(text: pointer)
    }

    /// Hands a string to the caller, who frees it with passauth_free.
    static func give(_ text: String, to out: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) throws(PassAuthError) {
        guard let copy = strdup(text) else { throw PassAuthError(.internal, "out of memory") }
        out.pointee = copy
    }

    /// passauth_json_get_*'s document (handed to jansson as it is, which checks its UTF-8) and pointer.
    static func pointerArguments(_ json: UnsafePointer<CChar>?, _ pointer: UnsafePointer<CChar>?) throws(PassAuthError)
        -> (UnsafePointer<CChar>, String)
    {
        guard let json else { throw .invalid("json must not be NULL", key: "json") }
        return (json, try string(pointer, "pointer"))
    }

    /// Hands JSON text the library holds as bytes (a service answer passed through) to the caller.
    static func give(bytes: [UInt8], to out: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) throws(PassAuthError) {
        guard let copy = malloc(bytes.count + 1) else { throw PassAuthError(.internal, "out of memory") }
        bytes.withUnsafeBytes { if let base = $0.baseAddress { memcpy(copy, base, $0.count) } }
        copy.storeBytes(of: 0, toByteOffset: bytes.count, as: UInt8.self)
        out.pointee = copy.assumingMemoryBound(to: CChar.self)
    }

    /// The device a call acts for, from `device_json` or the client's default.
    static func device(_ client: Client, _ pointer: UnsafePointer<CChar>?) throws(PassAuthError) -> Device {
        try client.device(optionalJSON(pointer, "device_json"))
    }
}
