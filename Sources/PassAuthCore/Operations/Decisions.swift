import CJansson

/// The Decisions APIs: preauthorization (content filtering only, permits cached in memory) and
/// authorization (before every playback; the media token is handed back and never cached or logged).
/// A denied resource is a normal decision carrying its item-level enhanced error, not a failure.
///
/// Adobe answers 403 too_many_resources above its per-request limit ("usually up to 1" for
/// authorization, 5 for preauthorization): lists are split into requests of "authorizeBatchSize" /
/// "preauthorizeBatchSize" resources, sent side by side (at most `maxConcurrentRequests` at once), and
/// their decisions merged in the caller's order, matched by resource id whatever order the service
/// used. Items the service marks with action "retry" are requested again, alone, within the call's
/// three attempts (the enhanced error codes page, "Response handling").
extension Client {
    static let maxConcurrentRequests = 4

    /// `POST /api/v2/{sp}/decisions/preauthorize/{mvpd}`. Permits still valid in the cache are answered
    /// without a request. Never a playback decision (checklist).
    package func preauthorize(device: Device, mvpd: String, resources: JSON) throws(PassAuthError) -> Answer {
        try preauthorize(device: device, mvpd: mvpd, resources: Decisions.resources(resources))
    }

    package func preauthorize(device: Device, mvpd: String, resources list: [String]) throws(PassAuthError) -> Answer {
        try Decisions.checkMVPD(mvpd)
        _ = try device.stateKey(for: Endpoint.preauthorize.name)  // cached permits are per device too
        let scope = DecisionCache.Scope(device: device.decisionKey, mvpd: mvpd)
        var texts = decisionCache.lookup(scope, list, now: clock.nowMs())
        let missing = texts.indices.filter { texts[$0] == nil }
        stats.cacheHits.add(list.count - missing.count)
        guard !missing.isEmpty else { return Answer(text: Decisions.document(texts.map { $0! })) }
        let fresh = try decide(.preauthorize, device: device, mvpd: mvpd, resources: missing.map { list[$0] },
                               batchSize: config.preauthorizeBatchSize)
        let stamp = clock.nowMs()
        decisionCache.storePermits(zip(missing, fresh.decisions).map { index, node in (node, list[index]) }, in: scope, now: stamp)
        // One request answered everything in order: hand its bytes through.
        if missing.count == list.count, let whole = fresh.whole { return whole }
        for (index, node) in zip(missing, fresh.decisions) { texts[index] = node.raw.compactText() }
        return Answer(text: Decisions.document(texts.map { $0 ?? [] }))
    }

    /// `POST /api/v2/{sp}/decisions/authorize/{mvpd}`: never cached. Each permit's media token is
    /// remembered by the redactor so no log or error can show it. A permit refreshes the device's
    /// stored profile for the MVPD in the background (attributes may change at authorization).
    package func authorize(device: Device, mvpd: String, resources: JSON) throws(PassAuthError) -> Answer {
        try authorize(device: device, mvpd: mvpd, resources: Decisions.resources(resources))
    }

    package func authorize(device: Device, mvpd: String, resources list: [String]) throws(PassAuthError) -> Answer {
        try Decisions.checkMVPD(mvpd)
        let outcome = try decide(.authorize, device: device, mvpd: mvpd, resources: list, batchSize: config.authorizeBatchSize)
        if outcome.decisions.contains(where: { $0["authorized"]?.bool == true }) { refreshProfileLater(device: device, mvpd: mvpd) }
        if let whole = outcome.whole { return whole }
        return Answer(text: Decisions.document(outcome.decisions.map { $0.raw.compactText() }))
    }

