"""The whole journey through the package, and every exception class raised by a real call.

register → configuration → session → MVPD login (emulator) → poll → preauthorize → authorize → logout,
against the in-process emulator; then one test per status of the C contract.
"""

import ctypes
import os
import threading
from datetime import datetime, timezone

import pytest

import passauth
from passauth import _native, errors
from support import requests_to

DEVICE_ID = "py-device-1"  # conftest's default device


def fault(emu, **spec):
    emu.control("faults", {"faults": [spec]})


def test_full_journey(emu, make_config):
    with passauth.Client(make_config(logLevel="none")) as client:
        registration = client.register()
        assert registration.registered and registration.token_fetched and registration.client_id
        assert registration.access_token_expires_at > datetime.now(timezone.utc)

        mvpds = client.configuration().mvpds
        cablevision = next(m for m in mvpds if m.id == "Cablevision")
        assert cablevision.display_name and cablevision.raw["id"] == "Cablevision"
        client.select_mvpd(cablevision)
        assert client.selected_mvpd().id == "Cablevision"

        session = client.create_session(cablevision.id, "adobe.com", "https://adobe.com")
        assert session.action_name == "authenticate" and session.needs_user_agent and session.code
        assert session.url == client.authenticate_url(session.code)
        assert session.not_after.tzinfo is timezone.utc
        assert int(session.not_after.timestamp() * 1000) == session.not_after_ms

        # The user logs in on a second screen a little later; the poll sees the profile appear.
        login = threading.Timer(0.5, lambda: emu.control("login", {"code": session.code}))
        login.start()
        with client.poll(session.code, not_after_ms=session.not_after_ms) as poll:
            profiles = poll.wait(timeout=30)
        login.join()
        profile = profiles["Cablevision"]
        assert profile.mvpd == "Cablevision" and profile.not_after > datetime.now(timezone.utc)
        assert profile.raw["notAfter"] == profile.not_after_ms

        filtered = client.preauthorize("Cablevision", ["REF30", "REF40"])
        assert [d.resource for d in filtered] == ["REF30", "REF40"]
        assert all(d.authorized and d.token is None for d in filtered)

        (decision,) = client.authorize("Cablevision", ["REF30"])
        assert decision.authorized and decision.source == "mvpd"
        assert isinstance(decision.token, passauth.MediaToken)
        secret = decision.token.serialized_token
        assert len(secret) > 20 and decision.raw["token"]["serializedToken"] == secret
        assert secret not in repr(decision) and secret not in repr(decision.token)
        assert decision.token.not_after > decision.token.not_before

        logout = client.logout("Cablevision", "https://adobe.com")
        (action,) = logout.actions
        assert (action.action_name, action.action_type, action.mvpd) == ("logout", "interactive", "Cablevision")
        assert action.needs_user_agent and action.url
        assert client.stored_profiles() == {}

        # Logged out: playback now asks the user to authenticate again.
        with pytest.raises(passauth.ServiceError) as caught:
            client.authorize("Cablevision", ["REF30"])
        assert caught.value.needs_authentication

    counts = emu.control("stats")["requests"]
    for endpoint in ("register", "token", "configuration", "sessions.create", "profiles.code",
                     "decisions.preauthorize", "decisions.authorize", "logout"):
        assert counts.get(endpoint), endpoint


# One test per exception class -------------------------------------------------------------------

def test_every_status_has_its_exception_class():
    statuses = {value for name, value in vars(_native).items() if name.startswith("PASSAUTH_E_")}
    assert statuses == set(errors._BY_STATUS)
    for status, cls in errors._BY_STATUS.items():
        assert issubclass(cls, passauth.PassAuthError) and cls.status == status
        assert getattr(passauth, cls.__name__) is cls
        error = errors.error_from_record(status, {"message": "m"})
        assert type(error) is cls and error.status_name == passauth.status_name(status)
        assert errors.error_class(status) is cls


def test_invalid_argument(make_config):
    with pytest.raises(passauth.InvalidArgumentError) as caught:
        passauth.Client(make_config(timeoutMs="soon"))
    assert caught.value.key == "timeoutMs" and isinstance(caught.value, ValueError)


def test_registration_error(emu, make_config):
    with passauth.Client(make_config(softwareStatement="not-a-statement")) as client:
        with pytest.raises(passauth.RegistrationError) as caught:
            client.register()
    assert caught.value.code == "invalid_software_statement" and caught.value.needs_registration


def test_service_error_with_action_authentication(emu, make_config):
    emu.control("profiles", {"deviceId": DEVICE_ID, "mvpd": "Cablevision"})
    with passauth.Client(make_config(logLevel="none")) as client:
        fault(emu, kind="enhanced", status=403, code="authenticated_profile_expired", action="authentication",
              endpoint="decisions.authorize")
        with pytest.raises(passauth.ServiceError) as caught:
            client.authorize("Cablevision", ["REF30"])
    error = caught.value
    assert error.needs_authentication and not error.needs_authorization and not error.is_retryable
    assert (error.code, error.action, error.http_status) == ("authenticated_profile_expired", "authentication", 403)
    assert error.trace and error.help_url and error.endpoint == "decisions.authorize"
    assert "authenticated_profile_expired" in str(error)


