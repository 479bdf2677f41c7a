"""Single sign-on (platform identity, Roku, service token, Apple partner), TempPass, degraded access,
environments, and the endpoint-by-endpoint matrix of optional device headers, through the package."""

import base64
import json
import time
from urllib.parse import urlparse

import pytest

import passauth
from passauth import InvalidArgumentError, ServiceError

SUBJECT = "eyJhbGciOiJSUzI1NiJ9." + base64.urlsafe_b64encode(b'{"sub":"jane"}').decode().rstrip("=") + ".sig"
SERVICE_TOKEN = "eyJhbGciOiJSUzI1NiJ9." + base64.urlsafe_b64encode(b'{"sub":"svc-user"}').decode().rstrip("=") + ".sig"
FAR_FUTURE = str(int(time.time() * 1000) + 10 * 365 * 86400 * 1000)
INFO = {"primaryHardwareType": "SetTopBox", "model": "Test", "vendor": "passauth", "osName": "Linux"}


def pfs(access="granted", provider="Cablevision", expires=FAR_FUTURE):
    return {"frameworkPermissionInfo": {"accessStatus": access},
            "frameworkProviderInfo": {"id": provider, "expirationDate": expires}}


def dev(name, **extra):
    device = {"id": name, "info": INFO}
    device.update(extra)
    return device


@pytest.fixture
def client(make_config):
    with passauth.Client(make_config(logLevel="none")) as c:
        yield c


def login(emu, client, mvpd, device):
    session = client.create_session(mvpd=mvpd, domain_name="adobe.com", redirect_url="https://adobe.com", device=device)
    assert session.action_name == "authenticate" and session.code
    emu.control("login", {"code": session.code})
    return session


# Platform identity and service token SSO ---------------------------------------------------------------

@pytest.mark.parametrize("key, header", [("subjectToken", "adobe-subject-token"),
                                         ("rokuConnectToken", "x-roku-reserved-roku-connect-token")])
def test_platform_identity_sso_shares_the_profile_between_devices(emu, client, key, header):
    token = SUBJECT if key == "subjectToken" else "roku-opaque-token"
    login(emu, client, "AdobePass_SMI", dev("tv-1", **{key: token}))
    other = dev("tv-2", **{key: token})
    profile = client.profile("AdobePass_SMI", device=other)
    assert profile is not None and profile.type == "platformSSO"
    session = client.create_session(mvpd="AdobePass_SMI", device=other)
    assert (session.action_name, session.reason_type) == ("authorize", "authenticatedSSO")
    (decision,) = client.authorize("AdobePass_SMI", ["REF30"], device=other)
    assert decision.authorized and decision.token is not None
    assert client.profiles(device=dev("tv-3")) == {}  # no SSO identity, no profile
    sent = [r["headers"] for r in emu.control("requests")["requests"] if r["endpoint"] == "decisions.authorize"]
    assert sent and sent[-1].get(header) == token


def test_subject_token_wins_over_roku_token(emu, client):
    client.profiles(device=dev("tv-1", subjectToken=SUBJECT, rokuConnectToken="roku-opaque-token"))
    (request,) = [r for r in emu.control("requests")["requests"] if r["endpoint"] == "profiles"]
    assert request["headers"]["adobe-subject-token"] == SUBJECT
    assert "x-roku-reserved-roku-connect-token" not in request["headers"]


def test_service_token_sso(emu, client):
    login(emu, client, "AdobeShibboleth", dev("web-1", serviceToken=SERVICE_TOKEN))
    other = dev("web-2", serviceToken=SERVICE_TOKEN)
    assert client.profile("AdobeShibboleth", device=other).type == "serviceTokenSSO"
    (decision,) = client.authorize("AdobeShibboleth", ["REF30"], device=other)
    assert decision.authorized and decision.source == "mvpd"


# Partner SSO (Apple) ---------------------------------------------------------------------------------

