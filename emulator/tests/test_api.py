"""REST API V2 endpoints: configuration, sessions, authenticate, profiles,
decisions, logout; validation errors."""

import base64
import json
import urllib.parse

import pytest
from emu_support import DEVICE_ID, assert_enhanced, device

from passauth_emulator import ControlCallError

SESSION_KEYS = {"actionName", "actionType", "reasonType", "url", "code", "sessionId", "mvpd",
                "serviceProvider", "notBefore", "notAfter"}


def test_configuration(client):
    reply = client.api("GET", "/api/v2/REF30/configuration")
    assert reply.status == 200
    body = reply.json()
    assert body["requestor"]["id"] == "REF30"
    mvpds = {m["id"]: m for m in body["requestor"]["mvpds"]}
    assert {"Cablevision", "TempPass_TEST40", "AdobePass_SMI"} <= set(mvpds)
    assert mvpds["TempPass_TEST40"]["isTempPass"] is True
    assert {"id", "displayName", "logoUrl", "isTempPass", "isProxy", "boardingStatus",
            "enablePlatformServices", "enforcePlatformPermissions"} <= set(mvpds["Cablevision"])


def test_unknown_service_provider(client):
    assert_enhanced(client.api("GET", "/api/v2/NOPE/configuration"), 400,
                    "invalid_parameter_service_provider")


def test_create_session_authenticate(client):
    body = client.create_session()
    assert set(body) == SESSION_KEYS
    assert (body["actionName"], body["actionType"], body["reasonType"]) == \
        ("authenticate", "interactive", "none")
    assert body["url"] == f"/api/v2/authenticate/REF30/{body['code']}"
    assert isinstance(body["notBefore"], str) and int(body["notAfter"]) - int(body["notBefore"]) == 1800_000


def test_create_session_missing_parameters_then_resume(client):
    reply = client.api("POST", "/api/v2/REF30/sessions", body="")
    body = reply.json()
    assert (body["actionName"], body["actionType"]) == ("resume", "direct")
    assert body["missingParameters"] == ["mvpd", "domainName", "redirectUrl"]
    code = body["code"]
    assert body["url"] == f"/api/v2/REF30/sessions/{code}"
    retry = client.api("POST", f"/api/v2/REF30/sessions/{code}", body="mvpd=Cablevision&domainName=adobe.com",
                       device_id=None).json()
    assert (retry["actionName"], retry["missingParameters"]) == ("retry", ["redirectUrl"])
    done = client.api("POST", f"/api/v2/REF30/sessions/{code}", body="redirectUrl=https%3A%2F%2Fadobe.com",
                      device_id=None).json()
    assert (done["actionName"], done["code"], done["mvpd"]) == ("authenticate", code, "Cablevision")


def test_retrieve_session(client):
    info = base64.b64encode(json.dumps({"primaryHardwareType": "SetTopBox", "model": "AppleTV",
                                        "osName": "tvOS", "osVersion": "17.1"}).encode()).decode()
    code = client.api("POST", "/api/v2/REF30/sessions", {"X-Device-Info": info},
                      "domainName=adobe.com").json()["code"]
    for path in (f"/api/v2/REF30/sessions/{code}", f"/api/v2/sessions/REF30/{code}"):
        body = client.api("GET", path, device_id=None).json()
        assert body["missingParameters"] == ["mvpd", "redirectUrl"]
        assert body["existingParameters"] == {"domainName": "adobe.com", "serviceProvider": "REF30"}
        assert body["device"]["operatingSystem"]["name"] == "tvOS"
        assert body["device"]["operatingSystem"]["version"]["minor"] == 1
        assert isinstance(body["notAfter"], str)
    # Nulls only where the page's sample has them; other strings the header did not give are left out
    # (Adobe's OpenAPI file types them strings).
    device_ = body["device"]
    assert (device_["applicationId"], device_["display"]["vendor"], device_["display"]["version"],
            device_["display"]["diagonalSize"], device_["connection"]["type"]) == (None,) * 5
    assert "family" not in device_["operatingSystem"] and "vendor" not in device_["operatingSystem"]
    assert "name" not in device_["browser"] and "vendor" not in device_["browser"]
    assert "vendor" not in device_["hardware"] and "manufacturer" not in device_["hardware"]
    assert isinstance(device_["connection"]["ipAddress"], str)
    info = base64.b64encode(json.dumps({"model": "iPhone", "osName": "iOS", "osVersion": "17", "osFamily": "iOS",
                                        "osVendor": "Apple", "browserName": "Safari", "browserVendor": "Apple",
                                        "diagonalScreenSize": 6.1, "connectionType": "WiFi"}).encode()).decode()
    code = client.api("POST", "/api/v2/REF30/sessions", {"X-Device-Info": info}, "domainName=adobe.com").json()["code"]
    device_ = client.api("GET", f"/api/v2/REF30/sessions/{code}", device_id=None).json()["device"]
    assert (device_["operatingSystem"]["family"], device_["operatingSystem"]["vendor"]) == ("iOS", "Apple")
    assert (device_["browser"]["name"], device_["browser"]["vendor"]) == ("Safari", "Apple")
    assert (device_["display"]["diagonalSize"], device_["connection"]["type"]) == ("6.1", "WiFi")


