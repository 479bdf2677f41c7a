"""Single sign-on, TempPass and degraded access."""

import base64
import json

from emu_support import assert_enhanced, device

SUBJECT = "eyJhbGciOiJSUzI1NiJ9." + base64.urlsafe_b64encode(b'{"sub":"jane"}').decode().rstrip("=") + ".sig"


def pfs(access="granted", provider="Cablevision", expires="2025430636000"):
    status = {"frameworkPermissionInfo": {"accessStatus": access},
              "frameworkProviderInfo": {"id": provider, "expirationDate": expires}}
    return base64.b64encode(json.dumps(status).encode()).decode()


def test_platform_sso_profile_is_shared_between_devices(client):
    sso = {"Adobe-Subject-Token": SUBJECT}
    client.authenticate(mvpd="AdobePass_SMI", device_id=device("tv-1"), headers=sso)
    other = client.api("GET", "/api/v2/REF30/profiles", sso, device_id=device("tv-2")).json()["profiles"]
    assert other["AdobePass_SMI"]["type"] == "platformSSO"
    session = client.create_session("AdobePass_SMI", device("tv-2"), sso)
    assert (session["actionName"], session["reasonType"]) == ("authorize", "authenticatedSSO")
    # Without the SSO header the second device sees nothing.
    assert client.api("GET", "/api/v2/REF30/profiles", device_id=device("tv-2")).json() == {"profiles": {}}


def test_roku_token_gives_platform_sso(client):
    roku = {"X-Roku-Reserved-Roku-Connect-Token": "roku-opaque-token"}
    client.authenticate(mvpd="Cablevision", headers=roku)
    profile = client.api("GET", "/api/v2/REF30/profiles/Cablevision", roku,
                         device_id=device("roku-2")).json()["profiles"]["Cablevision"]
    assert profile["type"] == "platformSSO"


def test_service_token_sso(client):
    token = {"AD-Service-Token": SUBJECT}
    client.authenticate(mvpd="AdobeShibboleth", headers=token)
    profile = client.api("GET", "/api/v2/REF30/profiles/AdobeShibboleth", token,
                         device_id=device("web")).json()["profiles"]["AdobeShibboleth"]
    assert profile["type"] == "serviceTokenSSO"
    decision = client.api("POST", "/api/v2/REF30/decisions/authorize/AdobeShibboleth", token,
                          {"resources": ["REF30"]}, device_id=device("web")).json()["decisions"][0]
    assert decision["authorized"] is True


def test_apple_partner_sso(client):
    headers = {"AP-Partner-Framework-Status": pfs()}
    answer = client.api("POST", "/api/v2/REF30/sessions/sso/Apple", headers,
                        "domainName=adobe.com&redirectUrl=https%3A%2F%2Fadobe.com").json()
    assert (answer["actionName"], answer["mvpd"]) == ("partner_profile", "Cablevision")
    assert answer["authenticationRequest"]["type"] == "saml"
    assert answer["url"] == "/api/v2/REF30/profiles/sso/Apple"
    saml = base64.b64encode(b"<samlp:Response/>").decode()
    reply = client.api("POST", answer["url"], headers, "SAMLResponse=" + saml.replace("+", "%2B"))
    assert reply.status == 201
    profile = reply.json()["profiles"]["Cablevision"]
    assert (profile["type"], profile["issuer"]) == ("appleSSO", "Apple")
    logout = client.api("GET", "/api/v2/REF30/logout/Cablevision?redirectUrl=x").json()
    assert logout["logouts"]["Cablevision"]["actionName"] == "partner_logout"


def test_apple_partner_sso_fallbacks(client):
    form = "domainName=adobe.com&redirectUrl=https%3A%2F%2Fadobe.com"
    denied = client.api("POST", "/api/v2/REF30/sessions/sso/Apple",
                        {"AP-Partner-Framework-Status": pfs("denied")}, form).json()
    assert (denied["actionName"], denied["reasonType"]) == ("authenticate", "pfs_fallback")
    not_boarded = client.api("POST", "/api/v2/REF30/sessions/sso/Apple",
                             {"AP-Partner-Framework-Status": pfs(provider="Dish")}, form).json()
    assert not_boarded["reasonType"] == "configuration_fallback"
    missing = client.api("POST", "/api/v2/REF30/sessions/sso/Apple",
                         {"AP-Partner-Framework-Status": pfs()}, "domainName=adobe.com").json()
    assert (missing["actionName"], missing["reasonType"], missing["missingParameters"]) == \
        ("resume", "missing_parameters_fallback", ["redirectUrl"])
    assert_enhanced(client.api("POST", "/api/v2/REF30/sessions/sso/Google", body=form), 400,
                    "invalid_parameter_partner")


