"""Requests copied from the reference pages' samples are accepted; requests
that break the documented rules get the documented status."""

import http.client

from emu_support import assert_enhanced

# rest-api-dcr/apis/dynamic-client-registration-apis-retrieve-client-credentials.md
REGISTER_HEADERS = {
    "X-Device-Info": "ewoJInByaW1hcnlIYXJkd2FyZVR5cGUiOiAiU2V0VG9wQm94IiwKCSJtb2RlbCI6ICJUViA1dGggR2VuIiwKCSJtYW51ZmFjdHVyZXIiOiAiQXBwbGUiLAoJIm9zTmFtZSI6ICJ0dk9TIgoJIm9zVmVuZG9yIjogIkFwcGxlIiwKCSJvc1ZlcnNpb24iOiAiMTEuMCIKfQ==",
    "Content-Type": "application/json",
    "Accept": "application/json",
    "User-Agent": "Mozilla/5.0 (Apple TV; U; CPU AppleTV5,3 OS 11.0 like Mac OS X; en_US)",
}
REGISTER_BODY = """{
    "software_statement": "eyJhbGciOiJSUzI1NiJ9.
        eyJzb2Z0d2FyZV9pZCI6IjROUkIxLTBYWkFCWkk5RTYtNVNNM1IiLCJjbGll
        bnRfbmFtZSI6IkV4YW1wbGUgU3RhdGVtZW50LWJhc2VkIENsaWVudCIsImNs
        aWVudF91cmkiOiJodHRwczovL2NsaWVudC5leGFtcGxlLm5ldC8ifQ.
        GHfL4QNIrQwL18BSRdE595T9jbzqa06R9BT8w409x9oIcKaZo_mt15riEXHa
        zdISUvDIZhtiyNrSHQ8K4TvqWxH6uJgcmoodZdPwmWRIEYbQDLqPNxREtYn0
        5X3AR7ia4FRjQ2ojZjk5fJqJdQ-JcfxyhK-P8BAWBd6I2LLA77IG32xtbhxY
        fHX7VhuU5ProJO8uvu3Ayv4XRhLZJY4yKfmyjiiKiPNe-Ia4SMy_d_QSWxsk
        U5XIQl5Sa2YRPMbDRXttm2TfnZM1xx70DoYi8g6czz-CPGRi4SW_S2RKHIJf
        IjoI3zTJ0Y2oe0_EJAiXbL6OyF9S5tKxDXV8JIndSA",
    "redirect_uri": "adobepass://com.programmer"  
 }"""

# rest-api-dcr/apis/dynamic-client-registration-apis-retrieve-access-token.md
TOKEN_HEADERS = dict(REGISTER_HEADERS, **{"Content-Type": "application/x-www-form-urlencoded"})
TOKEN_BODY = "client_id=s6BhdRkqt3&client_secret=t7AkePiru4&grant_type=client_credentials"

# rest-api-v2/apis/sessions-apis/rest-api-v2-sessions-apis-create-authentication-session.md, sample 1
SESSION_HEADERS = {
    "Content-Type": "application/x-www-form-urlencoded",
    "AP-Device-Identifier": "fingerprint YmEyM2QxNDEtZDcxNS01NjFjLTk0ZjQtZTllNGM5NjZiMWVi",
    "X-Device-Info": REGISTER_HEADERS["X-Device-Info"],
    "Accept": "application/json",
    "User-Agent": REGISTER_HEADERS["User-Agent"],
}
SESSION_BODY = "mvpd=Cablevision&domainName=adobe.com&redirectUrl=https%3A%2F%2Fadobe.com"


def sample_token(client):
    """Register and get a token with the samples' own requests (the token
    sample's credentials replaced by the ones just issued)."""
    creds = client.request("POST", "/o/client/register", REGISTER_HEADERS, REGISTER_BODY)
    assert creds.status == 201, creds.body
    assert creds.json()["redirect_uris"] == ["adobepass://com.programmer"]
    body = TOKEN_BODY.replace("s6BhdRkqt3", creds.json()["client_id"]) \
                     .replace("t7AkePiru4", creds.json()["client_secret"])
    token = client.request("POST", "/o/client/token", TOKEN_HEADERS, body)
    assert token.status == 201, token.body
    return token.json()["access_token"]


def test_dcr_samples_are_accepted(client):
    sample_token(client)


def test_token_sample_with_unregistered_credentials_is_invalid_client(client):
    reply = client.request("POST", "/o/client/token", TOKEN_HEADERS, TOKEN_BODY)
    assert (reply.status, reply.json()) == (400, {"error": "invalid_client"})


def test_v2_samples_are_accepted(client, emu):
    auth = {"Authorization": "Bearer " + sample_token(client)}
    # Configuration sample: note the trailing slash.
    config = client.request("GET", "/api/v2/REF30/configuration/",
                            dict(auth, **{k: SESSION_HEADERS[k] for k in ("X-Device-Info", "Accept", "User-Agent")}))
    assert config.status == 200
    session = client.request("POST", "/api/v2/REF30/sessions", dict(auth, **SESSION_HEADERS), SESSION_BODY)
    assert session.status == 200
    assert session.json()["actionName"] == "authenticate"
    # Retrieve-session sample path.
    code = session.json()["code"]
    assert client.request("GET", f"/api/v2/sessions/REF30/{code}", auth).status == 200
    emu.control("login", {"code": code})
    decision_headers = {**auth, **SESSION_HEADERS, "Content-Type": "application/json"}
    decision = client.request("POST", "/api/v2/REF30/decisions/authorize/Cablevision", decision_headers,
                              '{\n    "resources": ["REF30"]\n}')
    assert decision.status == 200 and decision.json()["decisions"][0]["authorized"] is True
    device = {k: SESSION_HEADERS[k] for k in ("AP-Device-Identifier", "X-Device-Info")}
    logout = client.request("GET", "/api/v2/REF30/logout/Cablevision?redirectUrl=https%3A%2F%2Fadobe.com",
                            dict(auth, **device))
    assert logout.json()["logouts"]["Cablevision"]["actionName"] == "logout"


def test_requests_breaking_the_docs_are_rejected(client):
    auth = {"Authorization": "Bearer " + sample_token(client)}
    without_device = {k: v for k, v in SESSION_HEADERS.items() if k != "AP-Device-Identifier"}
    assert_enhanced(client.request("POST", "/api/v2/REF30/sessions", dict(auth, **without_device), SESSION_BODY),
                    400, "invalid_header_device_identifier")
    # Decisions take JSON, not a form.
    assert client.request("POST", "/api/v2/REF30/decisions/authorize/Cablevision",
                          dict(auth, **SESSION_HEADERS), "resources=REF30").status == 400
    # Sessions are created with POST.
    assert client.request("GET", "/api/v2/REF30/sessions", dict(auth, **SESSION_HEADERS)).status == 405
    # No bearer token.
    assert client.request("POST", "/api/v2/REF30/sessions", SESSION_HEADERS, SESSION_BODY).status == 401
    # Registration without a software statement.
    reply = client.request("POST", "/o/client/register", REGISTER_HEADERS, '{"redirect_uri": "adobepass://x"}')
    assert (reply.status, reply.json()) == (400, {"error": "invalid_request"})


def test_head_request_keeps_connection_usable(emu):
    connection = emu.connection()
    connection.request("HEAD", "/api/v2/REF30/configuration")
    response = connection.getresponse()
    response.read()
    assert response.status == 405
    connection.request("GET", "/_emulator/stats")
    assert connection.getresponse().status == 200
    connection.close()
    assert isinstance(connection, http.client.HTTPConnection)