def test_session_code_errors(client, emu):
    assert_enhanced(client.api("GET", "/api/v2/REF30/sessions/NOSUCH1"), 400, "invalid_authentication_session")
    assert_enhanced(client.api("GET", "/api/v2/REF30/sessions/bad-code"), 400, "invalid_parameter_code")
    code = client.create_session()["code"]
    emu.control("advance", {"seconds": 1801})
    assert_enhanced(client.api("POST", f"/api/v2/REF30/sessions/{code}", body="mvpd=Cablevision"), 400,
                    "invalid_authentication_session")


def test_create_session_validation(client):
    form = "mvpd=Cablevision&domainName=adobe.com&redirectUrl=x"
    assert_enhanced(client.api("POST", "/api/v2/REF30/sessions", body=form, device_id=None), 400,
                    "invalid_header_device_identifier")
    assert_enhanced(client.api("POST", "/api/v2/REF30/sessions", body=form, device_id="uuid 1234"), 400,
                    "invalid_header_device_identifier")
    assert_enhanced(client.api("POST", "/api/v2/REF30/sessions", {"X-Device-Info": "!!!"}, form), 400,
                    "invalid_header_device_info")
    assert_enhanced(client.api("POST", "/api/v2/REF30/sessions", {"Content-Type": "text/plain"}, form), 400,
                    "invalid_header_content_type")
    assert_enhanced(client.api("POST", "/api/v2/REF30/sessions", body="mvpd=Unknown"), 400,
                    "invalid_integration")


def test_authenticate_page_and_login_form(client, emu):
    session = client.create_session()
    page = client.request("GET", session["url"])
    assert page.status == 302
    login_url = page.headers["location"]
    form = client.request("GET", login_url)
    assert form.status == 200 and form.headers["content-type"].startswith("text/html")
    assert b"<form" in form.body
    done = client.request("POST", "/_emulator/mvpd/login", {"Content-Type": "application/x-www-form-urlencoded"},
                          f"code={session['code']}&userId=alice")
    assert (done.status, done.headers["location"]) == (302, "https://adobe.com")
    profile = client.api("GET", "/api/v2/REF30/profiles/Cablevision").json()["profiles"]["Cablevision"]
    assert profile["attributes"]["userID"] == {"value": "alice", "state": "plain"}


def test_authenticate_unknown_code_is_html_400(client):
    reply = client.request("GET", "/api/v2/authenticate/REF30/NOSUCH1")
    assert reply.status == 400 and reply.headers["content-type"].startswith("text/html")