    /// The decisions for `resources`, one per resource in order, from requests of `batchSize`. `whole`
    /// is the single answer when one request answered every resource in order (nothing to merge).
    private func decide(_ endpoint: Endpoint, device: Device, mvpd: String, resources: [String],
                        batchSize: Int) throws(PassAuthError) -> (decisions: [JSONNode], whole: Answer?) {
        let batches = stride(from: 0, to: resources.count, by: batchSize).map { Array(resources[$0..<min($0 + batchSize, resources.count)]) }
        let outcomes = Concurrently.run(batches.count, limit: Client.maxConcurrentRequests) { [self] (index) throws(PassAuthError) in
            try withProfileInvalidation(device: device, mvpd: mvpd) { () throws(PassAuthError) in
                try decideBatch(endpoint, device: device, mvpd: mvpd, resources: batches[index])
            }
        }
        var decisions: [JSONNode] = []
        var whole: Answer? = nil
        for outcome in outcomes {
            let batch = try outcome.get()
            decisions += batch.decisions
            whole = batch.whole
        }
        var profileGone: String? = nil
        for decision in decisions {
            // Media tokens become secrets now, after the answer that carried them was scrubbed.
            _ = decision["token"]?["serializedToken"]?.withStringBytes { redactor.rememberMediaToken($0) }
            if profileGone == nil, let code = decision["error"]?["code"]?.string, RetryPolicy.profileGoneCodes.contains(code) {
                profileGone = code
            }
        }
        // Once for the (device, MVPD), however many items said so.
        if let profileGone { forgetProfileEverywhere(device: device, mvpd: mvpd, because: profileGone) }
        return (decisions, batches.count == 1 ? whole : nil)
    }

    /// One batch: a request, then requests for the items marked "retry" only, at most the policy's
    /// attempts in all, within the call's time.
    private func decideBatch(_ endpoint: Endpoint, device: Device, mvpd: String,
                             resources: [String]) throws(PassAuthError) -> (decisions: [JSONNode], whole: Answer?) {
        let policy = service.policy
        let deadline = Clock.monotonicMs() + Int64(config.timeoutMs)
        var final = [JSONNode?](repeating: nil, count: resources.count)
        var pending = Array(resources.indices)
        var whole: Answer? = nil
        var attempt = 0
        while !pending.isEmpty {
            attempt += 1
            let asked = pending.map { resources[$0] }
            let answer = try service.call(endpoint, argument: mvpd, body: .json(Decisions.body(asked)), device: device)
            let decisions = try Decisions.matched(answer.node["decisions"]?.elements ?? [], to: asked, endpoint: endpoint)
            if attempt == 1 { whole = decisions.inOrder && pending.count == resources.count ? answer : nil }
            var retry: [Int] = []
            for (slot, decision) in zip(pending, decisions.nodes) {
                let wantsRetry = decision["error"]?["action"]?.string == "retry"
                if wantsRetry && attempt < policy.maxAttempts {
                    retry.append(slot)
                } else {
                    final[slot] = decision
                }
            }
            guard !retry.isEmpty else { break }
            whole = nil
            let delay = policy.backoffMs(afterAttempt: attempt)
            guard Int64(delay) < deadline - Clock.monotonicMs() else {
                // No time for another attempt: the items keep their "retry" decisions.
                for slot in retry { final[slot] = decisions.nodes[pending.firstIndex(of: slot)!] }
                break
            }
            stats.retries.add()
            logger.log(.info, "\(endpoint.name) for device \(device.id ?? "-"): \(retry.count) item(s) marked retry; asking again in \(delay) ms")
            Clock.sleep(ms: Int64(delay))
            pending = retry
        }
        return (final.map { $0! }, whole)
    }
}

