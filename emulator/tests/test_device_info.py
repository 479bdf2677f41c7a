"""X-Device-Info checks against the header's appendix page: findings are warnings on the request's
entry in the request log, never a rejection."""

import base64
import json

from emu_support import DEVICE_INFO

# Every required field, every listed value spelled as the page lists it, every type right.
GOOD = {"primaryHardwareType": "SetTopBox", "model": "TV 5th Gen", "version": "5.1", "manufacturer": "Apple",
        "vendor": "Apple", "osName": "tvOS", "osFamily": "tvOS", "osVendor": "Apple", "osVersion": "11.0",
        "browserName": "Safari", "browserVendor": "Apple", "browserVersion": "11", "userAgent": "UA",
        "displayWidth": 1920, "displayHeight": 1080, "displayPpi": 401, "diagonalScreenSize": 55.0,
        "connectionIp": "203.0.113.7", "connectionPort": 53124, "connectionType": "WiFi",
        "connectionSecure": True, "applicationId": "REF30"}
CONFIG = "/api/v2/REF30/configuration"


def encoded(info):
    return base64.b64encode(json.dumps(info).encode()).decode()


def last_entry(emu):
    return emu.control("requests")["requests"][-1]


def problems(emu):
    return sorted((w["problem"], w["field"]) for w in last_entry(emu)["warnings"])


def call(client, info=None, path=CONFIG, headers=None, omit=False):
    """GET `path` with X-Device-Info `info` (an object to encode, or the raw value), or without the
    header when `omit`."""
    if client.token is None:
        client.login_token()
    merged = {"Authorization": f"Bearer {client.token}", **(headers or {})}
    if not omit:
        merged["X-Device-Info"] = info if isinstance(info, str) else encoded(info)
    return client.request("GET", path, merged).status


def test_a_complete_header_has_no_warnings(client, emu):
    assert call(client, GOOD) == 200
    entry = last_entry(emu)
    assert entry["endpoint"] == "configuration" and entry["warnings"] == []


def test_missing_header_is_a_warning_not_a_rejection(client, emu):
    assert call(client, omit=True) == 200
    assert problems(emu) == [("missing", None)]
    assert last_entry(emu)["warnings"][0]["header"] == "X-Device-Info"


def test_required_fields(client, emu):
    info = {k: v for k, v in GOOD.items() if k not in ("model", "connectionType")}
    assert call(client, info) == 200
    assert problems(emu) == [("required-missing", "connectionType"), ("required-missing", "model")]


def test_listed_values_and_types(client, emu):
    info = dict(GOOD, osName="Ubuntu", primaryHardwareType="Phone", browserVendor="Brave", displayWidth="1920",
                connectionSecure="true", connectionPort="not-a-port", model=7, type="MobilePhone")
    assert call(client, info) == 200
    assert problems(emu) == [("not-listed", "browserVendor"), ("not-listed", "osName"),
                             ("not-listed", "primaryHardwareType"), ("unknown-field", "type"),
                             ("wrong-type", "connectionPort"), ("wrong-type", "connectionSecure"),
                             ("wrong-type", "displayWidth"), ("wrong-type", "model")]
    messages = " ".join(w["message"] for w in last_entry(emu)["warnings"])
    assert "Ubuntu" in messages


def test_a_port_may_be_a_string_of_digits(client, emu):
    assert call(client, dict(GOOD, connectionPort="53124")) == 200
    assert problems(emu) == []


def test_undecodable_headers(client, emu):
    # The reference pages' own sample value decodes to text that is not JSON (a comma is missing).
    assert call(client, DEVICE_INFO) == 200
    assert problems(emu) == [("not-json", None)]
    assert call(client, encoded(["a"])) == 200
    assert problems(emu) == [("not-object", None)]
    # Not base64 at all: the one case answered with an error (invalid_header_device_info).
    assert call(client, "%%%") == 400
    assert problems(emu) == [("not-base64", None)]


def test_forwarded_for_needs_connection_ip_and_port(client, emu):
    forwarded = {"X-Forwarded-For": "203.0.113.7, 10.0.0.1"}
    info = {k: v for k, v in GOOD.items() if k not in ("connectionIp", "connectionPort")}
    assert call(client, info, headers=forwarded) == 200
    assert problems(emu) == [("connection-missing", "connectionIp"), ("connection-missing", "connectionPort")]
    assert call(client, GOOD, headers=forwarded) == 200
    assert problems(emu) == []
    assert call(client, dict(GOOD, connectionIp="198.51.100.1"), headers=forwarded) == 200
    assert problems(emu) == [("connection-mismatch", "connectionIp")]
    assert call(client, omit=True, headers=forwarded) == 200
    assert problems(emu) == [("connection-missing", "connectionIp"), ("connection-missing", "connectionPort"),
                             ("missing", None)]
    # Without X-Forwarded-For nothing is asked of the connection fields.
    info = {k: v for k, v in GOOD.items() if k not in ("connectionIp", "connectionPort")}
    assert call(client, info) == 200
    assert problems(emu) == []


def test_every_service_endpoint_is_checked_but_the_user_agent_page(client, emu):
    client.register()
    assert last_entry(emu)["endpoint"] == "register"
    assert problems(emu) == [("not-json", None)]  # the fixture sends the reference pages' sample value
    session = client.create_session()
    client.request("GET", f"/api/v2/authenticate/REF30/{session['code']}")
    entry = last_entry(emu)
    assert entry["endpoint"] == "authenticate" and entry["warnings"] == []
    client.request("GET", "/nowhere")
    assert last_entry(emu)["warnings"] == []


def test_calls_made_with_a_code_need_no_device_info(client, emu):
    """Their pages (and the OpenAPI file) do not list X-Device-Info: absence is fine, content is checked."""
    session = client.create_session()
    code = session["code"]
    forwarded = {"X-Forwarded-For": "203.0.113.7"}
    for path in (f"/api/v2/REF30/profiles/code/{code}", f"/api/v2/REF30/sessions/{code}"):
        assert call(client, path=path, omit=True, headers=forwarded) == 200
        assert problems(emu) == []
        assert call(client, dict(GOOD, osName="Ubuntu"), path=path) == 200
        assert problems(emu) == [("not-listed", "osName")]
    # Configuration lists it (optional, "strongly recommended"): absence is warned there.
    assert call(client, omit=True) == 200
    assert problems(emu) == [("missing", None)]
