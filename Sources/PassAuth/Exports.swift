import Glibc
import PassAuthCore

// The C contract of Include/passauth.h. Each function converts its arguments, calls the core, and
// converts the result or the failure back; see the header for ownership and thread-safety.

public typealias CString = UnsafePointer<CChar>
public typealias OutString = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>

/// Immutable C strings created once and never freed (they are handed out as `const char *`).
enum StaticCStrings {
    nonisolated(unsafe) static let version: CString = UnsafePointer(strdup(Version.string)!)
    nonisolated(unsafe) static let statusNames: [Int32: CString] = Dictionary(
        uniqueKeysWithValues: Status.allCases.map { ($0.rawValue, UnsafePointer(strdup($0.name)!)) })
    nonisolated(unsafe) static let unknownStatus: CString = UnsafePointer(strdup("PASSAUTH_E_UNKNOWN")!)
}

@_cdecl("passauth_version")
public func passauth_version() -> CString { StaticCStrings.version }

@_cdecl("passauth_version_number")
public func passauth_version_number() -> Int32 { Version.number }

@_cdecl("passauth_status_name")
public func passauth_status_name(_ status: Int32) -> CString {
    StaticCStrings.statusNames[status] ?? StaticCStrings.unknownStatus
}

@_cdecl("passauth_last_error")
public func passauth_last_error() -> CString { LastError.current.pointee.json }

@_cdecl("passauth_error_last")
public func passauth_error_last() -> UnsafeRawPointer { UnsafeRawPointer(LastError.current) }

@_cdecl("passauth_free")
public func passauth_free(_ pointer: UnsafeMutableRawPointer?) { free(pointer) }

@_cdecl("passauth_client_new")
public func passauth_client_new(_ configJSON: CString?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    Bridge.run { () throws(PassAuthError) in
        let out = try Bridge.requireOut(out, "out")
        let config = try ClientSettings(json: Bridge.json(configJSON, "config_json"))
        let client = try Client(config: config)
        out.pointee = OpaquePointer(Unmanaged.passRetained(client).toOpaque())
    }
}

@_cdecl("passauth_client_free")
public func passauth_client_free(_ handle: OpaquePointer?) {
    guard let handle else { return }
    Unmanaged<Client>.fromOpaque(UnsafeRawPointer(handle)).release()
}

@_cdecl("passauth_stats")
public func passauth_stats(_ handle: OpaquePointer?, _ out: OutString?) -> Int32 {
    Bridge.run { () throws(PassAuthError) in
        let client = try Bridge.client(handle)
        let out = try Bridge.requireOut(out, "out_json")
        try Bridge.give(bytes: client.stats.json, to: out)
    }
}

@_cdecl("passauth_register")
public func passauth_register(_ handle: OpaquePointer?, _ out: OutString?) -> Int32 {
    Bridge.run { () throws(PassAuthError) in
        let client = try Bridge.client(handle)
        let out = try Bridge.requireOut(out, "out_json")
        try Bridge.give(client.register(device: client.config.device).serialized(), to: out)
    }
}

@_cdecl("passauth_configuration")
public func passauth_configuration(_ handle: OpaquePointer?, _ deviceJSON: CString?, _ out: OutString?) -> Int32 {
    Bridge.run { () throws(PassAuthError) in
        let client = try Bridge.client(handle)
        let out = try Bridge.requireOut(out, "out_json")
        let device = try Bridge.device(client, deviceJSON)
        try Bridge.give(bytes: client.configuration(device: device).bytes, to: out)
    }
}

@_cdecl("passauth_preauthorize")
public func passauth_preauthorize(_ handle: OpaquePointer?, _ deviceJSON: CString?, _ mvpd: CString?,
                                  _ resourcesJSON: CString?, _ out: OutString?) -> Int32 {
    Bridge.run { () throws(PassAuthError) in
        let client = try Bridge.client(handle)
        let out = try Bridge.requireOut(out, "out_json")
        let device = try Bridge.device(client, deviceJSON)
        let mvpd = try Bridge.string(mvpd, "mvpd")
        let resources = try Bridge.resources(resourcesJSON)
        try Bridge.give(bytes: client.preauthorize(device: device, mvpd: mvpd, resources: resources).bytes, to: out)
    }
}

@_cdecl("passauth_authorize")
public func passauth_authorize(_ handle: OpaquePointer?, _ deviceJSON: CString?, _ mvpd: CString?,
                               _ resourcesJSON: CString?, _ out: OutString?) -> Int32 {
    Bridge.run { () throws(PassAuthError) in
        let client = try Bridge.client(handle)
        let out = try Bridge.requireOut(out, "out_json")
        let device = try Bridge.device(client, deviceJSON)
        let mvpd = try Bridge.string(mvpd, "mvpd")
        let resources = try Bridge.resources(resourcesJSON)
        try Bridge.give(bytes: client.authorize(device: device, mvpd: mvpd, resources: resources).bytes, to: out)
    }
}