def test_apple_partner_sso_journey_and_partner_logout(emu, client):
    apple = dev("appletv-1", partnerFrameworkStatus=pfs())
    session = client.partner_sso_session("Apple", domain_name="adobe.com", redirect_url="https://adobe.com", device=apple)
    assert (session.action_name, session.mvpd) == ("partner_profile", "Cablevision")
    request = session.raw["authenticationRequest"]
    assert request["type"] == "saml" and request["request"]
    saml = base64.b64encode(b"<samlp:Response>user-jane+/=</samlp:Response>").decode()
    profiles = client.partner_sso_profile(saml, "Apple", device=apple)
    assert (profiles["Cablevision"].type, profiles["Cablevision"].issuer) == ("appleSSO", "Apple")
    assert client.stored_profiles(device=apple)["Cablevision"].type == "appleSSO"
    (decision,) = client.authorize("Cablevision", ["REF30"], device=apple)
    assert decision.authorized
    (action,) = client.logout("Cablevision", "https://adobe.com/done", device=apple).actions
    assert (action.action_name, action.action_type) == ("partner_logout", "partner_interactive")
    sent = {r["endpoint"]: r for r in emu.control("requests")["requests"]}
    assert json.loads(base64.b64decode(sent["sessions.sso"]["headers"]["ap-partner-framework-status"])) == pfs()
    assert sent["profiles.sso"]["path"] == "/api/v2/REF30/profiles/sso/Apple"
    assert "SAMLResponse=" + saml.replace("+", "%2B").replace("/", "%2F").replace("=", "%3D") == sent["profiles.sso"]["body"]


def test_apple_partner_sso_fallbacks_continue_the_basic_flow(emu, client):
    denied = client.partner_sso_session("Apple", domain_name="adobe.com", redirect_url="https://adobe.com",
                                        device=dev("appletv-1", partnerFrameworkStatus=pfs("denied", provider="x")))
    assert (denied.action_name, denied.reason_type) == ("authenticate", "pfs_fallback") and denied.code
    missing = client.partner_sso_session("Apple", domain_name="adobe.com", device=dev("appletv-1", partnerFrameworkStatus=pfs()))
    assert (missing.action_name, missing.reason_type, missing.missing_parameters) == \
        ("resume", "missing_parameters_fallback", ["redirectUrl"])
    with pytest.raises(ServiceError) as error:
        client.partner_sso_profile("PHg+", "Apple", device=dev("appletv-1", partnerFrameworkStatus=pfs("notDetermined", provider="x")))
    assert error.value.code == "invalid_header_pfs_permission_access_not_determined"
    with pytest.raises(ServiceError) as error:
        client.partner_sso_session("Google", domain_name="a", redirect_url="b", device=dev("appletv-1"))
    assert error.value.code == "invalid_parameter_partner"


def test_partner_inputs_are_validated_before_any_request(emu, client):
    bad_statuses = [{"frameworkPermissionInfo": {"accessStatus": "granted"}},
                    {**pfs(), "extra": 1},
                    {"frameworkPermissionInfo": {"accessStatus": "maybe"}, "frameworkProviderInfo": {}},
                    {"frameworkPermissionInfo": {"accessStatus": "granted"}, "frameworkProviderInfo": {"id": "x"}},
                    {"frameworkPermissionInfo": {"accessStatus": "granted", "error": {"code": 1}},
                     "frameworkProviderInfo": {"id": "x", "expirationDate": "1"}},
                    pfs(expires="soon")]
    for status in bad_statuses:
        with pytest.raises(InvalidArgumentError) as error:
            client.partner_sso_session("Apple", device=dev("d", partnerFrameworkStatus=status))
        assert error.value.key.startswith("device.partnerFrameworkStatus")
    with pytest.raises(InvalidArgumentError):
        client.partner_sso_profile("not base64!", "Apple", device=dev("d", partnerFrameworkStatus=pfs()))
    with pytest.raises(InvalidArgumentError):
        client.partner_sso_session("", device=dev("d"))
    for identity in ({}, {"email": 3}, {"email": ""}):
        with pytest.raises(InvalidArgumentError):
            client.profiles(device=dev("d", tempPassIdentity=identity))
    assert emu.control("stats")["requests"] == {}