def test_profile_appears_only_after_login(client, emu):
    session = client.create_session()
    assert client.api("GET", "/api/v2/REF30/profiles").json() == {"profiles": {}}
    assert client.api("GET", f"/api/v2/REF30/profiles/code/{session['code']}").json() == {"profiles": {}}
    emu.control("login", {"code": session["code"], "userId": "bob", "attributes": {"zip": "10001"}})
    profiles = client.api("GET", "/api/v2/REF30/profiles").json()["profiles"]
    assert set(profiles["Cablevision"]) == {"notBefore", "notAfter", "issuer", "type", "attributes"}
    assert (profiles["Cablevision"]["type"], profiles["Cablevision"]["issuer"]) == ("regular", "Cablevision")
    assert profiles["Cablevision"]["attributes"]["zip"]["value"] == "10001"
    by_code = client.api("GET", f"/api/v2/REF30/profiles/code/{session['code']}", device_id=None).json()
    assert "Cablevision" in by_code["profiles"]
    # Another device has no profile.
    assert client.api("GET", "/api/v2/REF30/profiles", device_id=device("other")).json() == {"profiles": {}}
    # A new session for the same device is already authorized.
    again = client.create_session()
    assert (again["actionName"], again["reasonType"]) == ("authorize", "authenticated")
    assert "code" not in again


def test_profile_expiry(client, emu):
    client.authenticate()
    emu.control("advance", {"seconds": 86401})
    client.login_token()  # the access token (1 h) expired too
    assert client.api("GET", "/api/v2/REF30/profiles").json() == {"profiles": {}}
    assert_enhanced(client.api("POST", "/api/v2/REF30/decisions/authorize/Cablevision",
                               body={"resources": ["REF30"]}), 403, "authenticated_profile_expired")


def test_control_login_errors(client, emu):
    with pytest.raises(ControlCallError) as unknown:
        emu.control("login", {"code": "NOSUCH1"})
    assert unknown.value.status == 404
    code = client.create_session()["code"]
    emu.control("advance", {"seconds": 1801})
    with pytest.raises(ControlCallError) as expired:
        emu.control("login", {"code": code})
    assert expired.value.status == 410


def test_authorize_permit_and_media_token(client):
    client.authenticate()
    reply = client.api("POST", "/api/v2/REF30/decisions/authorize/Cablevision", body={"resources": ["REF30"]})
    assert reply.status == 200
    (decision,) = reply.json()["decisions"]
    assert decision["authorized"] is True and decision["source"] == "mvpd"
    assert set(decision["token"]) == {"notBefore", "notAfter", "serializedToken"}
    assert isinstance(decision["notAfter"], int)


def test_authorize_deny_rule_is_item_level(client, emu):
    client.authenticate()
    emu.control("config", {"denyRules": [{"resource": "REF40", "details": "No \"Live\" channel"}]})
    path = "/api/v2/REF30/decisions/authorize/Cablevision"
    permit = client.api("POST", path, body={"resources": ["REF30"]}).json()["decisions"][0]
    reply = client.api("POST", path, body={"resources": ["REF40"]})
    assert reply.status == 200
    (deny,) = reply.json()["decisions"]
    assert permit["authorized"] is True
    assert deny["authorized"] is False and "token" not in deny
    assert (deny["error"]["code"], deny["error"]["status"]) == ("authorization_denied_by_mvpd", 403)
    assert deny["error"]["details"] == "No \"Live\" channel"


def test_preauthorize(client, emu):
    client.authenticate()
    emu.control("config", {"denyRules": [{"resource": "r2", "decision": "preauthorize"}]})
    reply = client.api("POST", "/api/v2/REF30/decisions/preauthorize/Cablevision",
                       body={"resources": ["r1", "r2"]})
    r1, r2 = reply.json()["decisions"]
    assert r1 == {"resource": "r1", "serviceProvider": "REF30", "mvpd": "Cablevision",
                  "source": "mvpd", "authorized": True}
    assert r2["error"]["code"] == "preauthorization_denied_by_mvpd"


def test_decisions_errors(client):
    path = "/api/v2/REF30/decisions/authorize/Cablevision"
    assert_enhanced(client.api("POST", path, body={"resources": ["REF30"]}), 403, "authenticated_profile_missing")
    assert_enhanced(client.api("POST", path, body={"resources": []}), 400, "invalid_parameter_resources")
    assert_enhanced(client.api("POST", path, body="resources=REF30"), 400, "invalid_header_content_type")
    assert_enhanced(client.api("POST", path, body={"resources": ["REF30"]}, device_id=None), 400,
                    "invalid_header_device_identifier")


