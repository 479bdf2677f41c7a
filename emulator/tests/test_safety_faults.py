"""What the library's safety tests need: the service's clock in every Date header, Retry-After as an
HTTP-date, a hostile server echoing secrets, encoded and short secrets, reordered decisions, and raw
session timestamps."""

import email.utils
import json
import time
import urllib.parse

import pytest
from emu_support import FORM, Client

from passauth_emulator import ControlCallError, Emulator

CONFIG = "/api/v2/REF30/configuration"


def inject(emu, **fault):
    emu.control("faults", {"faults": [fault]})


def date_of(reply):
    return email.utils.parsedate_to_datetime(reply.headers["date"]).timestamp()


@pytest.fixture
def ready(client):
    client.login_token()
    return client


# --- the service's clock -------------------------------------------------------------------------

def test_every_response_has_a_date_from_the_emulator_clock(ready, emu):
    for reply in (ready.api("GET", CONFIG), ready.request("GET", "/nowhere"),
                  ready.request("GET", "/_emulator/stats")):
        assert abs(date_of(reply) - time.time()) < 5
    inject(emu, kind="http503")
    assert abs(date_of(ready.api("GET", CONFIG)) - time.time()) < 5
    emu.control("advance", {"seconds": 3600})
    assert abs(date_of(ready.api("GET", CONFIG)) - (time.time() + 3600)) < 5


def test_clock_offset_shifts_the_service_clock(client, emu):
    config = emu.control("config", {"clockOffsetMs": -120_000})
    assert config["clockOffsetMs"] == -120_000
    client.register()
    form = client.register()
    reply = client.request("POST", "/o/client/token", {"Content-Type": FORM},
                           f"grant_type=client_credentials&client_id={form['client_id']}"
                           f"&client_secret={urllib.parse.quote(form['client_secret'], safe='')}")
    assert abs(date_of(reply) - (time.time() - 120)) < 5
    assert abs(reply.json()["created_at"] / 1000 - (time.time() - 120)) < 5
    assert abs(emu.control("advance", {"seconds": 0})["nowMs"] / 1000 - (time.time() - 120)) < 5
    emu.control("config", {"clockOffsetMs": 90_000.5})  # replaces the offset, does not add to it
    assert abs(date_of(client.request("GET", CONFIG)) - (time.time() + 90)) < 5
    with pytest.raises(ControlCallError):
        emu.control("config", {"clockOffsetMs": "soon"})
    emu.control("reset", {})
    assert emu.control("config")["clockOffsetMs"] == 0


def test_clock_offset_from_the_constructor():
    with Emulator(throttle=False, clock_offset_ms=3_600_000) as emu:
        client = Client(emu)
        assert abs(date_of(client.request("GET", CONFIG)) - (time.time() + 3600)) < 5
        emu.control("reset", {})
        assert emu.control("config")["clockOffsetMs"] == 3_600_000
        client.close()


@pytest.mark.parametrize("fault", [{"kind": "http429"}, {"kind": "http503"}, {"kind": "status", "status": 503},
                                   {"kind": "status", "status": 429, "code": "too_many_requests"}])
def test_retry_after_as_an_http_date(ready, emu, fault):
    inject(emu, retryAfterDate=30, **fault)
    reply = ready.api("GET", CONFIG)
    assert reply.status == (fault["status"] if "status" in fault else int(fault["kind"][-3:]))
    value = reply.headers["retry-after"]
    assert value.endswith(" GMT") and not value.isdigit()
    assert abs(email.utils.parsedate_to_datetime(value).timestamp() - (date_of(reply) + 30)) <= 1


def test_retry_after_date_follows_the_emulator_clock(ready, emu):
    emu.control("config", {"clockOffsetMs": 7_200_000})
    inject(emu, kind="http429", retryAfterDate=-10)
    reply = ready.api("GET", CONFIG)
    retry_at = email.utils.parsedate_to_datetime(reply.headers["retry-after"]).timestamp()
    assert abs(retry_at - (time.time() + 7200 - 10)) < 5


# --- a hostile server echoing secrets -----------------------------------------------------------

def test_echo_enhanced_puts_the_token_in_every_field(ready, emu):
    inject(emu, kind="echo-enhanced")
    reply = ready.api("GET", CONFIG)
    assert reply.status == 400
    body = reply.json()
    for name in ("code", "message", "details", "helpUrl", "trace", "echo"):
        assert ready.token in body[name], name
    assert body["trace"] == ready.token and body["status"] == 400 and body["action"] == "none"
    inject(emu, kind="echo-enhanced", status=403, action="retry")
    assert (ready.api("GET", CONFIG).json()["action"]) == "retry"


def test_echo_200_puts_the_token_in_a_normal_answer(ready, emu):
    ready.authenticate()
    inject(emu, kind="echo-200", endpoint="profiles.mvpd", field="value")
    reply = ready.api("GET", "/api/v2/REF30/profiles/Cablevision")
    assert reply.status == 200
    body = reply.json()
    assert body["echo"] == f"Bearer {ready.token}"
    profile = body["profiles"]["Cablevision"]
    assert profile["echo"] == f"Bearer {ready.token}"
    assert profile["attributes"]["userID"]["value"].endswith(" " + ready.token)
    assert profile["type"] == "regular"  # the rest of the answer is untouched


