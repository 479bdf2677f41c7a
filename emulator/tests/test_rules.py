"""Adobe's rules the emulator enforces: resources per decisions request, item-level retry errors,
profile invalidation codes, and attributes an authorization changes."""

import pytest
from emu_support import assert_enhanced, device

from passauth_emulator import ControlCallError, Emulator

AUTHORIZE = "/api/v2/REF30/decisions/authorize/Cablevision"
PREAUTHORIZE = "/api/v2/REF30/decisions/preauthorize/Cablevision"


def decisions(client, path, resources, device_id=None):
    kwargs = {} if device_id is None else {"device_id": device_id}
    reply = client.api("POST", path, body={"resources": resources}, **kwargs)
    assert reply.status == 200, reply.body
    return reply.json()["decisions"]


# --- too_many_resources ----------------------------------------------------------------------------

def test_authorize_takes_one_resource_by_default(client, emu):
    client.authenticate()
    assert decisions(client, AUTHORIZE, ["REF30"])[0]["authorized"] is True
    body = assert_enhanced(client.api("POST", AUTHORIZE, body={"resources": ["REF30", "REF40"]}), 403,
                           "too_many_resources")
    assert body["action"] == "configuration"
    assert "too many resources" in body["message"]


def test_preauthorize_takes_five_resources_by_default(client, emu):
    client.authenticate()
    assert len(decisions(client, PREAUTHORIZE, [f"r{i}" for i in range(5)])) == 5
    assert_enhanced(client.api("POST", PREAUTHORIZE, body={"resources": [f"r{i}" for i in range(6)]}), 403,
                    "too_many_resources")


def test_the_limits_are_config_keys(client, emu):
    client.authenticate()
    config = emu.control("config", {"maxResourcesAuthorize": 3, "maxResourcesPreauthorize": 2})
    assert (config["maxResourcesAuthorize"], config["maxResourcesPreauthorize"]) == (3, 2)
    assert [d["resource"] for d in decisions(client, AUTHORIZE, ["a", "b", "c"])] == ["a", "b", "c"]
    assert_enhanced(client.api("POST", AUTHORIZE, body={"resources": ["a", "b", "c", "d"]}), 403,
                    "too_many_resources")
    assert_enhanced(client.api("POST", PREAUTHORIZE, body={"resources": ["a", "b", "c"]}), 403,
                    "too_many_resources")
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(ControlCallError):
            emu.control("config", {"maxResourcesAuthorize": bad})
    emu.control("reset", {})
    assert emu.control("config")["maxResourcesAuthorize"] == 1


def test_the_limits_are_checked_before_the_profile():
    """The request fails on its shape (403 too_many_resources) whether or not the user is logged in."""
    with Emulator(throttle=False, max_resources_authorize=2) as emu:
        from emu_support import Client
        client = Client(emu)
        assert emu.control("config")["maxResourcesAuthorize"] == 2
        assert_enhanced(client.api("POST", AUTHORIZE, body={"resources": ["a", "b"]}), 403,
                        "authenticated_profile_missing")
        assert_enhanced(client.api("POST", AUTHORIZE, body={"resources": ["a", "b", "c"]}), 403,
                        "too_many_resources")
        client.close()


# --- item-level retry ------------------------------------------------------------------------------

def test_item_retry_gives_item_level_retry_errors_in_a_normal_answer(client, emu):
    client.authenticate()
    emu.control("config", {"itemRetry": [{"resource": "REF30", "decision": "authorize", "count": 2}]})
    for _ in range(2):
        (item,) = decisions(client, AUTHORIZE, ["REF30"])
        assert item["authorized"] is False and "token" not in item
        error = item["error"]
        assert (error["action"], error["status"], error["code"]) == ("retry", 403, "network_connection_timeout")
        assert {"message", "helpUrl", "trace"} <= set(error)
    (item,) = decisions(client, AUTHORIZE, ["REF30"])
    assert item["authorized"] is True and "token" in item
    assert emu.control("config")["itemRetry"] == []


def test_item_retry_touches_only_its_resource_and_decision(client, emu):
    client.authenticate()
    emu.control("config", {"itemRetry": [{"resource": "r2", "decision": "preauthorize", "count": 1,
                                          "code": "maximum_execution_time_exceeded"}]})
    assert decisions(client, AUTHORIZE, ["r2"])[0]["authorized"] is True  # authorize is not affected
    r1, r2, r3 = decisions(client, PREAUTHORIZE, ["r1", "r2", "r3"])
    assert r1["authorized"] and r3["authorized"]
    assert (r2["authorized"], r2["error"]["code"], r2["error"]["action"]) == \
        (False, "maximum_execution_time_exceeded", "retry")
    assert emu.control("config")["itemRetry"] == []
    assert all(d["authorized"] for d in decisions(client, PREAUTHORIZE, ["r1", "r2", "r3"]))


