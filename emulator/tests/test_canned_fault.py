"""The `canned` fault: the next matching response is a given status and JSON document."""

import pytest
from passauth_emulator import ControlCallError
from passauth_emulator.faults import Fault

PROFILES = "/api/v2/REF30/profiles"


@pytest.fixture
def ready(client):
    client.login_token()
    return client


def test_canned_answers_the_document_once_without_running_the_endpoint(ready, emu):
    body = {"profiles": {"Cablevision": {"notBefore": 1, "notAfter": 2, "issuer": "x", "type": "regular",
                                         "attributes": {}}}, "extra": [1, "two", None]}
    emu.control("faults", {"faults": [{"kind": "canned", "endpoint": "profiles", "body": body}]})
    assert ready.api("GET", "/api/v2/REF30/configuration").status == 200  # another endpoint: untouched
    reply = ready.api("GET", PROFILES)
    assert reply.status == 200 and reply.headers["content-type"].startswith("application/json")
    assert reply.json() == body
    assert ready.api("GET", PROFILES).json() == {"profiles": {}}  # only the next response
    stats = emu.control("stats")
    assert stats["faultsInjected"] == 1 and stats["requests"]["profiles"] == 2
    (logged,) = [r for r in emu.control("requests")["requests"] if r["endpoint"] == "profiles"][:1]
    assert logged["status"] == 200


@pytest.mark.parametrize("status, body", [(201, {"access_token": "t"}), (200, {}), (200, []), (299, "text")])
def test_canned_status_and_any_json_value(ready, emu, status, body):
    emu.control("faults", {"faults": [{"kind": "canned", "status": status, "body": body, "retryAfter": 3}]})
    reply = ready.api("GET", PROFILES)
    assert (reply.status, reply.json(), reply.headers["retry-after"]) == (status, body, "3")


def test_canned_needs_a_body(emu):
    with pytest.raises(ValueError):
        Fault.parse({"kind": "canned", "status": 200})
    assert Fault.parse({"kind": "canned", "body": None}).options == {"body": None}
    with pytest.raises(ControlCallError) as error:
        emu.control("faults", {"faults": [{"kind": "canned"}]})
    assert error.value.status == 400