# TempPass and degraded access --------------------------------------------------------------------------

def test_basic_temp_pass_and_its_duration_limit(emu, client):
    emu.control("config", {"tempPass": {"durationSeconds": 60}})
    session = client.create_session(mvpd="TempPass_TEST40")
    assert (session.action_name, session.reason_type) == ("authorize", "temporary")
    assert client.profile("TempPass_TEST40").type == "temporary"
    (decision,) = client.authorize("TempPass_TEST40", ["REF30"])
    assert (decision.source, decision.authorized) == ("temppass", True) and decision.token is not None
    emu.control("advance", {"seconds": 61})
    (expired,) = client.authorize("TempPass_TEST40", ["REF30"])
    assert (expired.source, expired.authorized, expired.error.code) == \
        ("temppass", False, "temporary_access_duration_limit_exceeded")
    with pytest.raises(ServiceError) as error:
        client.profile("TempPass_TEST40")
    assert error.value.code == "temporary_access_duration_limit_exceeded" and error.value.http_status == 403


def test_promotional_temp_pass_is_keyed_by_the_identity(emu, client):
    emu.control("config", {"tempPass": {"maxResources": 1}})
    promo = dev("tv-promo", tempPassIdentity={"email": "jane@example.com"})
    profile = client.profile("flexibleTempPass", device=promo)
    assert profile.type == "temporary" and profile.attributes
    # One request per resource, side by side: whichever arrives first gets the one resource.
    first, second = sorted(client.authorize("flexibleTempPass", ["r1", "r2"], device=promo), key=lambda d: not d.authorized)
    assert (first.source, first.authorized) == ("temppass", True)
    assert (second.authorized, second.error.code) == (False, "temporary_access_resources_limit_exceeded")
    requests = [r for r in emu.control("requests")["requests"] if r["endpoint"] == "decisions.authorize"]
    assert len(requests) == 2
    for request in requests:
        assert json.loads(base64.b64decode(request["headers"]["ap-temppass-identity"])) == {"email": "jane@example.com"}
    (anonymous,) = client.authorize("flexibleTempPass", ["r1"], device=dev("tv-promo"))
    assert anonymous.error.code == "invalid_header_identity_for_temporary_access"


def test_degraded_access_results_are_normal_results(emu, client):
    emu.control("config", {"degraded": {"Cablevision": "AuthNAll"}})
    session = client.create_session(mvpd="Cablevision")
    assert (session.action_name, session.reason_type) == ("authorize", "degraded")
    assert client.profile("Cablevision").type == "degraded"
    (decision,) = client.authorize("Cablevision", ["REF30"])
    assert (decision.source, decision.authorized) == ("degradation", True) and decision.token is not None
    (pre,) = client.preauthorize("Cablevision", ["REF30"])
    assert (pre.source, pre.authorized) == ("degradation", True)
    emu.control("config", {"degraded": {"Cablevision": "AuthZNone"}})
    emu.control("profiles", {"deviceId": "py-device-1", "mvpd": "Cablevision"})
    (denied,) = client.authorize("Cablevision", ["REF30"])
    assert (denied.source, denied.authorized, denied.error.code) == \
        ("degradation", False, "authorization_denied_by_degradation_rule")


# Environments -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("environment, host", [
    ("production", "sp.auth.adobe.com"), ("staging", "sp.auth-staging.adobe.com"),
    ("prequal-production", "sp-prequal.auth.adobe.com"), ("prequal-staging", "sp-prequal.auth-staging.adobe.com")])
def test_environments_map_to_their_hosts(make_config, environment, host):
    config = make_config(environment=environment)
    del config["baseUrl"]
    with passauth.Client(config) as c:
        url = urlparse(c.authenticate_url("8ER640M"))
    assert (url.scheme, url.netloc, url.path) == ("https", host, "/api/v2/authenticate/REF30/8ER640M")


