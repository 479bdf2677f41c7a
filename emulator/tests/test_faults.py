"""Every fault kind, applied to the next matching response only."""

import http.client
import json
import socket
import time

import pytest
from emu_support import FORM, Client

CONFIG = "/api/v2/REF30/configuration"


def inject(emu, **fault):
    emu.control("faults", {"faults": [fault]})


def config_call(client):
    return client.api("GET", CONFIG)


@pytest.fixture
def ready(client):
    client.login_token()
    return client


@pytest.mark.parametrize("fault, status, content_type", [
    ({"kind": "status", "status": 418}, 418, "application/json"),
    ({"kind": "http500"}, 500, "application/json"),
    ({"kind": "http502"}, 502, "text/html"),
    ({"kind": "http503", "retryAfter": 7}, 503, "text/html"),
    ({"kind": "http429"}, 429, "text/html"),
    ({"kind": "http401"}, 401, "application/json"),
    ({"kind": "enhanced", "status": 403, "code": "network_connection_timeout", "action": "retry"}, 403,
     "application/json"),
    ({"kind": "redirect"}, 302, "text/html"),
])
def test_status_faults(ready, emu, fault, status, content_type):
    inject(emu, **fault)
    reply = config_call(ready)
    assert reply.status == status
    assert reply.headers["content-type"].startswith(content_type)
    if fault["kind"] == "http503":
        assert reply.headers["retry-after"] == "7"
    if fault["kind"] in ("http401", "enhanced", "http500"):
        assert {"action", "status", "code", "message", "helpUrl", "trace"} <= set(reply.json())
    if fault["kind"] == "enhanced":
        assert (reply.json()["code"], reply.json()["action"]) == ("network_connection_timeout", "retry")
    if fault["kind"] == "redirect":
        assert reply.headers["location"].startswith("http://example.invalid/")
    assert config_call(ready).status == 200  # only the next response
    assert emu.control("stats")["faultsInjected"] == 1


def test_count_and_endpoint_filter(ready, emu):
    inject(emu, kind="http500", count=2, endpoint="profiles")
    assert config_call(ready).status == 200
    assert ready.api("GET", "/api/v2/REF30/profiles").status == 500
    assert ready.api("GET", "/api/v2/REF30/profiles").status == 500
    assert ready.api("GET", "/api/v2/REF30/profiles").status == 200


def test_replacing_faults_do_not_run_the_endpoint(client, emu):
    creds = client.register()
    inject(emu, kind="http503")
    form = f"client_id={creds['client_id']}&client_secret={creds['client_secret']}&grant_type=client_credentials"
    assert client.request("POST", "/o/client/token", {"Content-Type": FORM}, form).status == 503
    assert emu.control("stats")["tokensIssued"] == 0


@pytest.mark.parametrize("kind", ["invalid-json", "empty200", "invalid-utf8", "deep-json"])
def test_body_faults(ready, emu, kind):
    inject(emu, kind=kind)
    reply = config_call(ready)
    assert reply.status == 200
    if kind == "empty200":
        assert reply.body == b""
    elif kind == "invalid-utf8":
        with pytest.raises(UnicodeDecodeError):
            reply.body.decode("utf-8")
    elif kind == "deep-json":
        assert reply.body.startswith(b"[" * 10_000)
    else:
        with pytest.raises(ValueError):
            reply.json()


def test_huge_body(ready, emu):
    inject(emu, kind="huge-body", bytes=3_000_000)
    reply = config_call(ready)
    assert len(reply.body) == 3_000_000 and int(reply.headers["content-length"]) == 3_000_000


def test_wrong_content_type(ready, emu):
    inject(emu, kind="wrong-content-type")
    reply = config_call(ready)
    assert reply.headers["content-type"].startswith("text/plain")
    assert reply.json()["requestor"]["id"] == "REF30"


def test_missing_fields_wrong_types_extra_fields(ready, emu):
    inject(emu, kind="missing-fields")
    assert "requestor" not in config_call(ready).json()
    inject(emu, kind="wrong-types")
    assert isinstance(config_call(ready).json()["requestor"]["id"], int)
    inject(emu, kind="extra-fields")
    assert config_call(ready).json()["unexpectedField"] == "surprise"


def test_string_timestamps(ready, emu):
    ready.authenticate()
    inject(emu, kind="string-timestamps", endpoint="profiles")
    profile = ready.api("GET", "/api/v2/REF30/profiles").json()["profiles"]["Cablevision"]
    assert isinstance(profile["notBefore"], str) and isinstance(profile["notAfter"], str)


def test_truncated(ready, emu):
    inject(emu, kind="truncated")
    with pytest.raises(http.client.IncompleteRead):
        config_call(ready)


def test_delay_and_slow_drip(ready, emu):
    inject(emu, kind="delay", delayMs=300)
    started = time.monotonic()
    assert config_call(ready).status == 200
    assert time.monotonic() - started >= 0.3
    inject(emu, kind="slow-drip", delayMs=5, chunkBytes=256)
    started = time.monotonic()
    reply = config_call(ready)
    assert reply.json()["requestor"]["id"] == "REF30"
    assert time.monotonic() - started >= 5 * (len(reply.body) // 256) / 1000


@pytest.mark.parametrize("kind", ["reset", "close"])
def test_connection_faults(ready, emu, kind):
    inject(emu, kind=kind)
    with pytest.raises((ConnectionError, http.client.RemoteDisconnected, socket.error)):
        config_call(ready)
    log = emu.control("requests")["requests"]
    assert log[-1]["status"] == 0
    fresh = Client(emu)
    fresh.token = ready.token
    assert config_call(fresh).status == 200
    fresh.close()


def test_reset_sends_rst(ready, emu):
    inject(emu, kind="reset")
    sock = socket.create_connection(("127.0.0.1", emu.port))
    sock.sendall(f"GET {CONFIG} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ready.token}\r\n\r\n".encode())
    with pytest.raises(ConnectionResetError):
        sock.recv(100)
    sock.close()


def test_faults_api(emu):
    with pytest.raises(Exception):
        emu.control("faults", {"faults": [{"kind": "nope"}]})
    inject(emu, kind="http500", count=3)
    assert emu.control("faults")["faults"][0]["count"] == 3
    emu.control("faults", method="DELETE")
    assert emu.control("faults") == {"faults": []}
    assert json.dumps(emu.control("stats"))


def test_echo_request_reflects_the_credentials(ready, emu):
    inject(emu, kind="echo-request", status=502)
    reply = config_call(ready)
    assert reply.status == 502
    assert reply.headers["content-type"].startswith("text/plain")
    assert ("Bearer " + ready.token).encode() in reply.body
