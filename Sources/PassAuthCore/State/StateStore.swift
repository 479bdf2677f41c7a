/// What the library keeps between runs for one service provider: the DCR client credentials
/// (forever), the access token (until it expires), the user's MVPD selection and the profile parts the
/// checklist names. The document is kept as JSON so later fields never need a format migration.
package struct StoredState: Sendable, Equatable {
    package private(set) var document: JSON

    package static let empty = StoredState(document: ["format": 1])

    package init(document: JSON) { self.document = document }

    package var credentials: ClientCredentials? {
        get { document["client"].flatMap(ClientCredentials.init(json:)) }
        set { document = newValue.map { document.setting("client", $0.json) } ?? document.removing("client") }
    }

    package var accessToken: AccessToken? {
        get { document["accessToken"].flatMap(AccessToken.init(json:)) }
        set { document = newValue.map { document.setting("accessToken", $0.json) } ?? document.removing("accessToken") }
    }

    package subscript(section: String) -> JSON? {
        get { document[section] }
        set { document = newValue.map { document.setting(section, $0) } ?? document.removing(section) }
    }
}

/// Where the state lives. The file store is the default; other stores (shared across service
/// instances) implement the same three operations.
package protocol StateStore: Sendable {
    /// The current state; `.empty` when nothing was stored yet. A store that exists but cannot be read
    /// is a `.store` error, never an empty state (which would trigger a new registration).
    func load() throws(PassAuthError) -> StoredState
    /// Replaces the state atomically: a reader sees the old or the new state, never a mix.
    func save(_ state: StoredState) throws(PassAuthError)
    /// Runs `body` while holding the store's exclusive lock (across threads and processes), waiting at
    /// most `timeoutMs` for it.
    func withLock<T>(timeoutMs: Int, _ body: () throws(PassAuthError) -> T) throws(PassAuthError) -> T
}

/// DCR client credentials. `statementFingerprint` ties them to the software statement that obtained
/// them, so a new statement in the config triggers a new registration instead of a stale client.
package struct ClientCredentials: Sendable, Equatable {
    package var clientId: String
    package var clientSecret: String
    package var issuedAt: Int64?
    package var statementFingerprint: String

    init?(json: JSON) {
        guard let id = json["clientId"]?.stringValue, let secret = json["clientSecret"]?.stringValue,
              let fingerprint = json["softwareStatement"]?.stringValue else { return nil }
        clientId = id
        clientSecret = secret
        issuedAt = json["issuedAt"]?.int64Value
        statementFingerprint = fingerprint
    }

    init(clientId: String, clientSecret: String, issuedAt: Int64?, statementFingerprint: String) {
        self.clientId = clientId
        self.clientSecret = clientSecret
        self.issuedAt = issuedAt
        self.statementFingerprint = statementFingerprint
    }

    var json: JSON {
        var members: [(String, JSON)] = [("clientId", .string(clientId)), ("clientSecret", .string(clientSecret)),
                                         ("softwareStatement", .string(statementFingerprint))]
        if let issuedAt { members.append(("issuedAt", .int(issuedAt))) }
        return .object(members)
    }

    /// FNV-1a 64 of the statement: identifies it without storing it twice.
    static func fingerprint(of statement: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in statement.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return "fnv1a64:" + String(hash, radix: 16)
    }
}

/// A DCR access token with its absolute lifetime in wall-clock milliseconds.
package struct AccessToken: Sendable, Equatable {
    package var value: String
    package var obtainedAt: Int64
    package var expiresAt: Int64

    init?(json: JSON) {
        guard let value = json["value"]?.stringValue, let obtained = json["obtainedAt"]?.int64Value,
              let expires = json["expiresAt"]?.int64Value else { return nil }
        self.value = value
        obtainedAt = obtained
        expiresAt = expires
    }

    init(value: String, obtainedAt: Int64, expiresAt: Int64) {
        self.value = value
        self.obtainedAt = obtainedAt
        self.expiresAt = expiresAt
    }

    var json: JSON { ["value": .string(value), "obtainedAt": .int(obtainedAt), "expiresAt": .int(expiresAt)] }

    /// Usable now: refreshed shortly before expiry (a tenth of its lifetime, at most five minutes) so a
    /// request never leaves with a token that dies in flight.
    func isFresh(at now: Int64) -> Bool {
        let margin = min((expiresAt - obtainedAt) / 10, 300_000)
        return now < expiresAt - margin
    }
}
