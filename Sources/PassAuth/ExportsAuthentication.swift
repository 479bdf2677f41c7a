import Glibc
import PassAuthCore

// Authentication phase of the C contract: configuration helpers, sessions, profiles and polling.
// See Include/passauth.h for ownership and thread-safety of each function.

@_cdecl("passauth_mvpds")
public func passauth_mvpds(_ handle: OpaquePointer?, _ deviceJSON: CString?, _ filterJSON: CString?, _ out: OutString?) -> Int32 {
    Bridge.run { () throws(PassAuthError) in
        let client = try Bridge.client(handle)
        let out = try Bridge.requireOut(out, "out_json")
        let device = try Bridge.device(client, deviceJSON)
        let filter = try MVPDFilter(json: Bridge.optionalJSON(filterJSON, "filter_json"))
        try Bridge.give(client.mvpds(device: device, filter: filter).serialized(), to: out)
    }
}

@_cdecl("passauth_mvpd_select")
public func passauth_mvpd_select(_ handle: OpaquePointer?, _ deviceJSON: CString?, _ mvpdJSON: CString?) -> Int32 {
    Bridge.run { () throws(PassAuthError) in
        let client = try Bridge.client(handle)
        let device = try Bridge.device(client, deviceJSON)
        try client.selectMVPD(device: device, mvpd: Bridge.json(mvpdJSON, "mvpd_json"))
    }
}

@_cdecl("passauth_mvpd_selected")
public func passauth_mvpd_selected(_ handle: OpaquePointer?, _ deviceJSON: CString?, _ out: OutString?) -> Int32 {
    Bridge.run { () throws(PassAuthError) in
        let client = try Bridge.client(handle)
        let out = try Bridge.requireOut(out, "out_json")
        try Bridge.give(client.selectedMVPD(device: Bridge.device(client, deviceJSON)).serialized(), to: out)
    }
}

@_cdecl("passauth_session_create")
public func passauth_session_create(_ handle: OpaquePointer?, _ deviceJSON: CString?, _ paramsJSON: CString?, _ out: OutString?) -> Int32 {
    Bridge.run { () throws(PassAuthError) in
        let client = try Bridge.client(handle)
        let out = try Bridge.requireOut(out, "out_json")
        let device = try Bridge.device(client, deviceJSON)
        let parameters = try SessionParameters(json: Bridge.optionalJSON(paramsJSON, "params_json"))
        try Bridge.give(bytes: client.createSession(device: device, parameters: parameters).bytes, to: out)
    }
}

@_cdecl("passauth_session_resume")
public func passauth_session_resume(_ handle: OpaquePointer?, _ deviceJSON: CString?, _ code: CString?, _ paramsJSON: CString?,
                                    _ out: OutString?) -> Int32 {
    Bridge.run { () throws(PassAuthError) in
        let client = try Bridge.client(handle)
        let out = try Bridge.requireOut(out, "out_json")
        let device = try Bridge.device(client, deviceJSON)
        let code = try Bridge.string(code, "code")
        let parameters = try SessionParameters(json: Bridge.optionalJSON(paramsJSON, "params_json"))
        try Bridge.give(bytes: client.resumeSession(device: device, code: code, parameters: parameters).bytes, to: out)
    }
}

@_cdecl("passauth_session_get")
public func passauth_session_get(_ handle: OpaquePointer?, _ deviceJSON: CString?, _ code: CString?, _ out: OutString?) -> Int32 {
    Bridge.run { () throws(PassAuthError) in
        let client = try Bridge.client(handle)
        let out = try Bridge.requireOut(out, "out_json")
        let device = try Bridge.device(client, deviceJSON)
        try Bridge.give(bytes: client.session(device: device, code: Bridge.string(code, "code")).bytes, to: out)
    }
}

@_cdecl("passauth_authenticate_url")
public func passauth_authenticate_url(_ handle: OpaquePointer?, _ code: CString?, _ out: OutString?) -> Int32 {
    Bridge.run { () throws(PassAuthError) in
        let client = try Bridge.client(handle)
        let out = try Bridge.requireOut(out, "out_url")
        try Bridge.give(client.authenticateURL(code: Bridge.string(code, "code")), to: out)
    }
}

