/// The configuration phase: the MVPD list (cached in memory for a few minutes, as the checklist
/// recommends), a filter for pickers, and the user's persisted MVPD selection.
extension Client {
    /// `GET /api/v2/{serviceProvider}/configuration`, served from the cache while it is fresh. The answer
    /// depends on the platform (the FAQ: configuration per platform type), so devices are cached by
    /// the X-Device-Info fields that describe it, not by their ids or addresses.
    package func configuration(device: Device) throws(PassAuthError) -> Answer {
        let key = DeviceInfo.platformKey(device.info)
        let now = Clock.monotonicMs()
        if let cached = configurationCache.lookup(key, now: now) {
            stats.cacheHits.add()
            return cached
        }
        let answer = try service.call(.configuration, device: device)
        if config.configurationCacheMs > 0 {
            configurationCache.insert(key, answer, expiresAt: now + Int64(config.configurationCacheMs))
        }
        return answer
    }

    /// The MVPDs of the configuration that pass `filter` (see MVPDFilter), as `{"mvpds": [...]}`.
    package func mvpds(device: Device, filter: MVPDFilter) throws(PassAuthError) -> JSON {
        let all = try configuration(device: device).node["requestor"]?["mvpds"]?.elements ?? []
        return ["mvpds": .array(all.map(\.json).filter(filter.accepts))]
    }

    /// Remembers the user's TV provider choice for `device` (checklist: id, displayName, logoUrl), in
    /// the device's own key: concurrent writers never lose a write.
    package func selectMVPD(device: Device, mvpd: JSON) throws(PassAuthError) {
        guard let id = mvpd["id"]?.stringValue, !id.isEmpty else {
            throw .invalid("mvpd_json must be an object with a non-empty string 'id'", key: "mvpd_json.id")
        }
        var selection: [(String, JSON)] = [("id", .string(id))]
        for key in ["displayName", "logoUrl"] {
            guard let value = mvpd[key] else { continue }
            guard let text = value.stringValue else { throw .invalid("mvpd_json.\(key) must be a string", key: "mvpd_json.\(key)") }
            selection.append((key, .string(text)))
        }
        try state.setMVPD(device: device.stateKey(for: "passauth_mvpd_select"), .object(selection))
    }

    /// The stored selection for `device`, or PASSAUTH_E_NOT_FOUND. No lock.
    package func selectedMVPD(device: Device) throws(PassAuthError) -> JSON {
        guard let selection = try state.mvpd(device: device.stateKey(for: "passauth_mvpd_selected")) else {
            throw PassAuthError(.notFound, "no TV provider was selected for this device yet")
        }
        return selection
    }
}

/// Which MVPDs a picker shows. JSON form (`filter_json`): `{"tempPass": false, "proxy": true,
/// "exclude": ["TestMVPD"], "search": "spec"}` — all keys optional.
package struct MVPDFilter: Sendable {
    /// Include TempPass MVPDs (`isTempPass`); default true.
    var tempPass = true
    /// Include proxied MVPDs (`isProxy`); default true.
    var proxy = true
    /// MVPD ids to leave out (test MVPDs, for example).
    var exclude: Set<String> = []
    /// Case-insensitive substring of id or displayName.
    var search: String?

    package init(json: JSON?) throws(PassAuthError) {
        guard let json else { return }
        guard case .object(let members) = json else { throw .invalid("filter_json must be an object", key: "filter_json") }
        for (key, value) in members {
            switch key {
            case "tempPass", "proxy":
                guard let flag = value.boolValue else { throw .invalid("filter_json.\(key) must be a boolean", key: "filter_json.\(key)") }
                if key == "tempPass" { tempPass = flag } else { proxy = flag }
            case "exclude":
                guard let items = value.arrayValue, items.allSatisfy({ $0.stringValue != nil }) else {
                    throw .invalid("filter_json.exclude must be an array of strings", key: "filter_json.exclude")
                }
                exclude = Set(items.compactMap(\.stringValue))
            case "search":
                guard let text = value.stringValue else { throw .invalid("filter_json.search must be a string", key: "filter_json.search") }
                search = text.lowercased()
            default:
                throw .invalid("unknown key 'filter_json.\(key)' (expected tempPass, proxy, exclude, search)", key: "filter_json.\(key)")
            }
        }
    }

    func accepts(_ mvpd: JSON) -> Bool {
        let id = mvpd["id"]?.stringValue ?? ""
        if !tempPass && mvpd["isTempPass"]?.boolValue == true { return false }
        if !proxy && mvpd["isProxy"]?.boolValue == true { return false }
        if exclude.contains(id) { return false }
        if let search {
            let name = mvpd["displayName"]?.stringValue ?? ""
            return id.lowercased().containsBytes(search) || name.lowercased().containsBytes(search)
        }
        return true
    }
}
