import Testing
@testable import PassAuthCore

/// The SSO / TempPass device structures, the endpoint header matrix and the partner SSO parameters.
@Suite struct SSOTests {
    func device(_ text: String) throws(PassAuthError) -> Device { try Device(json: try! JSON.parse(text)) }

    func failureKey(_ text: String) -> String? {
        do { _ = try device(text); return nil } catch { return error.key ?? "(no key)" }
    }

    static let granted = #"{"frameworkPermissionInfo":{"accessStatus":"granted"},"frameworkProviderInfo":{"id":"Cablevision","expirationDate":"1735689600000"}}"#

    @Test func partnerFrameworkStatusIsSentAsTheDocumentedBase64JSON() throws {
        let d = try device(#"{"id":"x","partnerFrameworkStatus":\#(SSOTests.granted)}"#)
        let status = try #require(d.partnerFrameworkStatus)
        #expect(DeviceHeader.partnerFrameworkStatus.value(for: d, hostInfo: false) == Base64.encode(status.serialized()))
        #expect(status == (try JSON.parse(SSOTests.granted)))
    }

    @Test func expirationDateGivenAsANumberIsSentAsAString() throws {
        let d = try device(#"{"partnerFrameworkStatus":{"frameworkPermissionInfo":{"accessStatus":"granted","error":{"code":"1","message":"m"}},"frameworkProviderInfo":{"id":"Cablevision","expirationDate":1735689600000}}}"#)
        #expect(d.partnerFrameworkStatus?["frameworkProviderInfo"]?["expirationDate"] == .string("1735689600000"))
        #expect(d.partnerFrameworkStatus?["frameworkPermissionInfo"]?["error"]?["code"] == .string("1"))
    }

    @Test func deniedAccessNeedsNoProviderId() throws {
        let d = try device(#"{"partnerFrameworkStatus":{"frameworkPermissionInfo":{"accessStatus":"denied"},"frameworkProviderInfo":{}}}"#)
        #expect(d.partnerFrameworkStatus != nil)
    }

    @Test(arguments: [
        (#"{"partnerFrameworkStatus":"granted"}"#, "device.partnerFrameworkStatus"),
        (#"{"partnerFrameworkStatus":{"frameworkProviderInfo":{}}}"#, "device.partnerFrameworkStatus.frameworkPermissionInfo"),
        (#"{"partnerFrameworkStatus":{"frameworkPermissionInfo":{"accessStatus":"granted"}}}"#, "device.partnerFrameworkStatus.frameworkProviderInfo"),
        (#"{"partnerFrameworkStatus":{"frameworkPermissionInfo":{"accessStatus":"yes"},"frameworkProviderInfo":{}}}"#, "device.partnerFrameworkStatus.frameworkPermissionInfo.accessStatus"),
        (#"{"partnerFrameworkStatus":{"frameworkPermissionInfo":{},"frameworkProviderInfo":{}}}"#, "device.partnerFrameworkStatus.frameworkPermissionInfo.accessStatus"),
        (#"{"partnerFrameworkStatus":{"frameworkPermissionInfo":{"accessStatus":"granted"},"frameworkProviderInfo":{"id":"x"}}}"#, "device.partnerFrameworkStatus.frameworkProviderInfo.expirationDate"),
        (#"{"partnerFrameworkStatus":{"frameworkPermissionInfo":{"accessStatus":"granted"},"frameworkProviderInfo":{"id":"x","expirationDate":"soon"}}}"#, "device.partnerFrameworkStatus.frameworkProviderInfo.expirationDate"),
        (#"{"partnerFrameworkStatus":{"frameworkPermissionInfo":{"accessStatus":"denied","x":1},"frameworkProviderInfo":{}}}"#, "device.partnerFrameworkStatus.frameworkPermissionInfo.x"),
        (#"{"partnerFrameworkStatus":{"frameworkPermissionInfo":{"accessStatus":"denied"},"frameworkProviderInfo":{"error":{"code":2}}}}"#, "device.partnerFrameworkStatus.frameworkProviderInfo.error.code"),
        (#"{"partnerFrameworkStatus":{"frameworkPermissionInfo":{"accessStatus":"denied"},"frameworkProviderInfo":{},"extra":true}}"#, "device.partnerFrameworkStatus.extra"),
        (#"{"tempPassIdentity":{}}"#, "device.tempPassIdentity"),
        (#"{"tempPassIdentity":{"email":5}}"#, "device.tempPassIdentity.email"),
        (#"{"tempPassIdentity":{"email":""}}"#, "device.tempPassIdentity.email"),
        (#"{"tempPassIdentity":"jane@example.com"}"#, "device.tempPassIdentity"),
    ])
    func invalidStructuresNameTheKey(_ text: String, _ key: String) {
        #expect(failureKey(text) == key)
    }

    @Test func tempPassIdentityIsBase64CompactJSON() throws {
        let d = try device(#"{"tempPassIdentity":{"email":"jane@example.com"}}"#)
        #expect(DeviceHeader.tempPassIdentity.value(for: d, hostInfo: false) == Base64.encode(#"{"email":"jane@example.com"}"#))
    }

    @Test func onlyOnePlatformIdentityIsSentAndSubjectTokenWins() throws {
        let both = try device(#"{"id":"x","subjectToken":"s","rokuConnectToken":"r"}"#)
        let names = Endpoint.profiles.deviceHeaders.lines(for: both, hostInfo: false).map { String($0.prefix { $0 != ":" }) }
        #expect(names.contains("Adobe-Subject-Token") && !names.contains("X-Roku-Reserved-Roku-Connect-Token"))
        let roku = try device(#"{"id":"x","rokuConnectToken":"r"}"#)
        #expect(Endpoint.profiles.deviceHeaders.lines(for: roku, hostInfo: false).contains("X-Roku-Reserved-Roku-Connect-Token: r"))
    }

    @Test func theMatrixFollowsTheReferencePages() {
        let h = { (endpoint: Endpoint) in endpoint.deviceHeaders }
        #expect(!h(.preauthorize).contains(.tempPassIdentity) && h(.authorize).contains(.tempPassIdentity))
        #expect(!h(.logout).contains(.partnerFrameworkStatus) && !h(.logout).contains(.tempPassIdentity) && h(.logout).contains(.serviceToken))
        #expect(h(.sessionCreate).isDisjoint(with: [.partnerFrameworkStatus, .tempPassIdentity]))
        #expect(h(.partnerSession) == [.deviceIdentifier, .deviceInfo, .forwardedFor, .userAgent, .visitorId, .partnerFrameworkStatus])
        #expect(h(.profileForCode) == [.forwardedFor, .userAgent, .visitorId, .tempPassIdentity])
        #expect(h(.configuration) == [.deviceIdentifier, .deviceInfo, .forwardedFor, .userAgent])
        #expect(h(.register) == [.deviceInfo, .userAgent])
        for endpoint in Endpoint.allCases where !endpoint.isRegistration {
            #expect(h(endpoint).contains(.userAgent) && h(endpoint).contains(.forwardedFor), "\(endpoint)")
        }
    }

    @Test func partnerParametersAreChecked() throws {
        #expect(try PartnerSessionParameters(json: nil).form.isEmpty)
        #expect(try PartnerSessionParameters(json: JSON.parse(#"{"domainName":"a","redirectUrl":"b"}"#)).form.count == 2)
        #expect(throws: PassAuthError.self) { try PartnerSessionParameters(json: JSON.parse(#"{"mvpd":"a"}"#)) }
        #expect(throws: PassAuthError.self) { try PartnerProfileParameters(json: nil) }
        #expect(throws: PassAuthError.self) { try PartnerProfileParameters(json: JSON.parse(#"{"SAMLResponse":"<xml/>"}"#)) }
        #expect(try PartnerProfileParameters(json: JSON.parse(#"{"SAMLResponse":"PHg+Lz0="}"#)).form[0].1 == "PHg+Lz0=")
        #expect(throws: PassAuthError.self) { try PartnerSSO.checkPartner("") }
    }

    @Test(arguments: [(Environment.production, "https://sp.auth.adobe.com"), (.staging, "https://sp.auth-staging.adobe.com"),
                      (.prequalProduction, "https://sp-prequal.auth.adobe.com"), (.prequalStaging, "https://sp-prequal.auth-staging.adobe.com")])
    func environmentsMapToTheDocumentedHosts(_ environment: Environment, _ url: String) {
        #expect(environment.baseURL == url)
    }
}