@_cdecl("passauth_logout")
public func passauth_logout(_ handle: OpaquePointer?, _ deviceJSON: CString?, _ mvpd: CString?,
                            _ redirectURL: CString?, _ out: OutString?) -> Int32 {
    Bridge.run { () throws(PassAuthError) in
        let client = try Bridge.client(handle)
        let out = try Bridge.requireOut(out, "out_json")
        let device = try Bridge.device(client, deviceJSON)
        let mvpd = try Bridge.string(mvpd, "mvpd")
        let redirect = try Bridge.string(redirectURL, "redirect_url")
        try Bridge.give(bytes: client.logout(device: device, mvpd: mvpd, redirectURL: redirect).bytes, to: out)
    }
}

// MARK: - Logs

public typealias LogCallbackC = @convention(c) (UnsafeMutableRawPointer?, Int32, UnsafePointer<CChar>?) -> Void

/// The caller's log callback and its user_data, carried to whichever thread logs.
private struct CLogCallback: @unchecked Sendable {
    let function: LogCallbackC
    let userData: UnsafeMutableRawPointer?
}

@_cdecl("passauth_set_log_callback")
public func passauth_set_log_callback(_ handle: OpaquePointer?, _ callback: LogCallbackC?, _ userData: UnsafeMutableRawPointer?) -> Int32 {
    Bridge.run { () throws(PassAuthError) in
        let client = try Bridge.client(handle)
        guard let callback else { return client.routeLogs(to: nil) }
        let target = CLogCallback(function: callback, userData: userData)
        client.routeLogs(to: { level, line in line.withCString { target.function(target.userData, level.rank, $0) } })
    }
}

// MARK: - Reading results (JSON Pointers)

@_cdecl("passauth_json_get_string")
public func passauth_json_get_string(_ json: CString?, _ pointer: CString?, _ out: OutString?) -> Int32 {
    Bridge.run { () throws(PassAuthError) in
        let (document, path) = try Bridge.pointerArguments(json, pointer)
        let out = try Bridge.requireOut(out, "out")
        try Bridge.give(JSONPointer.string(in: document, at: path), to: out)
    }
}

@_cdecl("passauth_json_get_bool")
public func passauth_json_get_bool(_ json: CString?, _ pointer: CString?, _ out: UnsafeMutablePointer<Int32>?) -> Int32 {
    Bridge.run { () throws(PassAuthError) in
        let (document, path) = try Bridge.pointerArguments(json, pointer)
        let out = try Bridge.requireOut(out, "out")
        out.pointee = try JSONPointer.bool(in: document, at: path) ? 1 : 0
    }
}

@_cdecl("passauth_json_get_int64")
public func passauth_json_get_int64(_ json: CString?, _ pointer: CString?, _ out: UnsafeMutablePointer<Int64>?) -> Int32 {
    Bridge.run { () throws(PassAuthError) in
        let (document, path) = try Bridge.pointerArguments(json, pointer)
        let out = try Bridge.requireOut(out, "out")
        out.pointee = try JSONPointer.int64(in: document, at: path)
    }
}

@_cdecl("passauth_json_get_double")
public func passauth_json_get_double(_ json: CString?, _ pointer: CString?, _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    Bridge.run { () throws(PassAuthError) in
        let (document, path) = try Bridge.pointerArguments(json, pointer)
        let out = try Bridge.requireOut(out, "out")
        out.pointee = try JSONPointer.double(in: document, at: path)
    }
}

@_cdecl("passauth_json_get_key")
public func passauth_json_get_key(_ json: CString?, _ pointer: CString?, _ index: Int, _ out: OutString?) -> Int32 {
    Bridge.run { () throws(PassAuthError) in
        let (document, path) = try Bridge.pointerArguments(json, pointer)
        let out = try Bridge.requireOut(out, "out")
        try Bridge.give(JSONPointer.key(in: document, at: path, index: index), to: out)
    }
}

@_cdecl("passauth_json_count")
public func passauth_json_count(_ json: CString?, _ pointer: CString?, _ out: UnsafeMutablePointer<Int>?) -> Int32 {
    Bridge.run { () throws(PassAuthError) in
        let (document, path) = try Bridge.pointerArguments(json, pointer)
        let out = try Bridge.requireOut(out, "out")
        out.pointee = try JSONPointer.count(in: document, at: path)
    }
}

// MARK: - QR codes

@_cdecl("passauth_qr_code")
public func passauth_qr_code(_ text: CString?, _ out: OutString?) -> Int32 {
    Bridge.run { () throws(PassAuthError) in
        let out = try Bridge.requireOut(out, "out_json")
        try Bridge.give(QRCode.matrix(of: Bridge.string(text, "text")), to: out)
    }
}