def test_http_error(emu, make_config):
    with passauth.Client(make_config(logLevel="none")) as client:
        fault(emu, kind="status", status=418, endpoint="configuration")
        with pytest.raises(passauth.HTTPError) as caught:
            client.configuration()
    assert caught.value.http_status == 418 and caught.value.code is None


def test_unauthorized_error(emu, make_config):
    with passauth.Client(make_config(configurationCacheMs=0, logLevel="none")) as client:
        client.register()
        fault(emu, kind="http401", count=2, endpoint="configuration")
        with pytest.raises(passauth.UnauthorizedError) as caught:
            client.configuration()
    assert caught.value.http_status == 401


def test_throttled_error(emu, make_config):
    with passauth.Client(make_config(logLevel="none")) as client:
        client.register()
        fault(emu, kind="http429", count=3, endpoint="configuration")
        with pytest.raises(passauth.ThrottledError) as caught:
            client.configuration()
    assert caught.value.is_retryable and caught.value.retry_after_ms and caught.value.retry_after_ms >= 1000
    assert requests_to(emu, "configuration") == 3


def test_protocol_error(emu, make_config):
    with passauth.Client(make_config(logLevel="none")) as client:
        fault(emu, kind="invalid-json", count=3, endpoint="configuration")
        with pytest.raises(passauth.ProtocolError):
            client.configuration()


def test_timed_out_error(emu, make_config):
    with passauth.Client(make_config(timeoutMs=1000, connectTimeoutMs=1000, logLevel="none")) as client:
        client.register()
        fault(emu, kind="delay", delayMs=3000, endpoint="configuration")
        with pytest.raises(passauth.TimedOutError) as caught:
            client.configuration()
    assert isinstance(caught.value, TimeoutError) and caught.value.is_retryable
    assert requests_to(emu, "configuration") == 1  # a timeout is never retried


def test_transport_error(make_config):
    with passauth.Client(make_config(baseUrl="http://127.0.0.1:9", logLevel="none")) as client:
        with pytest.raises(passauth.TransportError) as caught:
            client.register()
    assert caught.value.is_retryable


def test_store_error(make_config):
    config = make_config(logLevel="none")
    os.makedirs(config["store"])
    with open(os.path.join(config["store"], "passauth.sqlite3"), "w") as handle:
        handle.write("{not json")
    with passauth.Client(config) as client:
        with pytest.raises(passauth.StoreError):
            client.register()


def test_expired_error(emu, make_config):
    emu.control("config", {"codeTtlSeconds": 3})
    with passauth.Client(make_config(logLevel="none")) as client:
        session = client.create_session("Cablevision", "adobe.com", "https://adobe.com")
        with client.poll(session.code) as poll:
            with pytest.raises(passauth.ExpiredError):
                poll.wait(timeout=20)


def test_cancelled_error_and_callback(emu, make_config):
    outcomes = []
    ended = threading.Event()

    def on_end(result):
        outcomes.append(result)
        ended.set()

    with passauth.Client(make_config(logLevel="none")) as client:
        session = client.create_session("Cablevision", "adobe.com", "https://adobe.com")
        with client.poll(session.code, callback=on_end) as poll:
            poll.cancel()
            with pytest.raises(passauth.CancelledError):
                poll.wait(timeout=10)
        assert ended.wait(5)
    (outcome,) = outcomes
    assert not outcome.ok and isinstance(outcome.error, passauth.CancelledError)


def test_not_found_error(make_config):
    # passauth_profile_pick with no valid profile; Client.pick_profile turns it into None.
    out = ctypes.c_void_p()
    with pytest.raises(passauth.NotFoundError) as caught:
        errors.check(_native.library().passauth_profile_pick(b'{"profiles": {}}', ctypes.byref(out)))
    assert out.value is None and isinstance(caught.value, LookupError)
    with passauth.Client(make_config()) as client:
        assert client.pick_profile({}) is None


def test_not_found_selected_mvpd_is_none(make_config):
    with passauth.Client(make_config()) as client:
        assert client.selected_mvpd() is None


def test_dropped_poll_keeps_its_callback_alive_until_the_end(emu, make_config):
    import gc

    outcomes = []
    ended = threading.Event()

    def on_end(result):
        outcomes.append(result)
        ended.set()

    with passauth.Client(make_config(logLevel="none")) as client:
        session = client.create_session("Cablevision", "adobe.com", "https://adobe.com")
        client.poll(session.code, callback=on_end)  # the Poll is dropped at once
        gc.collect()
        emu.control("login", {"code": session.code})
        assert ended.wait(15)
    (outcome,) = outcomes
    assert outcome.ok and "Cablevision" in outcome.profiles