@_cdecl("passauth_profiles")
public func passauth_profiles(_ handle: OpaquePointer?, _ deviceJSON: CString?, _ out: OutString?) -> Int32 {
    Bridge.run { () throws(PassAuthError) in
        let client = try Bridge.client(handle)
        let out = try Bridge.requireOut(out, "out_json")
        try Bridge.give(bytes: client.profiles(device: Bridge.device(client, deviceJSON)).bytes, to: out)
    }
}

@_cdecl("passauth_profile_for_mvpd")
public func passauth_profile_for_mvpd(_ handle: OpaquePointer?, _ deviceJSON: CString?, _ mvpd: CString?, _ out: OutString?) -> Int32 {
    Bridge.run { () throws(PassAuthError) in
        let client = try Bridge.client(handle)
        let out = try Bridge.requireOut(out, "out_json")
        let device = try Bridge.device(client, deviceJSON)
        try Bridge.give(bytes: client.profile(device: device, mvpd: Bridge.string(mvpd, "mvpd")).bytes, to: out)
    }
}

@_cdecl("passauth_profile_for_code")
public func passauth_profile_for_code(_ handle: OpaquePointer?, _ deviceJSON: CString?, _ code: CString?, _ out: OutString?) -> Int32 {
    Bridge.run { () throws(PassAuthError) in
        let client = try Bridge.client(handle)
        let out = try Bridge.requireOut(out, "out_json")
        let device = try Bridge.device(client, deviceJSON)
        try Bridge.give(bytes: client.profile(device: device, code: Bridge.string(code, "code")).bytes, to: out)
    }
}

@_cdecl("passauth_profiles_stored")
public func passauth_profiles_stored(_ handle: OpaquePointer?, _ deviceJSON: CString?, _ out: OutString?) -> Int32 {
    Bridge.run { () throws(PassAuthError) in
        let client = try Bridge.client(handle)
        let out = try Bridge.requireOut(out, "out_json")
        try Bridge.give(client.storedProfiles(device: Bridge.device(client, deviceJSON)).serialized(), to: out)
    }
}

@_cdecl("passauth_profile_pick_for")
public func passauth_profile_pick_for(_ handle: OpaquePointer?, _ profilesJSON: CString?, _ out: OutString?) -> Int32 {
    Bridge.run { () throws(PassAuthError) in
        let client = try Bridge.client(handle)
        let out = try Bridge.requireOut(out, "out_json")
        let profiles = try Bridge.json(profilesJSON, "profiles_json")
        try Bridge.give(ProfilePicker.longestValid(profiles, now: client.clock.nowMs()).serialized(), to: out)
    }
}

@_cdecl("passauth_profile_pick")
public func passauth_profile_pick(_ profilesJSON: CString?, _ out: OutString?) -> Int32 {
    Bridge.run { () throws(PassAuthError) in
        let out = try Bridge.requireOut(out, "out_json")
        try Bridge.give(ProfilePicker.longestValid(Bridge.json(profilesJSON, "profiles_json")).serialized(), to: out)
    }
}

// MARK: - Polling

public typealias PollCallbackC = @convention(c) (UnsafeMutableRawPointer?, Int32, UnsafePointer<CChar>?) -> Void

/// The caller's callback and its user_data, carried to a poller thread.
private struct CCallback: @unchecked Sendable {
    let function: PollCallbackC
    let userData: UnsafeMutableRawPointer?

    func deliver(_ outcome: PollOutcome) {
        var text = outcome.result?.bytes ?? Array((outcome.error?.asJSON.serialized() ?? "{}").utf8)
        text.append(0)
        text.withUnsafeBufferPointer { $0.withMemoryRebound(to: CChar.self) { function(userData, outcome.status.rawValue, $0.baseAddress) } }
    }
}

