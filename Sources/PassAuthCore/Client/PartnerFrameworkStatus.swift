/// The device's `partnerFrameworkStatus`: what the partner SSO framework (Apple's Video Subscriber
/// Account) told the application, sent base64-encoded as `AP-Partner-Framework-Status`. The structure is
/// the one the header's reference page defines:
///
///     {"frameworkPermissionInfo": {"accessStatus": "granted"|"denied"|"restricted"|"notDetermined",
///                                  "error"?: {"code"?, "message"?}},
///      "frameworkProviderInfo":   {"id": "<platform mapping id>", "expirationDate": "<ms>",
///                                  "error"?: {"code"?, "message"?}}}
///
/// `id` and `expirationDate` are required when `accessStatus` is "granted" (the framework only knows the
/// provider then). `expirationDate` may be given as a number; it is sent as a string of milliseconds,
/// as the page asks. Unknown keys and wrong types are invalid arguments.
package enum PartnerFrameworkStatus {
    package static let accessStatuses = ["granted", "denied", "restricted", "notDetermined"]

    package static func validated(_ json: JSON, key path: String) throws(PassAuthError) -> JSON {
        let members = try object(json, path, allowed: ["frameworkPermissionInfo", "frameworkProviderInfo"])
        guard let permission = members.first(where: { $0.0 == "frameworkPermissionInfo" })?.1 else {
            throw .invalid("\(path).frameworkPermissionInfo is required", key: "\(path).frameworkPermissionInfo")
        }
        guard let provider = members.first(where: { $0.0 == "frameworkProviderInfo" })?.1 else {
            throw .invalid("\(path).frameworkProviderInfo is required", key: "\(path).frameworkProviderInfo")
        }
        let permissionPath = "\(path).frameworkPermissionInfo"
        var permissionOut: [(String, JSON)] = []
        var access: String? = nil
        for (key, value) in try object(permission, permissionPath, allowed: ["accessStatus", "error"]) {
            switch key {
            case "accessStatus":
                guard let text = value.stringValue, accessStatuses.contains(text) else {
                    throw .invalid("\(permissionPath).accessStatus must be one of \(accessStatuses.joined(separator: ", "))",
                                   key: "\(permissionPath).accessStatus")
                }
                access = text
                permissionOut.append((key, value))
            default:
                permissionOut.append((key, try frameworkError(value, "\(permissionPath).error")))
            }
        }
        guard access != nil else {
            throw .invalid("\(permissionPath).accessStatus is required", key: "\(permissionPath).accessStatus")
        }
        let providerPath = "\(path).frameworkProviderInfo"
        var providerOut: [(String, JSON)] = []
        for (key, value) in try object(provider, providerPath, allowed: ["id", "expirationDate", "error"]) {
            switch key {
            case "id":
                guard let text = value.stringValue, !text.isEmpty else {
                    throw .invalid("\(providerPath).id must be a non-empty string", key: "\(providerPath).id")
                }
                providerOut.append((key, value))
            case "expirationDate":
                providerOut.append((key, .string(try milliseconds(value, "\(providerPath).expirationDate"))))
            default:
                providerOut.append((key, try frameworkError(value, "\(providerPath).error")))
            }
        }
        if access == "granted" {
            for required in ["id", "expirationDate"] where !providerOut.contains(where: { $0.0 == required }) {
                throw .invalid("\(providerPath).\(required) is required when accessStatus is \"granted\"",
                               key: "\(providerPath).\(required)")
            }
        }
        return .object([("frameworkPermissionInfo", .object(permissionOut)), ("frameworkProviderInfo", .object(providerOut))])
    }

    private static func object(_ json: JSON, _ path: String, allowed: [String]) throws(PassAuthError) -> [(String, JSON)] {
        guard case .object(let members) = json else { throw .invalid("\(path) must be an object, got \(json.typeName)", key: path) }
        for (key, _) in members where !allowed.contains(key) {
            throw .invalid("unknown key '\(path).\(key)' (expected one of: \(allowed.joined(separator: ", ")))", key: "\(path).\(key)")
        }
        return members
    }

    private static func frameworkError(_ json: JSON, _ path: String) throws(PassAuthError) -> JSON {
        for (key, value) in try object(json, path, allowed: ["code", "message"]) where value.stringValue == nil {
            throw .invalid("\(path).\(key) must be a string, got \(value.typeName)", key: "\(path).\(key)")
        }
        return json
    }

    private static func milliseconds(_ json: JSON, _ path: String) throws(PassAuthError) -> String {
        switch json {
        case .int(let value) where value >= 0: return String(value)
        case .string(let text) where !text.isEmpty && text.utf8.count <= 19 && text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }):
            return text
        default:
            throw .invalid("\(path) must be a timestamp in milliseconds since the epoch (a string of digits or an integer)", key: path)
        }
    }
}

/// The device's `tempPassIdentity` for promotional TempPass: the user's identity fields (the reference
/// sample is {"email": "..."}), sent base64-encoded as `AP-TempPass-Identity`. A non-empty object whose
/// values are non-empty strings.
package enum TempPassIdentity {
    package static func validated(_ json: JSON, key path: String) throws(PassAuthError) -> JSON {
        guard case .object(let members) = json else { throw .invalid("\(path) must be an object, got \(json.typeName)", key: path) }
        guard !members.isEmpty else { throw .invalid("\(path) must name at least one identity field (e.g. \"email\")", key: path) }
        for (key, value) in members {
            guard let text = value.stringValue, !text.isEmpty else {
                throw .invalid("\(path).\(key) must be a non-empty string, got \(value.typeName)", key: "\(path).\(key)")
            }
        }
        return json
    }
}
