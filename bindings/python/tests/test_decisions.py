"""Decisions, logout, enhanced errors and action-driven retries, through the Python package."""

import pytest

import passauth
from passauth import Decision, Logout, MediaToken
from support import requests_to

DEVICE_ID = "py-device-1"  # conftest's default device


@pytest.fixture
def client(make_config):
    with passauth.Client(make_config(logLevel="none")) as c:
        yield c


@pytest.fixture
def logged_in(emu, client):
    emu.control("profiles", {"deviceId": DEVICE_ID, "mvpd": "Cablevision"})
    return client


def fault(emu, **spec):
    emu.control("faults", {"faults": [spec]})


def request_log(emu, endpoint):
    return [r for r in emu.control("requests")["requests"] if r["endpoint"] == endpoint]


def test_authorize_permit_has_a_media_token_hidden_from_repr(emu, logged_in):
    (decision,) = logged_in.authorize("Cablevision", ["REF30"])
    assert isinstance(decision, Decision)
    assert decision.authorized and decision.source == "mvpd" and decision.resource == "REF30"
    assert decision.error is None
    assert isinstance(decision.token, MediaToken)
    assert len(decision.token.serialized_token) > 20
    assert isinstance(decision.token.not_after_ms, int) and decision.token.not_after is not None
    assert decision.not_after is not None and decision.not_after_ms > decision.not_before_ms
    assert decision.token.serialized_token not in repr(decision)
    assert decision.token.serialized_token not in repr(decision.token)
    # Never cached: a second playback asks again.
    logged_in.authorize("Cablevision", ["REF30"])
    assert requests_to(emu, "decisions.authorize") == 2
    assert decision.token.serialized_token not in str(logged_in.stats())


def test_mixed_permit_and_deny_is_a_result_not_an_exception(emu, logged_in):
    emu.control("config", {"denyRules": [{"resource": "REF40", "details": "No Live channel"}]})
    permit, deny = logged_in.authorize("Cablevision", ["REF30", "REF40"])
    assert permit.authorized and permit.token is not None
    assert not deny.authorized and deny.token is None
    assert deny.error.code == "authorization_denied_by_mvpd"
    assert deny.error.status == 403 and deny.error.details == "No Live channel"
    assert deny.error.help_url and deny.error.action
    # One request per resource (Adobe answers too_many_resources above "usually up to 1"); no retry.
    assert requests_to(emu, "decisions.authorize") == 2
    assert logged_in.stats()["retries"] == 0


def test_preauthorize_twelve_resources_in_three_requests_and_cache(emu, logged_in):
    emu.control("config", {"denyRules": [{"resource": "r07"}]})
    resources = [f"r{i:02d}" for i in range(12)]
    decisions = logged_in.preauthorize("Cablevision", resources)
    assert [d.resource for d in decisions] == resources
    assert [d.authorized for d in decisions] == [i != 7 for i in range(12)]
    assert decisions[7].error.code == "preauthorization_denied_by_mvpd"
    assert all(d.token is None for d in decisions)
    batches = [len(__import__("json").loads(r["body"])["resources"]) for r in request_log(emu, "decisions.preauthorize")]
    assert sorted(batches) == [2, 5, 5]  # sent side by side, so in any order
    # Permits are answered from memory, without a request.
    hits = logged_in.stats()["cacheHits"]
    again = logged_in.preauthorize("Cablevision", ["r11", "r00"])
    assert [d.resource for d in again] == ["r11", "r00"] and all(d.authorized for d in again)
    assert requests_to(emu, "decisions.preauthorize") == 3
    assert logged_in.stats()["cacheHits"] == hits + 2
    # Denials are asked again.
    logged_in.preauthorize("Cablevision", ["r07"])
    assert requests_to(emu, "decisions.preauthorize") == 4


def test_degraded_and_temppass_sources(emu, client):
    emu.control("config", {"degraded": {"Dish": "AuthNAll"}})
    (degraded,) = client.authorize("Dish", ["REF30"])
    assert degraded.authorized and degraded.source == "degradation"
    (temp,) = client.authorize("TempPass_TEST40", ["REF30"])
    assert temp.authorized and temp.source == "temppass" and temp.token is not None
    emu.control("advance", {"seconds": 3601})
    (spent,) = client.authorize("TempPass_TEST40", ["REF30"])
    assert not spent.authorized and spent.error.code == "temporary_access_duration_limit_exceeded"


def test_logout_returns_the_action_and_clears_state(emu, logged_in):
    logged_in.preauthorize("Cablevision", ["REF30"])
    result = logged_in.logout("Cablevision", "https://example.com/back")
    assert isinstance(result, Logout)
    (action,) = result.actions
    assert (action.action_name, action.action_type, action.mvpd) == ("logout", "interactive", "Cablevision")
    assert action.url and action.needs_user_agent
    with pytest.raises(passauth.ServiceError) as caught:
        logged_in.preauthorize("Cablevision", ["REF30"])
    assert caught.value.code == "authenticated_profile_missing" and caught.value.needs_authentication
    assert requests_to(emu, "decisions.preauthorize") == 2
    emu.control("profiles", {"deviceId": DEVICE_ID, "mvpd": "Dish"})
    (dish,) = logged_in.logout("Dish", "https://example.com").actions
    assert (dish.action_name, dish.action_type) == ("complete", "none") and not dish.needs_user_agent