def test_apple_profile_errors(client):
    path = "/api/v2/REF30/profiles/sso/Apple"
    for status, code in ((pfs("notDetermined"), "invalid_header_pfs_permission_access_not_determined"),
                         (pfs("denied"), "invalid_header_pfs_permission_access_not_granted"),
                         (pfs(provider="Nobody"), "invalid_header_pfs_provider_id_not_determined"),
                         (pfs(expires="1000"), "invalid_header_pfs_provider_info_expired")):
        assert_enhanced(client.api("POST", path, {"AP-Partner-Framework-Status": status}, "SAMLResponse=PHg%2B"),
                        400, code)
    assert_enhanced(client.api("POST", path, body="SAMLResponse=PHg%2B"), 400,
                    "invalid_header_pfs_permission_access_not_present")
    assert_enhanced(client.api("POST", path, {"AP-Partner-Framework-Status": pfs()}, "x=1"), 400,
                    "invalid_parameter_saml_response")


def test_basic_temp_pass(client, emu):
    emu.control("config", {"tempPass": {"durationSeconds": 60}})
    session = client.create_session("TempPass_TEST40")
    assert (session["actionName"], session["reasonType"]) == ("authorize", "temporary")
    profile = client.api("GET", "/api/v2/REF30/profiles/TempPass_TEST40").json()["profiles"]["TempPass_TEST40"]
    assert (profile["type"], profile["issuer"]) == ("temporary", "Adobe")
    decision = client.api("POST", "/api/v2/REF30/decisions/authorize/TempPass_TEST40",
                          body={"resources": ["REF30"]}).json()["decisions"][0]
    assert (decision["source"], decision["authorized"]) == ("temppass", True)
    emu.control("advance", {"seconds": 61})
    assert_enhanced(client.api("GET", "/api/v2/REF30/profiles/TempPass_TEST40"), 403,
                    "temporary_access_duration_limit_exceeded")
    expired = client.api("POST", "/api/v2/REF30/decisions/authorize/TempPass_TEST40",
                         body={"resources": ["REF30"]}).json()["decisions"][0]
    assert expired["authorized"] is False
    assert expired["error"]["code"] == "temporary_access_duration_limit_exceeded"


def test_promotional_temp_pass(client, emu):
    emu.control("config", {"tempPass": {"maxResources": 1}})
    path = "/api/v2/REF30/decisions/authorize/flexibleTempPass"
    identity = {"AP-TempPass-Identity": "eyJlbWFpbCI6ImZvb0BiYXIuY29tIn0="}
    missing = client.api("POST", path, body={"resources": ["REF30"]}).json()["decisions"][0]
    assert missing["error"]["code"] == "invalid_header_identity_for_temporary_access"
    # One resource per authorize request ("usually up to 1").
    first = client.api("POST", path, identity, {"resources": ["r1"]}).json()["decisions"][0]
    second = client.api("POST", path, identity, {"resources": ["r2"]}).json()["decisions"][0]
    assert first["authorized"] is True
    assert second["error"]["code"] == "temporary_access_resources_limit_exceeded"


def test_degraded_access(client, emu):
    emu.control("config", {"degraded": {"Cablevision": "AuthNAll"}})
    session = client.create_session("Cablevision")
    assert (session["actionName"], session["reasonType"]) == ("authorize", "degraded")
    profile = client.api("GET", "/api/v2/REF30/profiles/Cablevision").json()["profiles"]["Cablevision"]
    assert profile["type"] == "degraded"
    assert profile["attributes"]["userID"]["value"].startswith("95cf93bcd183214a")
    decision = client.api("POST", "/api/v2/REF30/decisions/authorize/Cablevision",
                          body={"resources": ["REF30"]}).json()["decisions"][0]
    assert (decision["source"], decision["authorized"]) == ("degradation", True)


def test_degradation_authz_none(client, emu):
    client.authenticate()
    emu.control("config", {"degraded": {"Cablevision": "AuthZNone"}})
    decision = client.api("POST", "/api/v2/REF30/decisions/authorize/Cablevision",
                          body={"resources": ["REF30"]}).json()["decisions"][0]
    assert decision["source"] == "degradation" and decision["authorized"] is False
    assert decision["error"]["code"] == "authorization_denied_by_degradation_rule"
