import PassAuthCore

/// `passauth status`: where the command points and what it holds, in the manner of `gh auth status`:
/// the environment, the registration (client id and token expiry, never a secret), the TV provider
/// chosen at the last login and each stored profile with its validity. Reads the configuration and
/// the store only: no request, so it answers offline too.
extension Invocation {
    func status() throws(CLIFailure) -> ExitStatus {
        try requireNoArguments()
        let config = client.config
        let now = Clock.nowMs()
        let environment = Environment.allCases.first { $0.baseURL == config.baseURL }?.rawValue ?? "custom"
        let proxy = Settings.proxy(for: config.baseURL)

        // The registration as stored: identifiers and lifetimes only.
        var registration: JSON = .null
        var storeProblem: String?
        do throws(PassAuthError) {
            if let stored = try client.storedRegistration() {
                let expires = stored["accessTokenExpiresAt"]?.int64Value
                registration = stored.setting("accessToken", .string(expires.map { $0 > now ? "valid" : "expired" } ?? "none"))
            }
        } catch {
            storeProblem = client.scrub(error).message
        }
        let selected = try? client.selectedMVPD(device: device)
        let stored: JSON
        do { stored = try client.storedProfiles(device: device) } catch {
            storeProblem = storeProblem ?? client.scrub(error).message
            stored = ["profiles": [:]]
        }
        let profiles: [JSON] = (stored["profiles"]?.objectValue ?? []).map { mvpd, profile in
            let notBefore = profile["notBefore"]?.int64Value, notAfter = profile["notAfter"]?.int64Value
            let state = notBefore.map { $0 > now } == true ? "not yet valid" : notAfter.map { $0 <= now } == true ? "expired" : "valid"
            var members: [(String, JSON)] = [("mvpd", .string(mvpd)), ("state", .string(state))]
            for key in ["type", "issuer", "notBefore", "notAfter"] { if let value = profile[key] { members.append((key, value)) } }
            return .object(members)
        }

        if json {
            var document: JSON = [
                "environment": .string(environment), "baseUrl": .string(config.baseURL),
                "serviceProvider": .string(config.serviceProvider), "deviceId": .string(device.id ?? ""),
                "store": .string(client.storeLocation),
                "proxy": proxy.map { ["host": .string(Endpoint.authorityOf($0.url)), "source": .string($0.source)] } ?? .null,
                "registration": registration,
                "mvpd": selected.map { mvpd in
                    .object(["id", "displayName"].compactMap { key in mvpd[key].map { (key, $0) } })
                } ?? .null,
                "profiles": .array(profiles), "checkedAt": .int(now),
            ]
            if let storeProblem { document = document.setting("storeError", .string(storeProblem)) }
            Terminal.json(document)
            return storeProblem == nil ? .ok : .store
        }

        func line(_ label: String, _ value: String) { Terminal.out(label + String(repeating: " ", count: max(1, 18 - label.count)) + value) }
        let indent = String(repeating: " ", count: 18)
        line("Environment:", environment == "custom" ? "custom base URL \(config.baseURL)" : "\(environment) (\(config.baseURL))")
        line("Service provider:", config.serviceProvider)
        line("Device:", device.id ?? "-")
        line("Store:", client.storeLocation)
        line("Proxy:", proxy.map { "\(Endpoint.authorityOf($0.url)) (from \($0.source))" } ?? "none")
        if let clientId = registration["clientId"]?.stringValue {
            var text = "client \(clientId)"
            if let issued = registration["clientIdIssuedAt"]?.int64Value { text += ", registered \(Terminal.time(issued))" }
            line("Registration:", text)
            if let expires = registration["accessTokenExpiresAt"]?.int64Value {
                Terminal.out(indent + "access token " + (expires > now ? "expires" : "expired") + " \(Terminal.when(expires, now: now))")
            } else {
                Terminal.out(indent + "no access token stored (the next call fetches one)")
            }
        } else {
            line("Registration:", "not registered yet (passauth register)")
        }
        if let selected, let id = selected["id"]?.stringValue {
            let name = selected["displayName"]?.stringValue
            line("TV provider:", (name.map { "\($0) (\(id))" } ?? id) + ", chosen at the last login")
        } else {
            line("TV provider:", "none chosen yet (passauth login)")
        }
        if profiles.isEmpty {
            line("Profiles:", "none stored (passauth login)")
        } else {
            Terminal.out("Profiles:")
            let width = profiles.map { ($0["mvpd"]?.stringValue ?? "").count }.max() ?? 0
            for profile in profiles {
                let mvpd = profile["mvpd"]?.stringValue ?? "-"
                var text = profile["type"]?.stringValue.map { "\($0), " } ?? ""
                switch profile["state"]?.stringValue {
                case "valid"?: text += "valid, expires \(Terminal.when(profile["notAfter"]?.int64Value, now: now))"
                case "expired"?: text += "expired \(Terminal.when(profile["notAfter"]?.int64Value, now: now))"
                default: text += "not yet valid, from \(Terminal.when(profile["notBefore"]?.int64Value, now: now))"
                }
                Terminal.out("  " + mvpd + String(repeating: " ", count: width - mvpd.count + 2) + text)
            }
        }
        if let storeProblem { Terminal.err("passauth: the store could not be read: \(storeProblem)") }
        Terminal.out("(From the configuration and the store, at \(Terminal.time(now)); no request was made.)")
        return storeProblem == nil ? .ok : .store
    }
}
