"""Dynamic Client Registration endpoints."""

from emu_support import DEVICE_INFO, FORM, SOFTWARE_STATEMENT, assert_enhanced

import pytest


def register(client, body, content_type="application/json"):
    return client.request("POST", "/o/client/register", {"Content-Type": content_type}, body)


def test_register_returns_documented_fields(client, emu):
    reply = register(client, {"software_statement": SOFTWARE_STATEMENT,
                              "redirect_uri": "adobepass://com.programmer"})
    assert reply.status == 201
    body = reply.json()
    assert set(body) == {"client_id", "client_secret", "client_id_issued_at", "redirect_uris",
                         "grant_types", "scopes"}
    assert body["redirect_uris"] == ["adobepass://com.programmer"]
    assert body["grant_types"] == ["client_credentials"]
    assert isinstance(body["client_id_issued_at"], int)
    assert emu.control("stats")["registrations"] == 1


@pytest.mark.parametrize("body, content_type, error", [
    ({}, "application/json", "invalid_request"),
    ("not json", "application/json", "invalid_request"),
    ({"software_statement": SOFTWARE_STATEMENT}, FORM, "invalid_request"),
    ({"software_statement": "abc"}, "application/json", "invalid_software_statement"),
    ({"software_statement": "a.bm90anNvbg.c"}, "application/json", "invalid_software_statement"),
    ({"software_statement": SOFTWARE_STATEMENT, "redirect_uri": "no scheme"},
     "application/json", "invalid_redirect_uri"),
])
def test_register_documented_errors(client, body, content_type, error):
    reply = register(client, body, content_type)
    assert reply.status == 400
    assert reply.json() == {"error": error}


def test_unapproved_software_statement(client, emu):
    emu.control("config", {"unapprovedSoftwareStatements": [SOFTWARE_STATEMENT]})
    reply = register(client, {"software_statement": SOFTWARE_STATEMENT})
    assert (reply.status, reply.json()) == (400, {"error": "unapproved_software_statement"})


def test_token_returns_documented_fields(client, emu):
    creds = client.register()
    reply = client.request("POST", "/o/client/token", {"Content-Type": FORM, "X-Device-Info": DEVICE_INFO},
                           f"client_id={creds['client_id']}&client_secret={creds['client_secret']}"
                           "&grant_type=client_credentials")
    assert reply.status == 201
    body = reply.json()
    assert set(body) == {"id", "access_token", "created_at", "expires_in", "token_type"}
    assert body["token_type"] == "bearer" and body["expires_in"] == 3600
    assert body["created_at"] > 1_600_000_000_000  # milliseconds
    assert emu.control("stats")["tokensIssued"] == 1


@pytest.mark.parametrize("form, error", [
    ("client_id=x&client_secret=y", "invalid_request"),
    ("client_id=x&client_id=x&client_secret=y&grant_type=client_credentials", "invalid_request"),
    ("client_id=x&client_secret=y&grant_type=password", "unsupported_grant_type"),
    ("client_id=unknown&client_secret=y&grant_type=client_credentials", "invalid_client"),
])
def test_token_documented_errors(client, form, error):
    reply = client.request("POST", "/o/client/token", {"Content-Type": FORM}, form)
    assert (reply.status, reply.json()) == (400, {"error": error})


def test_token_wrong_secret_and_content_type(client):
    creds = client.register()
    form = f"client_id={creds['client_id']}&client_secret=wrong&grant_type=client_credentials"
    assert client.request("POST", "/o/client/token", {"Content-Type": FORM}, form).json() == \
        {"error": "invalid_client"}
    reply = client.request("POST", "/o/client/token", {"Content-Type": "application/json"}, "{}")
    assert (reply.status, reply.json()) == (400, {"error": "invalid_request"})


def test_missing_unknown_and_expired_tokens_get_401(client, emu):
    path = "/api/v2/REF30/configuration"
    assert_enhanced(client.request("GET", path), 401, "invalid_access_token_client_application")
    assert_enhanced(client.request("GET", path, {"Authorization": "Bearer nope"}), 401,
                    "invalid_access_token_client_application")
    client.login_token()
    assert client.api("GET", path).status == 200
    emu.control("advance", {"seconds": 3601})
    body = assert_enhanced(client.api("GET", path), 401, "invalid_access_token_client_application")
    assert body["action"] == "application-registration"


def test_expire_tokens_and_revoke_clients(client, emu):
    creds = client.register()
    form = (f"client_id={creds['client_id']}&client_secret={creds['client_secret']}"
            "&grant_type=client_credentials")
    client.token = client.request("POST", "/o/client/token", {"Content-Type": FORM}, form).json()["access_token"]
    emu.control("expire-tokens", {})
    assert client.api("GET", "/api/v2/REF30/configuration").status == 401
    assert client.request("POST", "/o/client/token", {"Content-Type": FORM}, form).status == 201
    emu.control("revoke-clients", {})
    reply = client.request("POST", "/o/client/token", {"Content-Type": FORM}, form)
    assert (reply.status, reply.json()) == (400, {"error": "invalid_client"})


def test_token_ttl_from_config(client, emu):
    emu.control("config", {"tokenTtlSeconds": 5})
    client.login_token()
    emu.control("advance", {"seconds": 6})
    assert client.api("GET", "/api/v2/REF30/configuration").status == 401


def test_dcr_wrong_method(client):
    reply = client.request("GET", "/o/client/register")
    assert reply.status == 405 and reply.headers["allow"] == "POST"
