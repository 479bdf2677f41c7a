import Testing
@testable import PassAuthCore

@Suite struct JSONTests {
    @Test func roundTripKeepsOrderAndTypes() throws {
        let text = #"{"b":1,"a":[true,null,2.5,"x\u00e9"],"c":{"d":-9007199254740993}}"#
        let value = try JSON.parse(text)
        #expect(value["a"]?.arrayValue?.count == 4)
        #expect(value["c"]?["d"]?.int64Value == -9007199254740993)
        #expect(value.serialized() == #"{"b":1,"a":[true,null,2.5,"xé"],"c":{"d":-9007199254740993}}"#)
    }

    @Test(arguments: ["", "{", #"{"a":1}x"#, #"{"a":1,"a":2}"#, "\u{1}"])
    func rejectsMalformedDocuments(_ text: String) {
        #expect(throws: JSONError.self) { try JSON.parse(text) }
    }

    @Test func rejectsInvalidUTF8() {
        #expect(throws: JSONError.self) { try JSON.parse([0x22, 0xff, 0xfe, 0x22], allowFragment: true) }
    }

    @Test func settingReplacesInPlace() {
        let value: JSON = ["a": 1, "b": 2]
        #expect(value.setting("a", 3).serialized() == #"{"a":3,"b":2}"#)
        #expect(value.removing("a").serialized() == #"{"b":2}"#)
    }

    /// The compact writer of raw values says what jansson's json_dumps says (as JSON: jansson writes
    /// some escapes differently), in the same member order, and can leave out one top-level member.
    @Test(arguments: [
        #"{"resource":"REF30","authorized":true,"notAfter":1796045596223,"n":-9223372036854775808,"z":0}"#,
        #"{"q":"a\"b\\c\n\u0001/é😀","nested":{"a":[1,-2,2.5,1e300,null,false,[],{}]},"":""}"#,
        #"[0,9,10,99,100,9223372036854775807,"x"]"#,
    ])
    func compactTextMatchesJansson(_ text: String) throws {
        let document = try JSONDocument.parse(Array(text.utf8))
        let ours = document.withRoot { $0.compactText() }
        #expect(try JSON.parse(ours) == JSON.parse(text))
        #expect(try JSON.parse(ours).serialized() == JSON.parse(document.serialized()).serialized())
    }

    @Test func compactTextOmitsOneTopLevelMember() throws {
        let document = try JSONDocument.parse(Array(#"{"a":1,"token":{"serializedToken":"s"},"b":{"token":2}}"#.utf8))
        #expect(String(decoding: document.withRoot { $0.compactText(omitting: "token") }, as: UTF8.self) == #"{"a":1,"b":{"token":2}}"#)
    }

    @Test func integralRealsReadAsIntegers() throws {
        #expect(try JSON.parse("[1.0e3]").arrayValue?.first?.int64Value == 1000)
        #expect(try JSON.parse("1000.0", allowFragment: true).int64Value == 1000)
        #expect(try JSON.parse("1000.5", allowFragment: true).int64Value == nil)
    }
}

@Suite struct EncodingTests {
    @Test(arguments: [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="),
                      ("ba23d141-d715-561c-94f4-e9e4c966b1eb", "YmEyM2QxNDEtZDcxNS01NjFjLTk0ZjQtZTllNGM5NjZiMWVi")])
    func base64MatchesRFC4648(_ input: String, _ expected: String) {
        #expect(Base64.encode(input) == expected)
    }

    @Test func pathSegmentsCannotEscape() {
        #expect(URLEncoding.segment("..") == "%2E%2E")
        #expect(URLEncoding.segment("a/../b?c#d") == "a%2F..%2Fb%3Fc%23d")
        #expect(URLEncoding.form([("redirect_url", "http://a.b/?x=1&y"), ("é", " ")]) == "redirect_url=http%3A%2F%2Fa.b%2F%3Fx%3D1%26y&%C3%A9=%20")
    }
}