def test_logout(client):
    client.authenticate()
    path = "/api/v2/REF30/logout/Cablevision?redirectUrl=" + urllib.parse.quote("https://adobe.com", safe="")
    entry = client.api("GET", path).json()["logouts"]["Cablevision"]
    assert (entry["actionName"], entry["actionType"], entry["mvpd"]) == ("logout", "interactive", "Cablevision")
    page = client.request("GET", entry["url"])
    assert (page.status, page.headers["location"]) == (302, "https://adobe.com")
    assert client.api("GET", "/api/v2/REF30/profiles").json() == {"profiles": {}}
    again = client.api("GET", path).json()["logouts"]["Cablevision"]
    assert (again["actionName"], again["actionType"]) == ("invalid", "none")


def test_logout_without_mvpd_logout_endpoint(client):
    client.authenticate(mvpd="Dish")
    entry = client.api("GET", "/api/v2/REF30/logout/Dish?redirectUrl=https%3A%2F%2Fadobe.com").json()
    assert entry == {"logouts": {"Dish": {"actionName": "complete", "actionType": "none", "mvpd": "Dish"}}}


def test_logout_requires_redirect_url(client):
    assert_enhanced(client.api("GET", "/api/v2/REF30/logout/Cablevision"), 400, "invalid_parameter_redirect_url")


@pytest.mark.parametrize("method, path", [
    ("POST", "/api/v2/REF30/configuration"),
    ("GET", "/api/v2/REF30/sessions"),
    ("DELETE", "/api/v2/REF30/profiles"),
    ("GET", "/api/v2/REF30/decisions/authorize/Cablevision"),
    ("POST", "/api/v2/REF30/logout/Cablevision"),
])
def test_wrong_method_is_405(client, method, path):
    reply = client.api(method, path)
    assert_enhanced(reply, 405, "method_not_allowed")
    assert reply.headers["allow"]


def test_unknown_path_is_404(client, emu):
    assert client.api("GET", "/api/v2/REF30/nothing/here").status == 404
    assert emu.control("stats")["requests"]["unknown"] == 1


def test_request_log_and_counters(client, emu):
    client.authenticate()
    log = emu.control("requests")["requests"]
    assert [r["endpoint"] for r in log] == ["register", "token", "sessions.create"]
    last = log[-1]
    assert last["headers"]["ap-device-identifier"] == DEVICE_ID
    assert last["body"].startswith("mvpd=Cablevision") and last["status"] == 200
    assert isinstance(last["timeMs"], float)
    assert emu.control("stats")["requests"] == {"register": 1, "token": 1, "sessions.create": 1}
    emu.control("reset", {})
    assert emu.control("requests") == {"requests": []}


def test_control_profiles_creates_a_profile_without_login(client, emu):
    created = emu.control("profiles", {"deviceId": "tv-raw-1", "mvpd": "Cablevision", "userId": "ann"})
    assert created["profile"]["type"] == "regular"
    # The profile belongs to the device whose AP-Device-Identifier is fingerprint base64(raw id).
    reply = client.api("POST", "/api/v2/REF30/decisions/authorize/Cablevision",
                       body={"resources": ["REF30"]}, device_id=device("tv-raw-1"))
    assert reply.status == 200 and reply.json()["decisions"][0]["authorized"] is True
    other = client.api("GET", "/api/v2/REF30/profiles", device_id=device("tv-raw-2")).json()
    assert other == {"profiles": {}}
    for bad in ({"deviceId": "", "mvpd": "Cablevision"}, {"deviceId": "x", "mvpd": "Nope"},
                {"deviceId": "x", "mvpd": "Cablevision", "type": "temporary"}):
        with pytest.raises(ControlCallError) as error:
            emu.control("profiles", bad)
        assert error.value.status == 400
