import Testing
@testable import PassAuthCore

@Suite struct ConfigurationTests {
    func config(_ text: String) throws(PassAuthError) -> ClientSettings {
        try ClientSettings(json: try! JSON.parse(text), environmentVariables: { $0 == "HOME" ? "/home/u" : nil })
    }

    func failure(_ text: String) -> PassAuthError? {
        do { _ = try config(text); return nil } catch { return error }
    }

    @Test func defaultsFollowTheContract() throws {
        let c = try config(#"{"serviceProvider":"REF30","softwareStatement":"s"}"#)
        #expect(c.baseURL == "https://sp.auth.adobe.com")
        #expect(c.storeDirectory == "/home/u/.local/state/passauth")
        #expect(c.pacing && !c.allowInsecureHttp && c.timeoutMs == 30_000)
    }

    @Test(arguments: Environment.allCases)
    func everyEnvironmentHasAnHTTPSBaseURL(_ environment: Environment) throws {
        let c = try config(#"{"serviceProvider":"REF30","softwareStatement":"s","environment":"\#(environment.rawValue)"}"#)
        #expect(c.baseURL.hasPrefix("https://") && c.baseURL == environment.baseURL)
    }

    @Test func baseUrlOverridesEnvironmentAndLosesTrailingSlash() throws {
        let c = try config(#"{"serviceProvider":"REF30","softwareStatement":"s","environment":"staging","baseUrl":"http://127.0.0.1:8080/"}"#)
        #expect(c.baseURL == "http://127.0.0.1:8080")
    }

    @Test(arguments: [
        (#"{"serviceProvider":"REF30","softwareStatement":"s","typo":1}"#, "typo"),
        (#"{"softwareStatement":"s"}"#, "serviceProvider"),
        (#"{"serviceProvider":"a/b","softwareStatement":"s"}"#, "serviceProvider"),
        (#"{"serviceProvider":"REF30"}"#, "softwareStatement"),
        (#"{"serviceProvider":"REF30","softwareStatement":"s","baseUrl":"http://10.0.0.1"}"#, "baseUrl"),
        (#"{"serviceProvider":"REF30","softwareStatement":"s","baseUrl":"ftp://x"}"#, "baseUrl"),
        (#"{"serviceProvider":"REF30","softwareStatement":"s","timeoutMs":0}"#, "timeoutMs"),
        (#"{"serviceProvider":"REF30","softwareStatement":"s","timeoutMs":1.5}"#, "timeoutMs"),
        (#"{"serviceProvider":"REF30","softwareStatement":"s","logLevel":"loud"}"#, "logLevel"),
        (#"{"serviceProvider":"REF30","softwareStatement":"s","device":[]}"#, "device"),
        (#"{"serviceProvider":"REF30","softwareStatement":"s","device":{"info":"x"}}"#, "device.info"),
        (#"{"serviceProvider":"REF30","softwareStatement":"s","device":{"userAgent":"a\nb"}}"#, "device.userAgent"),
    ])
    func invalidConfigsNameTheKey(_ text: String, _ key: String) {
        let error = failure(text)
        #expect(error?.status == .invalidArgument)
        #expect(error?.key == key)
    }

    @Test func insecureHttpNeedsConsent() throws {
        let c = try config(#"{"serviceProvider":"REF30","softwareStatement":"s","baseUrl":"http://auth.test","allowInsecureHttp":true}"#)
        #expect(c.baseURL == "http://auth.test")
        #expect(try config(#"{"serviceProvider":"REF30","softwareStatement":"s","baseUrl":"http://[::1]:80"}"#).baseURL == "http://[::1]:80")
    }
}

@Suite struct DeviceTests {
    @Test func headersFollowTheReference() throws {
        let device = try Device(json: try JSON.parse(#"{"id":"ba23d141-d715-561c-94f4-e9e4c966b1eb","info":{"model":"TV"},"ip":"203.0.113.7"}"#))
        #expect(device.deviceIdentifierHeader == "fingerprint YmEyM2QxNDEtZDcxNS01NjFjLTk0ZjQtZTllNGM5NjZiMWVi")
        // The device's ip fills X-Device-Info's connectionIp (server-to-server, home-based authentication).
        #expect(device.deviceInfoHeader == Base64.encode(#"{"model":"TV","connectionIp":"203.0.113.7"}"#))
        #expect(device.ip == "203.0.113.7")
    }

    @Test func defaultDeviceInfoIsStillSent() {
        #expect(!Device().deviceInfoHeaderOrDefault.isEmpty)
    }
}