package enum Decisions {
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

    /// `resources_json` as the caller's text, read with jansson (the same rules as `resources(_:)`).
    package static func resources(text: UnsafePointer<CChar>) throws(PassAuthError) -> [String] {
        if let plain = plainResources(text) { return plain }
        var error = json_error_t()
        guard let root = json_loads(text, Int(JSON_REJECT_DUPLICATES | JSON_DECODE_ANY), &error) else {
            let reason = withUnsafeBytes(of: &error.text) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            throw .invalid("resources_json is not a JSON document: \(reason) (line \(error.line), column \(error.column))", key: "resources_json")
        }
        defer { passauth_json_decref(root) }
        guard root.isArray else { throw .invalid("resources must be a JSON array of resource ids, got \(JSONNode.typeName(root))", key: "resources") }
        guard root.count > 0 else { throw .invalid("resources must not be empty", key: "resources") }
        var list: [String] = []
        list.reserveCapacity(root.count)
        for index in 0..<root.count {
            guard let item = root.element(index), let text = item.string else {
                throw .invalid("resources[\(index)] must be a string, got \(root.element(index).map(JSONNode.typeName) ?? "null")", key: "resources")
            }
            guard !text.isEmpty else { throw .invalid("resources[\(index)] must not be empty", key: "resources") }
            list.append(text)
        }
        return list
    }

    /// The common `["id", ...]`: a non-empty array of non-empty strings of printable ASCII without
    /// escapes, read in one pass. Anything else (nil) is read by jansson, whose rules and messages apply.
    static func plainResources(_ text: UnsafePointer<CChar>) -> [String]? {
        var list: [String] = []
        var at = UnsafeRawPointer(text).assumingMemoryBound(to: UInt8.self)
        func skipSpace() { while at.pointee == 0x20 || at.pointee == 0x09 || at.pointee == 0x0A || at.pointee == 0x0D { at += 1 } }
        skipSpace()
        guard at.pointee == UInt8(ascii: "[") else { return nil }
        at += 1
        while true {
            skipSpace()
            guard at.pointee == UInt8(ascii: "\"") else { return nil }
            at += 1
            let start = at
            while at.pointee >= 0x20 && at.pointee < 0x7F && at.pointee != UInt8(ascii: "\"") && at.pointee != UInt8(ascii: "\\") { at += 1 }
            guard at.pointee == UInt8(ascii: "\""), at > start else { return nil }
            list.append(String(decoding: UnsafeBufferPointer(start: start, count: at - start), as: UTF8.self))
            at += 1
            skipSpace()
            if at.pointee == UInt8(ascii: ",") { at += 1; continue }
            guard at.pointee == UInt8(ascii: "]") else { return nil }
            at += 1
            skipSpace()
            return at.pointee == 0 ? list : nil
        }
    }

    static func checkMVPD(_ mvpd: String) throws(PassAuthError) {
        guard !mvpd.isEmpty else { throw .invalid("mvpd must not be empty", key: "mvpd") }
    }

    /// `{"resources": [...]}`, the decisions request body.
    static func body(_ resources: [String]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(resources.reduce(16) { $0 + $1.utf8.count + 3 })
        out.append(contentsOf: #"{"resources":["#.utf8)
        for (index, resource) in resources.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            var resource = resource
            resource.withUTF8 { bytes in
                // Resource ids are plain ASCII: nothing to escape.
                if bytes.allSatisfy({ $0 >= 0x20 && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }) {
                    out.append(UInt8(ascii: "\""))
                    out.append(contentsOf: bytes)
                    out.append(UInt8(ascii: "\""))
                } else {
                    out.append(contentsOf: JSON.quoted(String(decoding: bytes, as: UTF8.self)).utf8)
                }
            }
        }
        out.append(contentsOf: "]}".utf8)
        return out
    }

    /// `{"decisions": [...]}` from decision texts.
    static func document(_ decisions: [[UInt8]]) -> [UInt8] {
        let open: StaticString = "{\"decisions\":[", close: StaticString = "]}"
        var out: [UInt8] = []
        out.reserveCapacity(open.utf8CodeUnitCount + close.utf8CodeUnitCount + decisions.reduce(decisions.count) { $0 + $1.count })
        out.append(contentsOf: UnsafeBufferPointer(start: open.utf8Start, count: open.utf8CodeUnitCount))
        for (index, decision) in decisions.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: decision)
        }
        out.append(contentsOf: UnsafeBufferPointer(start: close.utf8Start, count: close.utf8CodeUnitCount))
        return out
    }

    /// The decision for each asked resource, matched by resource id (the samples echo ids with stray
    /// whitespace, so compare trimmed), whatever order the service answered in; `inOrder` when the
    /// answer already was one decision per resource in the order asked.
    static func matched(_ decisions: [JSONNode], to asked: [String], endpoint: Endpoint) throws(PassAuthError)
        -> (nodes: [JSONNode], inOrder: Bool)
    {
        func trimmed(_ text: String?) -> String? { text?.trimmingCharacters(in: " \t\r\n") }
        // The usual answer: one decision per resource, in order, ids echoed as sent.
        if decisions.count == asked.count, zip(decisions, asked).allSatisfy({ decision, resource in
            decision.raw.member("resource").map { $0.equals(resource) } ?? true
        }) {
            return (decisions, true)
        }
        let echoed = decisions.map { $0["resource"]?.string }
        let ids = echoed.map(trimmed)
        if decisions.count == asked.count, zip(ids, asked).allSatisfy({ $0 == nil || $0 == trimmed($1) }) {
            return (decisions, true)
        }
        var nodes: [JSONNode] = []
        for resource in asked {
            guard let at = ids.firstIndex(of: trimmed(resource)) else {
                throw ResponseShape.malformed(endpoint, "no decision for one of the requested resources (\(decisions.count) decisions for \(asked.count) resources)")
            }
            nodes.append(decisions[at])
        }
        return (nodes, false)
    }
}