def test_item_retry_config_is_checked(emu):
    for bad in ([{"decision": "both"}], [{"code": "authorization_denied_by_mvpd"}], [{"count": 0}],
                [{"resource": "a", "surprise": 1}], ["REF30"], {"resource": "a"}):
        with pytest.raises(ControlCallError):
            emu.control("config", {"itemRetry": bad})
    rules = emu.control("config", {"itemRetry": [{"resource": "a"}]})["itemRetry"]
    assert rules == [{"resource": "a", "count": 1, "code": "network_connection_timeout"}]


# --- profile invalidation codes --------------------------------------------------------------------

@pytest.mark.parametrize("code", ["authenticated_profile_missing", "authenticated_profile_expired",
                                  "authenticated_profile_invalidated"])
def test_invalidated_profile_answers_the_code_top_level(client, emu, code):
    tv = device("tv-1")
    session = client.authenticate(device_id=tv)
    emu.control("invalidate-profile", {"deviceId": "tv-1", "mvpd": "Cablevision", "code": code})
    assert_enhanced(client.api("GET", "/api/v2/REF30/profiles/Cablevision", device_id=tv), 403, code)
    assert_enhanced(client.api("GET", f"/api/v2/REF30/profiles/code/{session['code']}", device_id=tv), 403, code)
    assert_enhanced(client.api("POST", AUTHORIZE, body={"resources": ["REF30"]}, device_id=tv), 403, code)
    assert_enhanced(client.api("POST", PREAUTHORIZE, body={"resources": ["a", "b"]}, device_id=tv), 403, code)
    # The profiles list (documented statuses 400/401/405/500) leaves it out; other devices are unaffected.
    assert client.api("GET", "/api/v2/REF30/profiles", device_id=tv).json() == {"profiles": {}}
    client.authenticate(device_id=device("tv-2"))
    assert decisions(client, AUTHORIZE, ["REF30"], device("tv-2"))[0]["authorized"] is True


def test_invalidated_profile_item_level(client, emu):
    client.authenticate(device_id=device("tv-1"))
    emu.control("invalidate-profile", {"deviceId": "tv-1", "mvpd": "Cablevision",
                                       "code": "authenticated_profile_expired", "itemLevel": True})
    items = decisions(client, PREAUTHORIZE, ["a", "b"], device("tv-1"))
    assert [(d["authorized"], d["error"]["code"], d["error"]["action"], d["error"]["status"]) for d in items] == \
        [(False, "authenticated_profile_expired", "authentication", 403)] * 2
    (item,) = decisions(client, AUTHORIZE, ["REF30"], device("tv-1"))
    assert item["authorized"] is False and "token" not in item
    # Profile calls stay top-level.
    assert_enhanced(client.api("GET", "/api/v2/REF30/profiles/Cablevision", device_id=device("tv-1")), 403,
                    "authenticated_profile_expired")


def test_invalidated_profile_can_fail_the_profiles_list_too(client, emu):
    client.authenticate(device_id=device("tv-1"))
    client.authenticate(mvpd="Spectrum", device_id=device("tv-1"))
    answer = emu.control("invalidate-profile", {"deviceId": "tv-1", "mvpd": "Cablevision",
                                                "code": "authenticated_profile_expired", "profilesList": "error"})
    assert answer["profilesList"] == "error"
    assert_enhanced(client.api("GET", "/api/v2/REF30/profiles", device_id=device("tv-1")), 403,
                    "authenticated_profile_expired")
    emu.control("invalidate-profile", {"deviceId": "tv-1", "mvpd": "Cablevision",
                                       "code": "authenticated_profile_expired"})
    assert list(client.api("GET", "/api/v2/REF30/profiles", device_id=device("tv-1")).json()["profiles"]) == \
        ["Spectrum"]


