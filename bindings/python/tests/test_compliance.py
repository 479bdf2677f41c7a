"""Adobe's rules for a REST API V2 client (issue 17), through the Python package against the emulator:
the Python side of tests/c/test_compliance.c. Each test checks what was sent in the emulator's request log
(`GET /_emulator/requests`), so it fails when the rule is broken, not only when a call fails.

  test_decisions_are_batched_per_request        authorize: one resource per request by default
                                                (authorizeBatchSize), decisions in the caller's order;
                                                preauthorize: batches of 5
  test_item_level_retry_asks_only_those_items   items marked action "retry": only they are asked again,
                                                3 attempts in all, then the decision keeps its error
  test_profile_gone_drops_profile_and_permits   authenticated_profile_missing / _expired / _invalidated,
                                                top-level and item-level
  test_profile_refreshed_after_a_permit         one background profiles-by-MVPD request after a permit,
                                                at most once per profileRefreshMs per device; 0 = never
  test_host_built_device_info_and_opt_out       X-Device-Info on every call whose page lists it
  test_device_info_breaking_the_appendix        a warning (logging, statistic), or strictDeviceInfo
  test_server_to_server_connection_headers      ip / port -> X-Forwarded-For, connectionIp / connectionPort
  test_configuration_cached_per_platform        one configuration request per platform, not per device

The prequal hosts ("prequal-production", "prequal-staging") are covered by
test_sso.py::test_environments_map_to_their_hosts.
"""

import base64
import itertools
import json
import logging
import time
from typing import Any, Callable, Dict, List, Optional

import pytest

import passauth
from passauth import Device
from support import requests_to

DEVICE_ID = "py-compliance-1"
DEVICE: Device = {"id": DEVICE_ID}  # no "info": the host-built X-Device-Info (defaultDeviceInfo)
MakeConfig = Callable[..., Dict[str, Any]]


# Helpers -----------------------------------------------------------------------------------------------

_stores = itertools.count()


def new_client(make_config: MakeConfig, **overrides: Any) -> passauth.Client:
    """A client for DEVICE with a store of its own (so an emulator reset never leaves it a forgotten
    registration), pacing off (these tests send many requests per device), logs off."""
    options: Dict[str, Any] = {"device": DEVICE, "pacing": False, "logLevel": "none",
                               "store": f"{make_config()['store']}-{next(_stores)}"}
    options.update(overrides)
    config: Any = make_config(**options)  # a passauth.Config, built from keyword overrides
    return passauth.Client(config)


def logged(emu: Any, endpoint: Optional[str] = None) -> List[Dict[str, Any]]:
    """The emulator's logged requests (of `endpoint`), in arrival order."""
    return [r for r in emu.control("requests")["requests"] if endpoint is None or r["endpoint"] == endpoint]


def asked(request: Dict[str, Any]) -> List[str]:
    """The resources a logged decisions request named."""
    resources: List[str] = json.loads(request["body"])["resources"]
    return resources


