"""Shared fixtures: an in-process emulator and a tiny HTTP client."""

import base64
import json
import os
import sys

import pytest

# The package lives next to this directory: emulator/passauth_emulator.
sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))

from passauth_emulator import Emulator  # noqa: E402

# The software statement of the DCR "Retrieve client credentials" sample.
SOFTWARE_STATEMENT = (
    "eyJhbGciOiJSUzI1NiJ9."
    "eyJzb2Z0d2FyZV9pZCI6IjROUkIxLTBYWkFCWkk5RTYtNVNNM1IiLCJjbGllbnRfbmFtZSI6IkV4YW1wbGUgU3RhdGVtZW50"
    "LWJhc2VkIENsaWVudCIsImNsaWVudF91cmkiOiJodHRwczovL2NsaWVudC5leGFtcGxlLm5ldC8ifQ."
    "GHfL4QNIrQwL18BSRdE595T9jbzqa06R9BT8w409x9oIcKaZo_mt15riEXHa")
DEVICE_INFO = ("ewoJInByaW1hcnlIYXJkd2FyZVR5cGUiOiAiU2V0VG9wQm94IiwKCSJtb2RlbCI6ICJUViA1dGggR2VuIiwKCSJtYW51"
               "ZmFjdHVyZXIiOiAiQXBwbGUiLAoJIm9zTmFtZSI6ICJ0dk9TIgoJIm9zVmVuZG9yIjogIkFwcGxlIiwKCSJvc1ZlcnNp"
               "b24iOiAiMTEuMCIKfQ==")
DEVICE_ID = "fingerprint YmEyM2QxNDEtZDcxNS01NjFjLTk0ZjQtZTllNGM5NjZiMWVi"
FORM = "application/x-www-form-urlencoded"
ENHANCED_FIELDS = {"action", "status", "code", "message", "helpUrl", "trace"}


def device(name):
    return "fingerprint " + base64.b64encode(name.encode()).decode()


class Reply:
    def __init__(self, response, body):
        self.status = response.status
        self.headers = {k.lower(): v for k, v in response.getheaders()}
        self.body = body

    def json(self):
        return json.loads(self.body)


class Client:
    """Requests against one emulator; keeps one keep-alive connection."""

    def __init__(self, emu):
        self.emu = emu
        self.conn = emu.connection()
        self.token = None

    def request(self, method, path, headers=None, body=None):
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        self.conn.request(method, path, body, headers or {})
        response = self.conn.getresponse()
        return Reply(response, response.read())

    def register(self):
        reply = self.request("POST", "/o/client/register", {"Content-Type": "application/json",
                                                            "X-Device-Info": DEVICE_INFO},
                             {"software_statement": SOFTWARE_STATEMENT})
        assert reply.status == 201, reply.body
        return reply.json()

    def login_token(self):
        client = self.register()
        reply = self.request("POST", "/o/client/token", {"Content-Type": FORM},
                             f"grant_type=client_credentials&client_id={client['client_id']}"
                             f"&client_secret={client['client_secret']}")
        assert reply.status == 201, reply.body
        self.token = reply.json()["access_token"]
        return self.token

    def api(self, method, path, headers=None, body=None, device_id=DEVICE_ID):
        """A REST API V2 call with the bearer token and device headers."""
        if self.token is None:
            self.login_token()
        merged = {"Authorization": f"Bearer {self.token}", "X-Device-Info": DEVICE_INFO}
        if device_id:
            merged["AP-Device-Identifier"] = device_id
        if isinstance(body, dict):
            merged["Content-Type"] = "application/json"
        elif body is not None:
            merged["Content-Type"] = FORM
        merged.update(headers or {})
        return self.request(method, path, merged, body)

    def create_session(self, mvpd="Cablevision", device_id=DEVICE_ID, headers=None):
        body = "domainName=adobe.com&redirectUrl=https%3A%2F%2Fadobe.com"
        if mvpd:
            body = f"mvpd={mvpd}&" + body
        reply = self.api("POST", "/api/v2/REF30/sessions", headers, body, device_id)
        assert reply.status == 200, reply.body
        return reply.json()

    def authenticate(self, mvpd="Cablevision", device_id=DEVICE_ID, headers=None, **login):
        session = self.create_session(mvpd, device_id, headers)
        self.emu.control("login", {"code": session["code"], **login})
        return session

    def close(self):
        self.conn.close()


def assert_enhanced(reply, status, code):
    assert reply.status == status, reply.body
    assert reply.headers["content-type"].startswith("application/json")
    body = reply.json()
    assert ENHANCED_FIELDS <= set(body), body
    assert (body["status"], body["code"]) == (status, code), body
    return body


@pytest.fixture
def emu():
    with Emulator(throttle=False) as emulator:
        yield emulator


@pytest.fixture
def client(emu):
    c = Client(emu)
    yield c
    c.close()