def test_a_new_login_ends_the_invalidation(client, emu):
    tv = device("tv-1")
    client.authenticate(device_id=tv)
    emu.control("invalidate-profile", {"deviceId": "tv-1", "mvpd": "Cablevision"})  # default: invalidated
    assert emu.control("state")["profileMarks"][0]["code"] == "authenticated_profile_invalidated"
    # The profile is gone, so a new session asks for a login; polling its code is not an error.
    session = client.create_session(device_id=tv)
    assert session["actionName"] == "authenticate"
    assert client.api("GET", f"/api/v2/REF30/profiles/code/{session['code']}", device_id=tv).json() == \
        {"profiles": {}}
    emu.control("login", {"code": session["code"]})
    assert decisions(client, AUTHORIZE, ["REF30"], tv)[0]["authorized"] is True
    assert "Cablevision" in client.api("GET", "/api/v2/REF30/profiles", device_id=tv).json()["profiles"]
    assert emu.control("state")["profileMarks"] == []


def test_invalidation_can_be_cleared_and_is_checked(client, emu):
    emu.control("profiles", {"deviceId": "tv-1", "mvpd": "Cablevision"})
    emu.control("invalidate-profile", {"deviceId": "tv-1", "mvpd": "Cablevision", "code": "authenticated_profile_missing"})
    emu.control("invalidate-profile", {"deviceId": "tv-1", "mvpd": "Cablevision", "code": None})
    # Cleared, and the profile was removed when marked: the ordinary "missing" answer remains.
    assert_enhanced(client.api("POST", AUTHORIZE, body={"resources": ["REF30"]}, device_id=device("tv-1")), 403,
                    "authenticated_profile_missing")
    assert client.api("GET", "/api/v2/REF30/profiles/Cablevision", device_id=device("tv-1")).json() == {"profiles": {}}
    for bad in ({"deviceId": "tv-1", "mvpd": "Cablevision", "code": "authorization_denied_by_mvpd"},
                {"deviceId": "tv-1", "mvpd": "Nope"}, {"mvpd": "Cablevision"},
                {"deviceId": "tv-1", "mvpd": "Cablevision", "itemLevel": "yes"},
                {"deviceId": "tv-1", "mvpd": "Cablevision", "profilesList": "hide"}):
        with pytest.raises(ControlCallError) as failure:
            emu.control("invalidate-profile", bad)
        assert failure.value.status == 400


# --- attributes changed by an authorization --------------------------------------------------------

def household(client, device_id):
    profile = client.api("GET", "/api/v2/REF30/profiles/Cablevision", device_id=device_id).json()
    return profile["profiles"]["Cablevision"]["attributes"]["householdID"]


def test_authorization_changes_profile_attributes(client, emu):
    for name in ("tv-1", "tv-2"):
        emu.control("profiles", {"deviceId": name, "mvpd": "Cablevision", "attributes": {"householdID": "h1"}})
    emu.control("config", {"attributesOnAuthorize": [{"deviceId": "tv-1", "mvpd": "Cablevision",
                                                      "attributes": {"householdID": "h2", "zip": "10001"}}]})
    assert household(client, device("tv-1")) == {"value": "h1", "state": "plain"}
    # Preauthorization and denied authorizations change nothing.
    decisions(client, PREAUTHORIZE, ["REF30"], device("tv-1"))
    emu.control("config", {"denyRules": [{"resource": "denied"}]})
    assert decisions(client, AUTHORIZE, ["denied"], device("tv-1"))[0]["authorized"] is False
    assert household(client, device("tv-1"))["value"] == "h1"
    assert decisions(client, AUTHORIZE, ["REF30"], device("tv-1"))[0]["authorized"] is True
    assert household(client, device("tv-1")) == {"value": "h2", "state": "plain"}
    attributes = client.api("GET", "/api/v2/REF30/profiles", device_id=device("tv-1")).json()["profiles"][
        "Cablevision"]["attributes"]
    assert attributes["zip"]["value"] == "10001"
    # Another device's authorization does not match the rule.
    decisions(client, AUTHORIZE, ["REF30"], device("tv-2"))
    assert household(client, device("tv-2"))["value"] == "h1"


def test_attributes_on_authorize_config_is_checked(emu):
    for bad in ([{"deviceId": "tv-1"}], [{"attributes": {}}], [{"attributes": {"a": 1}, "when": "now"}]):
        with pytest.raises(ControlCallError):
            emu.control("config", {"attributesOnAuthorize": bad})
    assert emu.control("config", {"attributesOnAuthorize": [{"attributes": {"a": 1}}]})[
        "attributesOnAuthorize"] == [{"attributes": {"a": 1}}]
