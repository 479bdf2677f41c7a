import CJansson

/// A service answer: the parsed document and, while nothing in it was changed, the bytes that
/// arrived, which are what the caller receives (no second printing of the same document).
package final class Answer: @unchecked Sendable {
    // Written only while one thread owns the answer (before it is cached or handed out).
    private var parsed: JSONDocument?
    private var original: [UInt8]?

    init(document: JSONDocument, original: [UInt8]?) {
        parsed = document
        self.original = original
    }

    /// Text the library assembled itself (valid JSON); parsed only if someone reads the document.
    init(text: [UInt8]) { original = text }

    package var document: JSONDocument {
        if let parsed { return parsed }
        let document = (try? JSONDocument.parse(original ?? [])) ?? JSONDocument(.null)
        parsed = document
        return document
    }

    package var node: JSONNode { document.node }

    /// Changes the document (the caller's copy is printed from it from now on).
    func edit(_ change: (JSONNode) -> Void) {
        change(document.node)
        original = nil
    }

    /// The answer as the caller receives it.
    package var bytes: [UInt8] { original ?? document.serialized() }

    package var json: JSON { document.json }

    /// A member of the answer as a Swift value (tests and cold paths; hot paths read `node`).
    package subscript(key: String) -> JSON? { json[key] }
}

/// Turns one HTTP response into the answer of an endpoint, or into a typed error: the one place that
/// decodes what the service sends, for every call (REST and DCR, blocking and polled).
///   1. The service's clock is read from the Date header (ServiceClock).
///   2. The client's own secrets (client secret, access token, software statement) are scrubbed from
///      the body, whatever field they hide in, before anything else reads it: results never carry
///      them; an error body loses every held secret, media and SSO tokens too.
///   3. Non-2xx answers become typed errors (ResponseErrors).
///   4. 2xx answers must be JSON objects of the endpoint's shape (ResponseShape); timestamps become
///      numbers of milliseconds (a value that cannot is PASSAUTH_E_PROTOCOL).
package struct ResponseDecoder: Sendable {
    let redactor: Redactor
    let stats: Stats
    let clock: ServiceClock

    func decode(_ response: HTTPResponse, endpoint: Endpoint) throws(PassAuthError) -> Answer {
        if let date = response.date { clock.observe(dateHeader: date) }
        var scrubbed = response
        let success = (200..<300).contains(response.status)
        // Answers lose the client's own secrets (but DCR answers are those credentials: a new
        // registration may hand back the secret already held); error bodies lose every secret.
        if !success {
            scrubbed.body = redactor.scrub(bytes: response.body)
        } else if !endpoint.isRegistration {
            scrubbed.body = redactor.scrubAnswer(response.body)
        }
        guard success else {
            if response.status == 429 { stats.throttled.add() }
            throw ResponseErrors.error(for: scrubbed, endpoint: endpoint.name, clock: clock)
        }
        let document: JSONDocument
        do throws(JSONError) {
            document = try JSONDocument.parse(scrubbed.body)
        } catch {
            throw ResponseShape.malformed(endpoint, "the response is not a JSON object (\(error.message))", response: scrubbed)
        }
        let changed = try document.withRoot { (root) throws(PassAuthError) -> Bool in
            guard root.isObject else {
                throw ResponseShape.malformed(endpoint, "the response is a JSON \(JSONNode.typeName(root)), not an object", response: scrubbed)
            }
            var changed = endpoint.isRegistration ? false : try Timestamps.normalize(root, endpoint: endpoint)
            try endpoint.shape.check(root, endpoint: endpoint)
            if let (name, empty) = endpoint.shape.container, name.withCString({ json_object_get(root, $0) }) == nil {
                json_object_set_new(root, name, empty.makeNode())
                changed = true
            }
            return changed
        }
        return Answer(document: document, original: changed ? nil : scrubbed.body)
    }
}