def device_info(request: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    """The X-Device-Info a logged request carried, decoded (None when absent)."""
    value = request["headers"].get("x-device-info")
    if value is None:
        return None
    info: Dict[str, Any] = json.loads(base64.b64decode(value, validate=True))
    return info


def log_in(emu: Any, mvpd: str, device_id: str = DEVICE_ID, **extra: Any) -> None:
    emu.control("profiles", dict({"deviceId": device_id, "mvpd": mvpd}, **extra))


def wait_for(condition: Callable[[], bool], seconds: float = 3.0) -> bool:
    """Polls `condition` every 20 ms for at most `seconds`."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)
    return True


def household(client: passauth.Client, device: Device = DEVICE) -> Any:
    profile = client.stored_profiles(device).get("Cablevision")
    return None if profile is None else profile.attributes.get("householdID", {}).get("value")


# 9. Resources per decisions request --------------------------------------------------------------------
# rest-apis/rest-api-v2/rest-api-v2-faqs.md, authorization phase 11 ("usually up to 1"); preauthorization
# phase 9 ("usually up to 5"). The emulator answers 403 too_many_resources above maxResourcesAuthorize (1).

def test_decisions_are_batched_per_request(emu: Any, make_config: MakeConfig) -> None:
    log_in(emu, "Cablevision")
    emu.control("config", {"denyRules": [{"resource": "res-b"}]})
    resources = ["res-c", "res-b", "REF30"]
    with new_client(make_config, profileRefreshMs=0) as client:
        # The first request to arrive is answered last: the merge must still follow the caller's order.
        emu.control("faults", {"faults": [{"kind": "delay", "delayMs": 300, "endpoint": "decisions.authorize"}]})
        decisions = client.authorize("Cablevision", resources)
        assert [d.resource for d in decisions] == resources
        assert [d.authorized for d in decisions] == [True, False, True]
        assert decisions[1].error is not None and decisions[1].error.code == "authorization_denied_by_mvpd"
        assert decisions[0].token is not None and decisions[2].token is not None
        requests = logged(emu, "decisions.authorize")
        assert [len(asked(r)) for r in requests] == [1, 1, 1]
        assert sorted(asked(r)[0] for r in requests) == sorted(resources)
        assert [r["status"] for r in requests] == [200, 200, 200]  # no too_many_resources

        # preauthorize: batches of 5, answers merged in order
        seven = [f"r{i}" for i in range(1, 8)]
        pre = client.preauthorize("Cablevision", seven)
        assert [d.resource for d in pre] == seven and all(d.authorized for d in pre)
        assert sorted(len(asked(r)) for r in logged(emu, "decisions.preauthorize")) == [2, 5]

    # authorizeBatchSize 2 where the service allows 2: 3 resources in 2 requests, even answered reversed
    emu.control("config", {"maxResourcesAuthorize": 2})
    emu.control("faults", {"faults": [{"kind": "reverse-decisions", "count": 2, "endpoint": "decisions.authorize"}]})
    before = len(logged(emu, "decisions.authorize"))
    with new_client(make_config, authorizeBatchSize=2, profileRefreshMs=0) as client:
        decisions = client.authorize("Cablevision", resources)
        assert [(d.resource, d.authorized) for d in decisions] == [("res-c", True), ("res-b", False), ("REF30", True)]
        requests = logged(emu, "decisions.authorize")[before:]
        assert sorted(len(asked(r)) for r in requests) == [1, 2]
        assert sorted(x for r in requests for x in asked(r)) == sorted(resources)

    # authorizeBatchSize 3 where the service allows 1: its too_many_resources comes back, not retried
    emu.control("config", {"maxResourcesAuthorize": 1})
    before = len(logged(emu, "decisions.authorize"))
    with new_client(make_config, authorizeBatchSize=3, profileRefreshMs=0) as client:
        with pytest.raises(passauth.ConfigurationError) as caught:
            client.authorize("Cablevision", resources)
        assert caught.value.code == "too_many_resources" and caught.value.http_status == 403
        requests = logged(emu, "decisions.authorize")[before:]
        assert [asked(r) for r in requests] == [resources]


# 10. Item-level retry ----------------------------------------------------------------------------------
# features-standard/error-reporting/enhanced-error-codes.md (action "retry", item-level errors in a
# multi-item answer); rest-api-v2-checklist.md (retry 2-3 times, never in a loop).

def test_item_level_retry_asks_only_those_items(emu: Any, make_config: MakeConfig) -> None:
    log_in(emu, "Cablevision")
    with new_client(make_config, profileRefreshMs=0) as client:
        # one retry wanted for res-b: asked again alone, then permitted
        emu.control("config", {"itemRetry": [{"resource": "res-b", "decision": "preauthorize", "count": 1}]})
        decisions = client.preauthorize("Cablevision", ["REF30", "res-b", "REF40"])
        assert [(d.resource, d.authorized) for d in decisions] == [("REF30", True), ("res-b", True), ("REF40", True)]
        assert [asked(r) for r in logged(emu, "decisions.preauthorize")] == [["REF30", "res-b", "REF40"], ["res-b"]]

    emu.control("reset", {})
    log_in(emu, "Cablevision")
    with new_client(make_config, profileRefreshMs=0) as client:
        # five retries wanted: three attempts in all, then the decision keeps its retry error
        emu.control("config", {"itemRetry": [{"resource": "res-z", "count": 5, "code": "network_received_error"}]})
        permit, failed = client.preauthorize("Cablevision", ["REF30", "res-z"])
        assert (permit.resource, permit.authorized) == ("REF30", True)
        assert (failed.resource, failed.authorized) == ("res-z", False)
        assert failed.error is not None
        assert (failed.error.code, failed.error.action) == ("network_received_error", "retry")
        assert [asked(r) for r in logged(emu, "decisions.preauthorize")] == [["REF30", "res-z"], ["res-z"], ["res-z"]]

        # REF30's permit was cached, res-z's retry error was not: only res-z is asked, three attempts again
        # (the rule's last two uses, then a permit)
        again = client.preauthorize("Cablevision", ["REF30", "res-z"])
        assert [(d.resource, d.authorized) for d in again] == [("REF30", True), ("res-z", True)]
        assert [asked(r) for r in logged(emu, "decisions.preauthorize")[3:]] == [["res-z"]] * 3

        # authorization, one resource per request: the marked one alone is asked again
        emu.control("config", {"itemRetry": [{"resource": "REF40", "decision": "authorize", "count": 1}]})
        decisions = client.authorize("Cablevision", ["REF30", "REF40"])
        assert [(d.resource, d.authorized) for d in decisions] == [("REF30", True), ("REF40", True)]
        assert sorted(asked(r)[0] for r in logged(emu, "decisions.authorize")) == ["REF30", "REF40", "REF40"]
        assert client.stats()["retries"] >= 1


# 11. Profile-gone codes --------------------------------------------------------------------------------
# enhanced-error-codes.md (authenticated_profile_missing / _expired / _invalidated, action
# "authentication"); rest-api-v2-checklist.md (Profiles Caching).

@pytest.mark.parametrize("code", ["authenticated_profile_missing", "authenticated_profile_expired",
                                  "authenticated_profile_invalidated"])
@pytest.mark.parametrize("call, item_level", [("authorize", False), ("authorize", True), ("profile", False)],
                         ids=["authorize-top-level", "authorize-item-level", "profile-top-level"])
def test_profile_gone_drops_profile_and_permits(emu: Any, make_config: MakeConfig, code: str, call: str,
                                                item_level: bool) -> None:
    log_in(emu, "Cablevision")
    log_in(emu, "Spectrum")
    with new_client(make_config) as client:
        assert set(client.profiles()) == {"Cablevision", "Spectrum"}
        assert set(client.stored_profiles()) == {"Cablevision", "Spectrum"}
        client.preauthorize("Cablevision", ["REF30"])
        client.preauthorize("Cablevision", ["REF30"])
        assert requests_to(emu, "decisions.preauthorize") == 1  # the permit is cached (setup)

        emu.control("invalidate-profile", {"deviceId": DEVICE_ID, "mvpd": "Cablevision", "code": code,
                                           "itemLevel": item_level})
        if item_level:
            (decision,) = client.authorize("Cablevision", ["REF30"])
            assert not decision.authorized and decision.error is not None and decision.error.code == code
        else:
            with pytest.raises(passauth.AuthenticationRequiredError) as caught:
                if call == "authorize":
                    client.authorize("Cablevision", ["REF30"])
                else:
                    client.profile("Cablevision")
            assert caught.value.code == code and caught.value.needs_authentication

        # The stored profile of that MVPD is gone, the other one stays.
        assert set(client.stored_profiles()) == {"Spectrum"}
        assert client.pick_profile(client.stored_profiles()) == client.stored_profiles()["Spectrum"]
        # The cached permit is gone too: the next preauthorization asks the service (which says the same).
        if item_level:
            (pre,) = client.preauthorize("Cablevision", ["REF30"])
            assert not pre.authorized and pre.error is not None and pre.error.code == code
        else:
            with pytest.raises(passauth.AuthenticationRequiredError):
                client.preauthorize("Cablevision", ["REF30"])
        assert requests_to(emu, "decisions.preauthorize") == 2


# 12. Profile refresh after a permit --------------------------------------------------------------------
# rest-api-v2-checklist.md (Profiles Caching: "query the Profiles APIs again after authorization");
# rest-api-v2-faqs.md, authentication phase 8 (attributes may change during authorization).

def test_profile_refreshed_after_a_permit(emu: Any, make_config: MakeConfig) -> None:
    log_in(emu, "Cablevision", attributes={"householdID": "hh-old"})
    emu.control("config", {"attributesOnAuthorize": [{"mvpd": "Cablevision", "attributes": {"householdID": "hh-new"}}]})
    with new_client(make_config) as client:  # profileRefreshMs: the default, 10 minutes
        client.profiles()
        assert household(client) == "hh-old"
        assert requests_to(emu, "profiles.mvpd") == 0

        (decision,) = client.authorize("Cablevision", ["REF30"])
        assert decision.authorized
        # The refresh runs in the background: one profiles-by-MVPD request, then the stored attributes.
        assert wait_for(lambda: requests_to(emu, "profiles.mvpd") >= 1), "no profile refresh after the permit"
        assert wait_for(lambda: household(client) == "hh-new"), f"stored householdID {household(client)!r}"
        (refresh,) = logged(emu, "profiles.mvpd")
        assert refresh["path"].endswith("/profiles/Cablevision") and refresh["status"] == 200
        assert refresh["headers"]["ap-device-identifier"] == \
            "fingerprint " + base64.b64encode(DEVICE_ID.encode()).decode()

        # A second permit within profileRefreshMs: no second refresh.
        client.authorize("Cablevision", ["REF30"])
        time.sleep(0.4)
        assert requests_to(emu, "profiles.mvpd") == 1

        # The period is per device: another device's permit refreshes its own profile...
        other: Device = {"id": "py-compliance-2"}
        log_in(emu, "Cablevision", "py-compliance-2", attributes={"householdID": "hh-old"})
        client.profiles(other)
        client.authorize("Cablevision", ["REF30"], device=other)
        assert wait_for(lambda: household(client, other) == "hh-new")
        assert requests_to(emu, "profiles.mvpd") == 2
        # ...and a deny refreshes nothing.
        third: Device = {"id": "py-compliance-3"}
        log_in(emu, "Cablevision", "py-compliance-3")
        emu.control("config", {"denyRules": [{"resource": "REF40"}]})
        (deny,) = client.authorize("Cablevision", ["REF40"], device=third)
        assert not deny.authorized
        time.sleep(0.4)
        assert requests_to(emu, "profiles.mvpd") == 2

    # A short period: within it no refresh, after it one more.
    emu.control("reset", {})
    log_in(emu, "Cablevision")
    with new_client(make_config, profileRefreshMs=1000) as client:
        started = time.monotonic()
        client.authorize("Cablevision", ["REF30"])  # the refresh is admitted before this returns
        admitted_by = time.monotonic()
        assert wait_for(lambda: requests_to(emu, "profiles.mvpd") == 1)
        client.authorize("Cablevision", ["REF30"])
        assert time.monotonic() - started < 0.9, "too slow to test the period"
        time.sleep(max(0.0, admitted_by + 1.15 - time.monotonic()))
        assert requests_to(emu, "profiles.mvpd") == 1
        client.authorize("Cablevision", ["REF30"])
        assert wait_for(lambda: requests_to(emu, "profiles.mvpd") == 2), "no refresh once the period passed"

    # profileRefreshMs 0: never.
    emu.control("reset", {})
    log_in(emu, "Cablevision")
    with new_client(make_config, profileRefreshMs=0) as client:
        (decision,) = client.authorize("Cablevision", ["REF30"])
        assert decision.authorized
        time.sleep(0.4)
        assert requests_to(emu, "profiles.mvpd") == 0


# 13. X-Device-Info -------------------------------------------------------------------------------------
# rest-apis/rest-api-v2/appendix/headers/rest-api-v2-appendix-headers-x-device-info.md; the API pages'
# header tables (required); rest-api-v2-checklist.md ("send the X-Device-Info header for every request").

WITHOUT_DEVICE_INFO = {"sessions.resume", "sessions.get", "profiles.code"}  # their pages do not list it
JOURNEY = {"register", "token", "configuration", "sessions.create", "sessions.resume", "sessions.get",
           "profiles.code", "profiles", "profiles.mvpd", "decisions.preauthorize", "decisions.authorize", "logout"}


def journey(emu: Any, client: passauth.Client) -> None:
    """Every call of the journey, for the client's default device."""
    client.register()
    client.configuration()
    session = client.create_session("Cablevision")
    assert session.code is not None
    client.resume_session(session.code, domain_name="adobe.com", redirect_url="https://adobe.com")
    client.session(session.code)
    emu.control("login", {"code": session.code})
    assert "Cablevision" in client.profile_for_code(session.code)
    client.profiles()
    client.profile("Cablevision")
    client.preauthorize("Cablevision", ["REF30"])
    client.authorize("Cablevision", ["REF30"])
    client.logout("Cablevision", "https://adobe.com")


def test_host_built_device_info_and_opt_out(emu: Any, make_config: MakeConfig) -> None:
    with new_client(make_config, profileRefreshMs=0) as client:
        journey(emu, client)
        assert client.stats().get("deviceInfoWarnings", 0) == 0
    requests = logged(emu)
    assert JOURNEY <= {r["endpoint"] for r in requests}
    for request in requests:
        endpoint = request["endpoint"]
        info = device_info(request)
        if endpoint in WITHOUT_DEVICE_INFO:
            assert info is None, f"{endpoint} sent X-Device-Info, which its page does not list"
        else:
            assert info is not None, f"{endpoint}: no X-Device-Info"
            for field in ("model", "osName", "osVersion", "version", "connectionType", "primaryHardwareType"):
                assert isinstance(info.get(field), str) and info[field], f"{endpoint}: X-Device-Info has no {field}"
            assert info["osName"] == "Linux"
        assert request["warnings"] == [], f"{endpoint}: the emulator warns: {request['warnings']}"

    # defaultDeviceInfo false: no X-Device-Info at all
    emu.control("reset", {})
    with new_client(make_config, profileRefreshMs=0, defaultDeviceInfo=False) as client:
        journey(emu, client)
    requests = logged(emu)
    assert JOURNEY <= {r["endpoint"] for r in requests}
    assert [r["endpoint"] for r in requests if "x-device-info" in r["headers"]] == []


BROKEN_INFO = {
    "model": {"version": "1", "osName": "Linux", "osVersion": "6", "connectionType": "LAN"},  # required, missing
    "osName": {"model": "m", "version": "1", "osName": "Plan9", "osVersion": "6", "connectionType": "LAN"},
    "connectionSecure": {"model": "m", "version": "1", "osName": "Linux", "osVersion": "6", "connectionType": "LAN",
                         "connectionSecure": "maybe"},
    "displayWidth": {"model": "m", "version": "1", "osName": "Linux", "osVersion": "6", "connectionType": "LAN",
                     "displayWidth": "wide"},
    "primaryHardwareType": {"model": "m", "version": "1", "osName": "Linux", "osVersion": "6",
                            "connectionType": "LAN", "primaryHardwareType": "Toaster"},
}


@pytest.mark.parametrize("field", sorted(BROKEN_INFO))
def test_device_info_breaking_the_appendix(emu: Any, make_config: MakeConfig, caplog: pytest.LogCaptureFixture,
                                           field: str) -> None:
    device: Any = {"id": DEVICE_ID, "info": BROKEN_INFO[field]}

    # By default: a warning on the "passauth" logger and in the statistics, and the call is made.
    caplog.set_level(logging.WARNING, logger="passauth")
    with new_client(make_config, logLevel="warn") as client:
        client.configuration(device)
        assert client.stats().get("deviceInfoWarnings", 0) >= 1
    warnings = [r.getMessage() for r in caplog.records if r.name == "passauth" and r.levelno == logging.WARNING]
    assert any(field in message for message in warnings), warnings
    assert requests_to(emu, "configuration") == 1

    # strictDeviceInfo: InvalidArgumentError naming the field, and no request.
    key = f"device.info.{field}"
    with new_client(make_config, strictDeviceInfo=True) as client:
        with pytest.raises(passauth.InvalidArgumentError) as caught:
            client.configuration(device)
        assert caught.value.key == key, caught.value.info
    # The same info in the configuration's default device: refused at creation or at the first call.
    with pytest.raises(passauth.InvalidArgumentError) as caught:
        with new_client(make_config, device=device, strictDeviceInfo=True) as client:
            client.configuration()
    assert caught.value.key == key, caught.value.info
    assert requests_to(emu, "configuration") == 1

    # A complete, valid info: no warning, not even in strict mode.
    good: Device = {"id": DEVICE_ID, "info": {"primaryHardwareType": "SetTopBox", "model": "m", "version": "1",
                                              "osName": "Linux", "osVersion": "6", "connectionType": "LAN",
                                              "connectionSecure": True, "displayWidth": 1920}}
    with new_client(make_config, strictDeviceInfo=True) as client:
        client.configuration(good)
        assert client.stats().get("deviceInfoWarnings", 0) == 0
    assert logged(emu, "configuration")[-1]["warnings"] == []


# 14. Server-to-server ----------------------------------------------------------------------------------
# rest-apis/rest-api-v2/cookbooks/rest-api-v2-cookbook-server-server.md (the device's IP and source port);
# throttling-mechanism.md (X-Forwarded-For); the X-Device-Info page (connectionIp, connectionPort).

def test_server_to_server_connection_headers(emu: Any, make_config: MakeConfig) -> None:
    viewer: Device = {"id": DEVICE_ID, "ip": "203.0.113.7", "port": 40123}
    with_info: Device = {"id": DEVICE_ID, "ip": "203.0.113.7", "port": 40123,
                         "info": {"model": "m", "version": "1", "osName": "Linux", "osVersion": "6",
                                  "connectionType": "LAN", "connectionIp": "198.51.100.9"}}
    log_in(emu, "Cablevision")
    with new_client(make_config, device={"id": "s2s-default"}, profileRefreshMs=0) as client:
        client.configuration(viewer)
        client.profiles(viewer)
        (decision,) = client.authorize("Cablevision", ["REF30"], device=viewer)
        assert decision.authorized
        client.profiles(with_info)  # the caller's connectionIp stays, connectionPort is filled
    requests = [r for r in logged(emu) if r["endpoint"] not in ("register", "token")]  # DCR: the default device
    assert [r["endpoint"] for r in requests] == ["configuration", "profiles", "decisions.authorize", "profiles"]
    for request in requests:
        last = request is requests[-1]
        assert request["headers"].get("x-forwarded-for") == "203.0.113.7", request["endpoint"]
        info = device_info(request)
        assert info is not None, request["endpoint"]
        assert info.get("connectionIp") == ("198.51.100.9" if last else "203.0.113.7"), request["endpoint"]
        assert int(info.get("connectionPort", -1)) == 40123, request["endpoint"]
        if not last:
            assert request["warnings"] == [], f"{request['endpoint']}: {request['warnings']}"


# 15. Configuration cache per platform ------------------------------------------------------------------
# rest-api-v2-checklist.md (Configuration Caching); rest-api-v2-faqs.md, configuration phase 4 (per
# platform type).

def test_configuration_cached_per_platform(emu: Any, make_config: MakeConfig) -> None:
    def info(os_name: str) -> passauth.DeviceInfo:
        return {"primaryHardwareType": "SetTopBox", "model": "stb-1", "version": "1", "osName": os_name,
                "osVersion": "6", "connectionType": "LAN"}

    # a and b differ in everything but the platform: id, address, port, display, connectionIp
    a: Device = {"id": "stb-a", "ip": "203.0.113.1", "port": 1000, "info": {**info("Linux"), "displayWidth": 1920}}
    b: Device = {"id": "stb-b", "ip": "203.0.113.2", "port": 2000,
                 "info": {**info("Linux"), "displayWidth": 1280, "connectionIp": "203.0.113.2"}}
    c: Device = {"id": "stb-c", "info": info("Android")}
    with new_client(make_config) as client:
        first = client.configuration(a)
        second = client.configuration(b)
        assert requests_to(emu, "configuration") == 1, "two devices of one platform made two requests"
        assert client.stats()["cacheHits"] == 1
        assert [m.id for m in first.mvpds] == [m.id for m in second.mvpds]
        client.configuration(c)
        assert requests_to(emu, "configuration") == 2, "another osName shared the cached answer"
        client.configuration(c)
        assert requests_to(emu, "configuration") == 2
        assert client.stats()["cacheHits"] == 2
    sent = [device_info(r) for r in logged(emu, "configuration")]
    assert [i["osName"] if i else None for i in sent] == ["Linux", "Android"]