@pytest.mark.parametrize("bad", [[], [1], [""], "REF30", ["a", None]])
def test_bad_resources(client, bad):
    with pytest.raises(passauth.InvalidArgumentError):
        client.authorize("Cablevision", bad)


def test_bad_mvpd_and_redirect(client):
    with pytest.raises(passauth.InvalidArgumentError):
        client.preauthorize("", ["REF30"])
    with pytest.raises(passauth.InvalidArgumentError):
        client.logout("Cablevision", "")


@pytest.mark.parametrize("spec, exception, code, action", [
    ({"kind": "enhanced", "status": 403, "code": "authorization_denied_by_parental_controls", "action": "authorization"},
     passauth.ServiceError, "authorization_denied_by_parental_controls", "authorization"),
    ({"kind": "enhanced", "status": 400, "code": "invalid_integration", "action": "configuration"},
     passauth.ServiceError, "invalid_integration", "configuration"),
    ({"kind": "enhanced", "status": 403, "code": "authenticated_profile_expired", "action": "authentication"},
     passauth.ServiceError, "authenticated_profile_expired", "authentication"),
    ({"kind": "status", "status": 404}, passauth.HTTPError, None, None),
])
def test_top_level_errors_become_typed_exceptions(emu, logged_in, spec, exception, code, action):
    fault(emu, endpoint="decisions.authorize", **spec)
    with pytest.raises(exception) as caught:
        logged_in.authorize("Cablevision", ["REF30"])
    error = caught.value
    assert (error.code, error.action) == (code, action)
    assert error.http_status == spec["status"] and error.endpoint == "decisions.authorize"
    if code:
        assert error.help_url and error.trace and error.message
    assert requests_to(emu, "decisions.authorize") == 1  # surfaced, not retried


def test_application_registration_registers_again_once(emu, logged_in):
    logged_in.authorize("Cablevision", ["REF30"])
    fault(emu, kind="enhanced", status=403, code="invalid_client_application", action="application-registration",
          endpoint="decisions.authorize")
    (decision,) = logged_in.authorize("Cablevision", ["REF30"])
    assert decision.authorized
    assert emu.control("stats")["registrations"] == 2
    fault(emu, kind="enhanced", status=403, code="invalid_client_application", action="application-registration",
          endpoint="decisions.authorize", count=2)
    with pytest.raises(passauth.ServiceError) as caught:
        logged_in.authorize("Cablevision", ["REF30"])
    assert caught.value.needs_registration
    assert emu.control("stats")["registrations"] == 3


def test_retry_action_is_retried_then_given_up_after_three_attempts(emu, logged_in):
    fault(emu, kind="enhanced", status=503, code="network_connection_timeout", action="retry", count=2,
          endpoint="decisions.authorize")
    (decision,) = logged_in.authorize("Cablevision", ["REF30"])
    assert decision.authorized and requests_to(emu, "decisions.authorize") == 3
    fault(emu, kind="enhanced", status=503, code="network_connection_timeout", action="retry", count=3,
          endpoint="decisions.authorize")
    with pytest.raises(passauth.ServiceError) as caught:
        logged_in.authorize("Cablevision", ["REF30"])
    assert caught.value.is_retryable and caught.value.code == "network_connection_timeout"
    assert requests_to(emu, "decisions.authorize") == 6
    assert logged_in.stats()["retries"] == 4


def test_5xx_without_enhanced_body_is_retried_and_typed(emu, logged_in):
    fault(emu, kind="http502", count=3, endpoint="decisions.preauthorize")
    with pytest.raises(passauth.HTTPError) as caught:
        logged_in.preauthorize("Cablevision", ["REF30"])
    assert caught.value.http_status == 502 and caught.value.info.get("body")
    assert requests_to(emu, "decisions.preauthorize") == 3


def test_429_waits_at_least_one_second(emu, logged_in):
    fault(emu, kind="http429", endpoint="decisions.authorize")
    (decision,) = logged_in.authorize("Cablevision", ["REF30"])
    assert decision.authorized
    first, second = request_log(emu, "decisions.authorize")
    assert (first["status"], second["status"]) == (429, 200)
    assert second["timeMs"] - first["timeMs"] >= 1000
    stats = logged_in.stats()
    assert stats["throttled"] == 1 and stats["retries"] == 1


def test_429_beyond_the_timeout_fails_fast(emu, make_config):
    emu.control("profiles", {"deviceId": DEVICE_ID, "mvpd": "Cablevision"})
    with passauth.Client(make_config(logLevel="none", timeoutMs=2000)) as client:
        fault(emu, kind="http429", retryAfter=5, endpoint="decisions.authorize")
        with pytest.raises(passauth.ThrottledError) as caught:
            client.authorize("Cablevision", ["REF30"])
        assert 2000 < caught.value.retry_after_ms <= 5000
        assert requests_to(emu, "decisions.authorize") == 1