@_cdecl("passauth_poll_start")
public func passauth_poll_start(_ handle: OpaquePointer?, _ deviceJSON: CString?, _ code: CString?, _ optionsJSON: CString?,
                                _ callback: PollCallbackC?, _ userData: UnsafeMutableRawPointer?,
                                _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    Bridge.run { () throws(PassAuthError) in
        let client = try Bridge.client(handle)
        let out = try Bridge.requireOut(out, "out")
        let device = try Bridge.device(client, deviceJSON)
        let options = try PollOptions(json: Bridge.optionalJSON(optionsJSON, "options_json"))
        let code = try Bridge.string(code, "code")
        var deliver: PollCallback? = nil
        if let callback {
            let carrier = CCallback(function: callback, userData: userData)
            deliver = { outcome in carrier.deliver(outcome) }
        }
        let poll = try client.poll(device: device, code: code, options: options, callback: deliver)
        out.pointee = OpaquePointer(Unmanaged.passRetained(poll).toOpaque())
    }
}

@_cdecl("passauth_poll_wait")
public func passauth_poll_wait(_ handle: OpaquePointer?, _ timeoutMs: Int32, _ out: OutString?) -> Int32 {
    Bridge.run { () throws(PassAuthError) in
        guard let handle else { throw .invalid("poll must not be NULL", key: "poll") }
        let poll = Unmanaged<Poll>.fromOpaque(UnsafeRawPointer(handle)).takeUnretainedValue()
        // PASSAUTH_PENDING is not a failure: the last error is left as it is.
        guard let outcome = poll.wait(timeoutMs: Int(timeoutMs)) else { throw PassAuthError(.pending, "the poll goes on") }
        if let error = outcome.error { throw error }
        if let out, let result = outcome.result { try Bridge.give(bytes: result.bytes, to: out) }
    }
}

@_cdecl("passauth_poll_info")
public func passauth_poll_info(_ handle: OpaquePointer?, _ out: OutString?) -> Int32 {
    Bridge.run { () throws(PassAuthError) in
        guard let handle else { throw .invalid("poll must not be NULL", key: "poll") }
        let out = try Bridge.requireOut(out, "out_json")
        try Bridge.give(Unmanaged<Poll>.fromOpaque(UnsafeRawPointer(handle)).takeUnretainedValue().info.serialized(), to: out)
    }
}

@_cdecl("passauth_poll_cancel")
public func passauth_poll_cancel(_ handle: OpaquePointer?) {
    guard let handle else { return }
    Unmanaged<Poll>.fromOpaque(UnsafeRawPointer(handle)).takeUnretainedValue().cancel()
}

@_cdecl("passauth_poll_free")
public func passauth_poll_free(_ handle: OpaquePointer?) {
    guard let handle else { return }
    let unmanaged = Unmanaged<Poll>.fromOpaque(UnsafeRawPointer(handle))
    unmanaged.takeUnretainedValue().release()
    unmanaged.release()
}

@_cdecl("passauth_session_partner_sso")
public func passauth_session_partner_sso(_ handle: OpaquePointer?, _ deviceJSON: CString?, _ partner: CString?, _ paramsJSON: CString?,
                                         _ out: OutString?) -> Int32 {
    Bridge.run { () throws(PassAuthError) in
        let client = try Bridge.client(handle)
        let out = try Bridge.requireOut(out, "out_json")
        let device = try Bridge.device(client, deviceJSON)
        let partner = try Bridge.string(partner, "partner")
        let parameters = try PartnerSessionParameters(json: Bridge.optionalJSON(paramsJSON, "params_json"))
        try Bridge.give(bytes: client.partnerSSOSession(device: device, partner: partner, parameters: parameters).bytes, to: out)
    }
}

@_cdecl("passauth_profile_partner_sso")
public func passauth_profile_partner_sso(_ handle: OpaquePointer?, _ deviceJSON: CString?, _ partner: CString?, _ paramsJSON: CString?,
                                         _ out: OutString?) -> Int32 {
    Bridge.run { () throws(PassAuthError) in
        let client = try Bridge.client(handle)
        let out = try Bridge.requireOut(out, "out_json")
        let device = try Bridge.device(client, deviceJSON)
        let partner = try Bridge.string(partner, "partner")
        let parameters = try PartnerProfileParameters(json: Bridge.optionalJSON(paramsJSON, "params_json"))
        try Bridge.give(bytes: client.partnerSSOProfile(device: device, partner: partner, parameters: parameters).bytes, to: out)
    }
}
