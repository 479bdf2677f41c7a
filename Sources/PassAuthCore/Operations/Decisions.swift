/// The Decisions APIs: preauthorization (content filtering only, permits cached in memory) and
/// authorization (before every playback; the media token is handed back and never cached or logged).
/// A denied resource is a normal decision carrying its item-level enhanced error, not a failure.
extension Client {
    /// `POST /api/v2/{sp}/decisions/preauthorize/{mvpd}`, in requests of at most
    /// `config.preauthorizeBatchSize` resources, answers merged in the caller's order. Permits still
    /// valid in the cache are answered without a request. Never a playback decision (checklist).
    public func preauthorize(device: Device, mvpd: String, resources: JSON) throws(PassAuthError) -> JSON {
        let list = try Decisions.resources(resources)
        try Decisions.checkMVPD(mvpd)
        let deviceKey = device.decisionKey
        var answers = [JSON?](repeating: nil, count: list.count)
        var missing: [Int] = []
        for (index, resource) in list.enumerated() {
            if let cached = decisionCache.lookup(.init(device: deviceKey, mvpd: mvpd, resource: resource)) {
                stats.cacheHits.add()
                answers[index] = cached
            } else {
                missing.append(index)
            }
        }
        let batchSize = config.preauthorizeBatchSize
        for start in stride(from: 0, to: missing.count, by: batchSize) {
            let batch = Array(missing[start..<min(start + batchSize, missing.count)])
            let decisions = try Decisions.request(self, kind: "preauthorize", device: device, mvpd: mvpd,
                                                  resources: batch.map { list[$0] })
            for (index, decision) in zip(batch, decisions) {
                answers[index] = decision
                decisionCache.storePermit(decision, for: .init(device: deviceKey, mvpd: mvpd, resource: list[index]))
            }
        }
        return ["decisions": .array(answers.compactMap { $0 })]
    }

    /// `POST /api/v2/{sp}/decisions/authorize/{mvpd}`: one request, never cached. Each permit carries
    /// its media token; the token is remembered by the redactor so no log or error can show it.
    public func authorize(device: Device, mvpd: String, resources: JSON) throws(PassAuthError) -> JSON {
        let list = try Decisions.resources(resources)
        try Decisions.checkMVPD(mvpd)
        let decisions = try Decisions.request(self, kind: "authorize", device: device, mvpd: mvpd, resources: list)
        return ["decisions": .array(decisions)]
    }
}

enum Decisions {
    /// `resources_json`: a non-empty array of non-empty strings (resource ids or MRSS, passed through).
    static func resources(_ json: JSON) throws(PassAuthError) -> [String] {
        guard case .array(let items) = json else {
            throw .invalid("resources must be a JSON array of resource ids, got \(json.typeName)", key: "resources")
        }
        guard !items.isEmpty else { throw .invalid("resources must not be empty", key: "resources") }
        var list: [String] = []
        list.reserveCapacity(items.count)
        for (index, item) in items.enumerated() {
            guard let text = item.stringValue else {
                throw .invalid("resources[\(index)] must be a string, got \(item.typeName)", key: "resources")
            }
            guard !text.isEmpty else { throw .invalid("resources[\(index)] must not be empty", key: "resources") }
            list.append(text)
        }
        return list
    }

    static func checkMVPD(_ mvpd: String) throws(PassAuthError) {
        guard !mvpd.isEmpty else { throw .invalid("mvpd must not be empty", key: "mvpd") }
    }

    /// One request; the decisions it answers, normalised, one per resource in the order asked.
    static func request(_ client: Client, kind: String, device: Device, mvpd: String,
                        resources: [String]) throws(PassAuthError) -> [JSON] {
        let endpoint = "decisions.\(kind)"
        let operation = Operation(
            method: "POST",
            path: "/api/v2/\(client.serviceProviderSegment)/decisions/\(kind)/\(URLEncoding.segment(mvpd))",
            json: ["resources": .array(resources.map(JSON.string))], endpoint: endpoint)
        let document = try client.service.call(operation, device: device)
        guard let decisions = document["decisions"]?.arrayValue else {
            throw malformed(endpoint, "the response has no \"decisions\" array")
        }
        for decision in decisions {
            guard case .object = decision, decision["authorized"]?.boolValue != nil else {
                throw malformed(endpoint, "a decision is not an object with a boolean \"authorized\"")
            }
            client.redactor.rememberRecent(decision["token"]?["serializedToken"]?.stringValue)
        }
        return try ordered(decisions.map(normalizingTimestamps), for: resources, endpoint: endpoint)
    }

    /// The service answers in the order asked; when the counts differ, match by resource id (the
    /// samples show ids echoed with stray whitespace, so compare trimmed).
    static func ordered(_ decisions: [JSON], for resources: [String], endpoint: String) throws(PassAuthError) -> [JSON] {
        if decisions.count == resources.count { return decisions }
        func trimmed(_ text: String?) -> String? { text?.trimmingCharacters(in: " \t\r\n") }
        var result: [JSON] = []
        for resource in resources {
            guard let match = decisions.first(where: { trimmed($0["resource"]?.stringValue) == trimmed(resource) }) else {
                throw malformed(endpoint, "no decision for one of the requested resources (\(decisions.count) decisions for \(resources.count) resources)")
            }
            result.append(match)
        }
        return result
    }

    static func malformed(_ endpoint: String, _ message: String) -> PassAuthError {
        var error = PassAuthError(.protocol, "\(endpoint): \(message)")
        error.endpoint = endpoint
        return error
    }
}