def test_unknown_environment_is_an_invalid_argument(make_config):
    config = make_config(environment="qa")
    del config["baseUrl"]
    with pytest.raises(InvalidArgumentError) as error:
        passauth.Client(config)
    assert error.value.key == "environment"


# The header matrix ---------------------------------------------------------------------------------------

EVERY_VALUE = {"id": "matrix-device", "info": INFO, "ip": "203.0.113.7", "userAgent": "passauth-test/1",
               "subjectToken": SUBJECT, "rokuConnectToken": "roku-opaque-token", "serviceToken": SERVICE_TOKEN,
               "partnerFrameworkStatus": pfs(), "tempPassIdentity": {"email": "jane@example.com"},
               "visitorId": "visitor-1"}
OPTIONAL = ["ap-device-identifier", "x-device-info", "x-forwarded-for", "user-agent", "adobe-subject-token",
            "x-roku-reserved-roku-connect-token", "ad-service-token", "ap-partner-framework-status",
            "ap-temppass-identity", "ap-visitor-identifier"]
_DEVICE = {"ap-device-identifier", "x-device-info", "x-forwarded-for", "user-agent", "ap-visitor-identifier"}
_CODE = {"x-forwarded-for", "user-agent", "ap-visitor-identifier"}
_SSO = {"adobe-subject-token", "ad-service-token"}  # Roku's header is the alternative, never sent with it
# From each endpoint's reference page (rest-apis/rest-api-v2/apis/**), independently of the library's table.
DOCUMENTED = {
    "configuration": _DEVICE - {"ap-visitor-identifier"},
    "sessions.create": _DEVICE | _SSO,
    "sessions.resume": _CODE,
    "sessions.get": _CODE,
    "profiles": _DEVICE | _SSO | {"ap-partner-framework-status"},
    "profiles.mvpd": _DEVICE | _SSO | {"ap-partner-framework-status", "ap-temppass-identity"},
    "profiles.code": _CODE | {"ap-temppass-identity"},
    "decisions.preauthorize": _DEVICE | _SSO | {"ap-partner-framework-status"},
    "decisions.authorize": _DEVICE | _SSO | {"ap-partner-framework-status", "ap-temppass-identity"},
    "logout": _DEVICE | _SSO,
    "sessions.sso": _DEVICE | {"ap-partner-framework-status"},
    "profiles.sso": _DEVICE | {"ap-partner-framework-status"},
}


def test_each_endpoint_sends_exactly_its_documented_optional_headers(emu, client):
    d = EVERY_VALUE
    session = client.create_session(mvpd="Cablevision", domain_name="adobe.com", device=d)
    client.configuration(device=d)
    client.resume_session(session.code, redirect_url="https://adobe.com", device=d)
    client.session(session.code, device=d)
    client.profile_for_code(session.code, device=d)
    client.profiles(device=d)
    client.profile("Cablevision", device=d)
    emu.control("profiles", {"deviceId": d["id"], "mvpd": "Cablevision"})
    client.preauthorize("Cablevision", ["REF30"], device=d)
    client.authorize("Cablevision", ["REF30"], device=d)
    client.partner_sso_session("Apple", domain_name="adobe.com", redirect_url="https://adobe.com", device=d)
    client.partner_sso_profile(base64.b64encode(b"<r/>").decode(), device=d)
    client.logout("Cablevision", "https://adobe.com", device=d)
    seen = {}
    for request in emu.control("requests")["requests"]:
        if request["endpoint"] in DOCUMENTED:
            seen.setdefault(request["endpoint"], request["headers"])
    assert set(seen) == set(DOCUMENTED)
    for endpoint, headers in seen.items():
        sent = {name for name in OPTIONAL if name in headers}
        assert sent == DOCUMENTED[endpoint], endpoint
