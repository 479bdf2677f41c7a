/// `options_json` of passauth_poll_start: `{"intervalMs": 4000, "timeoutMs": 600000, "notAfter": <ms>}`,
/// every key optional. intervalMs below 3000 is raised to 3000 (the checklist's floor); notAfter is
/// the code's expiry from the session answer, when the caller has it.
package struct PollOptions: Sendable {
    package var intervalMs: Int?
    package var timeoutMs: Int?
    package var notAfter: Int64?

    package init(json: JSON?) throws(PassAuthError) {
        guard let json else { return }
        guard case .object(let members) = json else { throw .invalid("options_json must be an object", key: "options_json") }
        for (key, value) in members {
            guard let number = value.int64Value, number >= 0 else {
                throw .invalid("options_json.\(key) must be a non-negative integer", key: "options_json.\(key)")
            }
            switch key {
            case "intervalMs": intervalMs = Int(clamping: min(number, 600_000))
            case "timeoutMs": timeoutMs = Int(clamping: min(number, 86_400_000))
            case "notAfter": notAfter = number
            default: throw .invalid("unknown key 'options_json.\(key)' (expected intervalMs, timeoutMs, notAfter)", key: "options_json.\(key)")
            }
        }
    }
}
