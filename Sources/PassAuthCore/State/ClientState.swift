import Glibc

/// The registration of one (origin, service provider): client credentials and access token. Stored
/// under `StateKeys.registration` as
///
///     {"format": 2, "origin": "https://sp.auth.adobe.com", "serviceProvider": "REF30",
///      "client": {"clientId", "clientSecret", "softwareStatement": <fingerprint>, "issuedAt"?},
///      "accessToken": {"value", "obtainedAt", "expiresAt"}}
///
/// with "clientSecret" and "value" sealed (`SecretBox`) when the config has a storeEncryptionKey.
package struct RegistrationRecord: Sendable, Equatable {
    package var credentials: ClientCredentials?
    package var token: AccessToken?

    package init(credentials: ClientCredentials? = nil, token: AccessToken? = nil) {
        self.credentials = credentials
        self.token = token
    }
}

/// The typed state of one client on a `StateStore`: its registration record, and per device the
/// stored profiles and the MVPD choice. Every change is a read–modify–compare-and-set loop on one key,
/// so concurrent writers (threads, processes, hosts) never lose a write, and a value is written only
/// when it changed. Reads take no lock. Whatever is read back is validated: a value that is not what
/// the library writes is a `.store` error naming the store and the key, and is left untouched (never
/// replaced by an empty state, which would mean a silent new registration).
package final class ClientState: Sendable {
    package let store: StateStore
    package let keys: StateKeys
    let secrets: SecretBox?
    let timeoutMs: Int
    /// The passauth 0.1 state file of this service provider in the store directory (SQLite store).
    let legacyFile: String?
    let redactor: Redactor

    /// Profiles values as last decoded, by key: decoding is most of what storing a profiles answer
    /// costs, and a device's value rarely changes between two reads. An entry is used only for the very
    /// text it was decoded from, so a value another writer replaced is decoded again.
    private let decodedProfiles = Locked<[String: (text: String, value: JSON)]>([:])
    static let decodedProfilesCapacity = 1024

    /// Attempts of one compare-and-set loop before giving up (each failed attempt means another
    /// writer succeeded, so the store is making progress).
    static let maximumAttempts = 32

    init(store: StateStore, keys: StateKeys, secrets: SecretBox?, timeoutMs: Int, legacyFile: String?, redactor: Redactor) {
        self.store = store
        self.keys = keys
        self.secrets = secrets
        self.timeoutMs = timeoutMs
        self.legacyFile = legacyFile
        self.redactor = redactor
    }

    // MARK: - Registration

    /// The registration record and its version (0: none stored). No lock.
    func readRegistration() throws(PassAuthError) -> (record: RegistrationRecord?, version: UInt64) {
        let key = keys.registration
        guard let stored = try get(key, "reading the registration") else {
            try refuseLegacyFile()
            return (nil, 0)
        }
        return (try decodeRegistration(stored.value, key: key), stored.version)
    }

    /// Writes the record (nil: deletes it) if it is still at `expectedVersion`; the new version, or nil
    /// when another writer changed it since it was read (nothing written: re-read and decide again).
    func writeRegistration(_ record: RegistrationRecord?, expectedVersion: UInt64) throws(PassAuthError) -> UInt64? {
        let key = keys.registration
        let text = try record.map { record throws(PassAuthError) in try encodeRegistration(record, key: key) }
        switch try put(key, text, expectedVersion: expectedVersion, ttlMs: 0, "recording the registration") {
        case .stored(let version): return version
        case .conflict: return nil
        }
    }

    /// Runs `body` under the store's registration lock (across threads, processes and hosts).
    func withRegistrationLock<T>(timeoutMs: Int, _ body: () throws(PassAuthError) -> T) throws(PassAuthError) -> T {
        do throws(PassAuthError) {
            return try store.withLock(keys.registrationLock, timeoutMs: timeoutMs, body)
        } catch {
            throw error.redacted(by: redactor)
        }
    }

    func encodeRegistration(_ record: RegistrationRecord, key: String) throws(PassAuthError) -> String {
        var members: [(String, JSON)] = [("format", 2), ("origin", .string(keys.origin)),
                                         ("serviceProvider", .string(keys.serviceProvider))]
        if let credentials = record.credentials {
            var client: [(String, JSON)] = [("clientId", .string(credentials.clientId)),
                                            ("clientSecret", try sealed(credentials.clientSecret, key: key, field: "clientSecret")),
                                            ("softwareStatement", .string(credentials.statementFingerprint))]
            if let issuedAt = credentials.issuedAt { client.append(("issuedAt", .int(issuedAt))) }
            members.append(("client", .object(client)))
        }
        if let token = record.token {
            members.append(("accessToken", ["value": try sealed(token.value, key: key, field: "accessToken"),
                                            "obtainedAt": .int(token.obtainedAt), "expiresAt": .int(token.expiresAt)]))
        }
        return JSON.object(members).serialized()
    }

    func decodeRegistration(_ text: String, key: String) throws(PassAuthError) -> RegistrationRecord {
        func malformed(_ reason: String) -> PassAuthError {
            PassAuthError(.store, "\(store.description): the registration under key '\(key)' is malformed (\(reason)); it was left untouched: repair or delete that key (a new registration then happens)")
        }
        let document: JSON
        do throws(JSONError) {
            document = try JSON.parse(text)
        } catch {
            throw malformed("not JSON: \(error.message)")
        }
        guard case .object = document else { throw malformed("not a JSON object") }
        guard document["format"]?.int64Value == 2 else { throw malformed("\"format\" is not 2") }
        guard let origin = document["origin"]?.stringValue, let serviceProvider = document["serviceProvider"]?.stringValue else {
            throw malformed("\"origin\" and \"serviceProvider\" must be strings")
        }
        guard origin == keys.origin && serviceProvider == keys.serviceProvider else {
            throw PassAuthError(.store, "\(store.description): the registration under key '\(key)' was written for \(origin) and service provider \(serviceProvider), not for \(keys.origin) and \(keys.serviceProvider); it is not used and was left untouched")
        }
        var record = RegistrationRecord()
        if let client = document["client"] {
            guard case .object = client else { throw malformed("\"client\" is not an object") }
            guard let id = client["clientId"]?.stringValue, !id.isEmpty else { throw malformed("client.clientId is not a non-empty string") }
            guard let fingerprint = client["softwareStatement"]?.stringValue else { throw malformed("client.softwareStatement is not a string") }
            guard let secretValue = client["clientSecret"] else { throw malformed("client.clientSecret is missing") }
            let secret = try opened(secretValue, key: key, field: "clientSecret", what: "the client secret", malformed: malformed)
            var issuedAt: Int64? = nil
            if let issued = client["issuedAt"] {
                guard case .int(let value) = issued else { throw malformed("client.issuedAt is not an integer") }
                issuedAt = value
            }
            record.credentials = ClientCredentials(clientId: id, clientSecret: secret, issuedAt: issuedAt, statementFingerprint: fingerprint)
        }
        if let token = document["accessToken"] {
            guard case .object = token else { throw malformed("\"accessToken\" is not an object") }
            guard case .int(let obtainedAt)? = token["obtainedAt"], case .int(let expiresAt)? = token["expiresAt"] else {
                throw malformed("accessToken.obtainedAt / expiresAt are not integers")
            }
            guard let tokenValue = token["value"] else { throw malformed("accessToken.value is missing") }
            let value = try opened(tokenValue, key: key, field: "accessToken", what: "the access token", malformed: malformed)
            record.token = AccessToken(value: value, obtainedAt: obtainedAt, expiresAt: expiresAt, clientId: record.credentials?.clientId)
        }
        return record
    }

    private func sealed(_ secret: String, key: String, field: String) throws(PassAuthError) -> JSON {
        guard let secrets else { return .string(secret) }
        return try secrets.seal(secret, context: key + "#" + field)
    }

    /// A stored secret: plain text (written without a storeEncryptionKey) or sealed.
    private func opened(_ value: JSON, key: String, field: String, what: String,
                        malformed: (String) -> PassAuthError) throws(PassAuthError) -> String {
        if case .string(let text) = value {
            guard !text.isEmpty else { throw malformed("\(field) is empty") }
            return text
        }
        guard case .object = value, SecretBox.isSealed(value) else { throw malformed("\(field) is neither a string nor an encrypted value") }
        guard let secrets else {
            throw PassAuthError(.store, "\(store.description): \(what) under key '\(key)' is encrypted: set config storeEncryptionKey to the key it was written with")
        }
        switch secrets.open(value, context: key + "#" + field) {
        case .plaintext(let text): return text
        case .wrongKey:
            throw PassAuthError(.store, "\(store.description): cannot decrypt \(what) under key '\(key)': wrong storeEncryptionKey? (nothing was changed; a new registration does not happen by itself)")
        case .malformed: throw malformed("\(field) is not a valid encrypted value")
        }
    }

    // MARK: - Passauth 0.1 files

    /// A passauth 0.1 store file (`<store>/<serviceProvider>.json`, one document per service provider,
    /// no origin recorded) is never used: its credentials may belong to another service. While no
    /// registration exists for this origin, its presence fails the call with instructions.
    private func refuseLegacyFile() throws(PassAuthError) {
        guard let legacyFile else { return }
        var info = stat()
        guard stat(legacyFile, &info) == 0 else { return }
        throw PassAuthError(.store, """
            \(legacyFile) holds state written by passauth 0.1, which does not record the service it was registered \
            with, so its client credentials and access token are not used or sent anywhere. Either move it away \
            (e.g. to \(legacyFile).old) and the next call registers anew for \(keys.origin), or, if it was written \
            for \(keys.origin), import it first: `passauth import-state \(legacyFile)` with the same base URL and \
            service provider (it then moves the file to \(legacyFile).imported)
            """)
    }

    /// Imports a passauth 0.1 store file for this client's origin and service provider: its
    /// credentials and token become the registration (refused if one exists already), its profiles and
    /// MVPD choices the devices' values (kept where a device already has one). The file is then renamed
    /// `<file>.imported`. Returns {"clientId", "devices", "importedFrom", "renamedTo"}; no secret.
    func importLegacyFile(_ path: String) throws(PassAuthError) -> JSON {
        let text = try Self.readFile(path)
        let document: JSON
        do throws(JSONError) {
            document = try JSON.parse(text)
        } catch {
            throw PassAuthError(.store, "\(path) is not a passauth 0.1 state file (\(error.message)); nothing was imported")
        }
        guard case .object = document, document["format"]?.int64Value == 1 else {
            throw PassAuthError(.store, "\(path) is not a passauth 0.1 state file (format 1); nothing was imported")
        }
        var record = RegistrationRecord()
        if let client = document["client"] {
            guard let id = client["clientId"]?.stringValue, !id.isEmpty, let secret = client["clientSecret"]?.stringValue,
                  !secret.isEmpty, let fingerprint = client["softwareStatement"]?.stringValue else {
                throw PassAuthError(.store, "\(path): \"client\" is malformed (clientId, clientSecret, softwareStatement must be strings); nothing was imported")
            }
            record.credentials = ClientCredentials(clientId: id, clientSecret: secret, issuedAt: client["issuedAt"]?.int64Value,
                                                   statementFingerprint: fingerprint)
            redactor.hold(secret, as: .clientSecret)
            if let token = document["accessToken"], let value = token["value"]?.stringValue, !value.isEmpty,
               let obtainedAt = token["obtainedAt"]?.int64Value, let expiresAt = token["expiresAt"]?.int64Value {
                record.token = AccessToken(value: value, obtainedAt: obtainedAt, expiresAt: expiresAt, clientId: id)
                redactor.hold(value, as: .accessToken)
            }
        }
        if record.credentials != nil {
            guard try writeRegistration(record, expectedVersion: 0) != nil else {
                throw PassAuthError(.store, "a registration for \(keys.origin) and \(keys.serviceProvider) already exists in \(store.description); \(path) was not imported")
            }
        }
        var devices = Set<String>()
        if case .object(let byDevice)? = document["profiles"] {
            for (device, profiles) in byDevice where !device.isEmpty {
                guard case .object(let byMVPD) = profiles else { continue }
                try updateProfiles([(device, { current in current ?? .object(byMVPD) })])
                devices.insert(device)
            }
        }
        if case .object(let byDevice)? = document["mvpdSelection"] {
            for (device, selection) in byDevice where !device.isEmpty && selection["id"]?.stringValue != nil {
                try modifyMVPD(device: device) { current in current ?? selection }
                devices.insert(device)
            }
        }
        let renamed = path + ".imported"
        guard rename(path, renamed) == 0 else {
            throw PassAuthError(.store, "imported \(path), but could not rename it to \(renamed): \(String(cString: strerror(errno))); move it away yourself")
        }
        var summary: [(String, JSON)] = []
        if let id = record.credentials?.clientId { summary.append(("clientId", .string(id))) }
        summary += [("devices", .int(Int64(devices.count))), ("importedFrom", .string(path)), ("renamedTo", .string(renamed))]
        return .object(summary)
    }

    private static func readFile(_ path: String) throws(PassAuthError) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw PassAuthError(.store, "cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 { if errno == EINTR { continue }; throw PassAuthError(.store, "cannot read \(path): \(String(cString: strerror(errno)))") }
            if count == 0 { break }
            bytes += chunk[0..<count]
            if bytes.count > 64 << 20 { throw PassAuthError(.store, "\(path) is larger than 64 MiB; nothing was imported") }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    // MARK: - Devices: stored profiles

    static let persistedProfileKeys = ["notBefore", "notAfter", "issuer", "type", "attributes"]

    /// The device's stored profile parts, `{mvpd: {...}}` (empty when none). No lock.
    func profiles(device: String) throws(PassAuthError) -> JSON {
        let key = try keys.profiles(device: device)
        guard let stored = try get(key, "reading the stored profiles of device \(device)") else { return .object([]) }
        return try decodeProfiles(stored.value, key: key)
    }

    /// Applies `change` to each device's profiles (nil: none left), dropping the profiles whose
    /// notAfter has passed, and writes each device's key only when it changed. The writes go to the
    /// store together (`putAll`); a device whose key changed meanwhile is re-read and done again.
    func updateProfiles(_ changes: [(device: String, change: (JSON?) -> JSON?)]) throws(PassAuthError) {
        var pending: [(key: String, device: String, change: (JSON?) -> JSON?)] = []
        for (device, change) in changes { pending.append((try keys.profiles(device: device), device, change)) }
        // One batch first (one transaction in SQLite), then key by key for the conflicts.
        var writes: [StoreWrite] = []
        var retry: [(key: String, device: String, change: (JSON?) -> JSON?)] = []
        var batched: [(key: String, device: String, change: (JSON?) -> JSON?)] = []
        for item in pending {
            let current = try get(item.key, "reading the stored profiles of device \(item.device)")
            let decoded = try current.map { current throws(PassAuthError) in try decodeProfiles(current.value, key: item.key) }
            guard let write = profilesWrite(item.key, current: current, decoded: decoded, change: item.change) else { continue }
            writes.append(write)
            batched.append(item)
        }
        if !writes.isEmpty {
            let results = try guarded("recording the profiles of \(writes.count) device(s)") { () throws(PassAuthError) in
                try store.putAll(writes, timeoutMs: timeoutMs)
            }
            for (item, result) in zip(batched, results) where result == .conflict { retry.append(item) }
        }
        for item in retry {
            try modify(item.key, "recording the profiles of device \(item.device)") { current throws(PassAuthError) in
                let decoded = try current.map { current throws(PassAuthError) in try decodeProfiles(current.value, key: item.key) }
                return profilesWrite(item.key, current: current, decoded: decoded, change: item.change)
            }
        }
    }

    /// The write that turns `decoded` into `change(decoded)` without expired profiles, or nil when
    /// nothing changes. TTL: the latest notAfter (the value is useless after it).
    private func profilesWrite(_ key: String, current: StoredValue?, decoded: JSON?, change: (JSON?) -> JSON?) -> StoreWrite? {
        let now = Clock.nowMs()
        var next = change(decoded)
        if case .object(let byMVPD)? = next {
            let live = byMVPD.filter { _, profile in (profile["notAfter"]?.int64Value).map { $0 > now } ?? true }
            next = live.isEmpty ? nil : .object(live)
        }
        if next == decoded { return nil }
        guard let next else {
            return current.map { StoreWrite(key: key, value: nil, expectedVersion: $0.version) }
        }
        var ttl: Int64 = 0
        if case .object(let byMVPD) = next {
            let ends = byMVPD.map { $0.1["notAfter"]?.int64Value }
            if !ends.contains(where: { $0 == nil }), let latest = ends.compactMap({ $0 }).max() { ttl = max(1, latest - now) }
        }
        return StoreWrite(key: key, value: next.serialized(), expectedVersion: current?.version ?? 0, ttlMs: ttl)
    }

    private func decodeProfiles(_ text: String, key: String) throws(PassAuthError) -> JSON {
        if let known = decodedProfiles.withLock({ $0[key] }), known.text == text { return known.value }
        let document = try? JSON.parse(text)
        guard case .object(let byMVPD)? = document, byMVPD.allSatisfy({ if case .object = $0.1 { return true } else { return false } }) else {
            throw PassAuthError(.store, "\(store.description): the value under key '\(key)' is not a profiles object ({mvpd: {...}}); it was left untouched: repair or delete that key")
        }
        decodedProfiles.withLock { known in
            if known.count >= ClientState.decodedProfilesCapacity { known.removeAll(keepingCapacity: true) }
            known[key] = (text, .object(byMVPD))
        }
        return .object(byMVPD)
    }

    // MARK: - Devices: MVPD choice

    /// The device's recorded MVPD choice, or nil. No lock.
    func mvpd(device: String) throws(PassAuthError) -> JSON? {
        let key = try keys.mvpd(device: device)
        guard let stored = try get(key, "reading the MVPD choice of device \(device)") else { return nil }
        return try decodeMVPD(stored.value, key: key)
    }

    /// Records the device's MVPD choice (kept without a TTL: the checklist's provider selection
    /// caching outlives a profile, so a returning user is asked to confirm rather than to pick).
    func setMVPD(device: String, _ selection: JSON) throws(PassAuthError) {
        try modifyMVPD(device: device) { _ in selection }
    }

    private func modifyMVPD(device: String, _ change: @escaping (JSON?) -> JSON?) throws(PassAuthError) {
        let key = try keys.mvpd(device: device)
        try modify(key, "recording the MVPD choice of device \(device)") { current throws(PassAuthError) in
            let decoded = try current.map { current throws(PassAuthError) in try decodeMVPD(current.value, key: key) }
            let next = change(decoded)
            guard next != decoded else { return nil }
            return StoreWrite(key: key, value: next?.serialized(), expectedVersion: current?.version ?? 0)
        }
    }

    private func decodeMVPD(_ text: String, key: String) throws(PassAuthError) -> JSON {
        guard let document = try? JSON.parse(text), case .object = document, document["id"]?.stringValue != nil else {
            throw PassAuthError(.store, "\(store.description): the value under key '\(key)' is not an MVPD choice ({\"id\", ...}); it was left untouched: repair or delete that key")
        }
        return document
    }

    // MARK: - Compare-and-set

    /// Read, compute, conditional write, until the write lands on the version it was computed from.
    /// `compute` returns nil when nothing needs writing.
    private func modify(_ key: String, _ what: String,
                        _ compute: (StoredValue?) throws(PassAuthError) -> StoreWrite?) throws(PassAuthError) {
        for attempt in 1...ClientState.maximumAttempts {
            let current = try get(key, what)
            guard let write = try compute(current) else { return }
            if write.value == nil && current == nil { return }
            switch try put(key, write.value, expectedVersion: write.expectedVersion, ttlMs: write.ttlMs, what) {
            case .stored: return
            case .conflict:
                // Another writer won this round; spread the retries of a crowd.
                if attempt > 2 { Clock.sleep(ms: Int64.random(in: 0...Int64(min(attempt, 10)))) }
            }
        }
        throw PassAuthError(.store, "\(what): key '\(key)' of \(store.description) kept changing under concurrent writers (\(ClientState.maximumAttempts) attempts); nothing was written")
    }

    private func get(_ key: String, _ what: String) throws(PassAuthError) -> StoredValue? {
        try guarded(what) { () throws(PassAuthError) in try store.get(key, timeoutMs: timeoutMs) }
    }

    private func put(_ key: String, _ value: String?, expectedVersion: UInt64, ttlMs: Int64, _ what: String) throws(PassAuthError) -> PutResult {
        try guarded(what) { () throws(PassAuthError) in
            try store.put(key, value: value, expectedVersion: expectedVersion, ttlMs: ttlMs, timeoutMs: timeoutMs)
        }
    }

    /// Store failures name what was being done; anything an application store said is scrubbed of
    /// the client's secrets.
    private func guarded<T>(_ what: String, _ body: () throws(PassAuthError) -> T) throws(PassAuthError) -> T {
        do throws(PassAuthError) {
            return try body()
        } catch {
            var failure = error
            if failure.status == .store { failure.message = "\(what): \(failure.message)" }
            throw failure.redacted(by: redactor)
        }
    }
}