def test_echo_request_pads_the_secret_to_a_chosen_offset(ready, emu):
    token = ready.token
    pad = 200 - len(token) // 2  # the token straddles byte 200
    inject(emu, kind="echo-request", padBytes=pad, status=502)
    reply = ready.api("GET", CONFIG)
    assert reply.status == 502 and reply.headers["content-type"].startswith("text/plain")
    assert reply.body[:pad] == b"." * pad
    assert reply.body[pad:pad + len(token)] == token.encode()
    assert pad < 200 < pad + len(token)
    assert f"Bearer {token}".encode() in reply.body[pad + len(token):]  # then the usual reflection


def test_echo_form_reflects_the_url_encoded_client_secret(client, emu):
    emu.control("config", {"secretEncoding": "base64", "clientSecretBytes": 4})
    creds = client.register()
    encoded = urllib.parse.quote(creds["client_secret"], safe="")
    inject(emu, kind="echo-form", endpoint="token")
    form = f"grant_type=client_credentials&client_id={creds['client_id']}&client_secret={encoded}"
    reply = client.request("POST", "/o/client/token", {"Content-Type": FORM}, form)
    assert reply.status == 400
    body = reply.json()
    assert body["error"] == "invalid_request" and encoded in body["error_description"]
    assert "%2B" in encoded and "%2F" in encoded and "%3D" in encoded


def test_echo_faults_on_the_token_endpoint_use_the_client_secret(client, emu):
    creds = client.register()
    inject(emu, kind="echo-enhanced", endpoint="token")
    form = f"grant_type=client_credentials&client_id={creds['client_id']}&client_secret={creds['client_secret']}"
    assert client.request("POST", "/o/client/token", {"Content-Type": FORM}, form).json()["trace"] == \
        creds["client_secret"]


# --- encoded and short secrets ----------------------------------------------------------------------

def test_short_base64_secrets_and_tokens(client, emu):
    config = emu.control("config", {"secretEncoding": "base64", "clientSecretBytes": 4, "accessTokenBytes": 4})
    assert (config["secretEncoding"], config["clientSecretBytes"], config["accessTokenBytes"]) == ("base64", 4, 4)
    creds = client.register()
    secret = creds["client_secret"]
    assert len(secret) == 8 and secret.endswith("==") and "+" in secret and "/" in secret
    # The token endpoint wants the secret percent-encoded: a raw "+" would read as a space.
    raw = f"grant_type=client_credentials&client_id={creds['client_id']}&client_secret={secret}"
    assert client.request("POST", "/o/client/token", {"Content-Type": FORM}, raw).json() == \
        {"error": "invalid_client"}
    form = f"grant_type=client_credentials&client_id={creds['client_id']}" \
           f"&client_secret={urllib.parse.quote(secret, safe='')}"
    reply = client.request("POST", "/o/client/token", {"Content-Type": FORM}, form)
    assert reply.status == 201, reply.body
    token = reply.json()["access_token"]
    assert len(token) == 8 and token.endswith("==") and "+" in token and "/" in token
    client.token = token
    assert client.api("GET", CONFIG).status == 200


def test_secret_config_is_checked(emu):
    for key, bad in (("secretEncoding", "hex"), ("clientSecretBytes", 0), ("accessTokenBytes", 2000),
                     ("clientSecretBytes", "4")):
        with pytest.raises(ControlCallError):
            emu.control("config", {key: bad})
    emu.control("config", {"clientSecretBytes": 12})
    assert emu.control("reset", {}) and emu.control("config")["clientSecretBytes"] == 24


# --- decisions order and resource echo --------------------------------------------------------------

def test_reverse_decisions(ready, emu):
    ready.authenticate()
    inject(emu, kind="reverse-decisions", endpoint="decisions.preauthorize")
    reply = ready.api("POST", "/api/v2/REF30/decisions/preauthorize/Cablevision", body={"resources": ["a", "b", "c"]})
    assert [d["resource"] for d in reply.json()["decisions"]] == ["c", "b", "a"]


def test_strip_resource_whitespace(ready, emu):
    ready.authenticate()
    mrss = '<rss version="2.0">\n  <channel><title>REF30</title></channel>\n</rss>'
    inject(emu, kind="strip-resource-whitespace")
    reply = ready.api("POST", "/api/v2/REF30/decisions/authorize/Cablevision", body={"resources": [mrss]})
    (decision,) = reply.json()["decisions"]
    assert decision["resource"] == "".join(mrss.split()) and decision["authorized"] is True


# --- raw session timestamps -------------------------------------------------------------------------

def test_raw_timestamps_on_sessions(ready, emu):
    inject(emu, kind="raw-timestamps", endpoint="sessions.create", notBefore="soon", notAfterRaw="1e999")
    reply = ready.api("POST", "/api/v2/REF30/sessions", body="mvpd=Cablevision&domainName=adobe.com"
                                                                "&redirectUrl=https%3A%2F%2Fadobe.com")
    assert reply.status == 200
    assert b'"notAfter": 1e999' in reply.body and b'"notBefore": "soon"' in reply.body
    assert json.loads(reply.body)["notAfter"] == float("inf")  # what a lenient parser makes of it
    inject(emu, kind="raw-timestamps", endpoint="sessions.get", notBefore=1.5, notAfter=18446744073709551616)
    code = json.loads(reply.body)["code"]
    body = ready.api("GET", f"/api/v2/REF30/sessions/{code}").json()
    assert (body["notBefore"], body["notAfter"]) == (1.5, 18446744073709551616)
    assert body["existingParameters"]["mvpd"] == "Cablevision"


def test_fault_options_are_checked(emu):
    for fault in ({"kind": "http429", "retryAfterDate": "soon"}, {"kind": "echo-request", "padBytes": -1},
                  {"kind": "raw-timestamps", "notAfterRaw": 5}):
        with pytest.raises(ControlCallError):
            emu.control("faults", {"faults": [fault]})
