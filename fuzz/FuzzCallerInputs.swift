// libFuzzer target over every decoder of caller input (issue 11), compiled like FuzzResponses.swift
// (core sources + this file, one module, `swiftc -sanitize=fuzzer,address`), so coverage guides the
// mutations through the Swift validators themselves. The input is handled as the C ABI's Bridge does
// (a C string: up to the first NUL, UTF-8 validated, then JSON.parse) and handed to each decoder of
// a JSON input: config_json, device_json (and the device headers it produces), params_json (sessions
// and partner SSO), resources_json, filter_json, options_json, profiles_json (ProfilePicker); the raw
// text also goes in as a code and as a path segment. fuzz/fuzz_json_inputs.c covers the same inputs
// through the exported C functions of the built library.
import Glibc

private func env(_ name: String) -> String? { nil }

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCaller(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let upToNul = Array(UnsafeBufferPointer(start: data, count: size).prefix { $0 != 0 })
    guard let text = String(validating: upToNul, as: UTF8.self) else { return 0 }

    _ = try? AuthenticationCode.validated(text)
    let segment = URLEncoding.segment(text)
    if segment.contains(Character("/")) || segment.contains(Character("?")) || segment.contains(Character("#")) { fatalError("segment escaped: \(segment)") }
    _ = HTTPDate.milliseconds(text)
    _ = ResponseErrors.retryAfterMs(text, date: nil, clock: nil)
    if let tokens = try? JSONPointer.referenceTokens(text) { _ = tokens.count }
    _ = text.withCString { try? JSONPointer.count(in: $0, at: "/a/0") }

    guard let json = try? JSON.parse(text) else { return 0 }
    _ = try? ClientSettings(json: json, environmentVariables: env)
    if let device = try? Device(json: json) {
        for endpoint in Endpoint.allCases {
            for line in device.headerLines(for: endpoint, hostInfo: true) {
                if line.unicodeScalars.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\0" }) {
                    fatalError("a header line of \(endpoint.name) carries CR/LF/NUL")
                }
            }
        }
        _ = DeviceInfo.problems(device.info ?? json)
    }
    _ = try? SessionParameters(json: json)
    _ = try? PartnerSessionParameters(json: json)
    _ = try? PartnerProfileParameters(json: json)
    _ = try? Decisions.resources(json)
    _ = try? MVPDFilter(json: json)
    _ = try? PollOptions(json: json)
    _ = try? ProfilePicker.longestValid(json)
    _ = normalizingTimestamps(json).serialized()
    return 0
}
