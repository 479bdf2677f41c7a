"""The exception hierarchy: classes chosen from the struct's status (and, for PASSAUTH_E_SERVICE, the
service's action), grouped by what a caller does, with every member of struct passauth_error."""

import ctypes

import pytest

import passauth
from passauth import _native, errors

DEVICE_ID = "py-device-1"


def fault(emu, **spec):
    emu.control("faults", {"faults": [spec]})


@pytest.mark.parametrize("action, cls", [
    ("authentication", passauth.AuthenticationRequiredError),
    ("authorization", passauth.AuthorizationDeniedError),
    ("configuration", passauth.ConfigurationError),
    ("retry", passauth.ServiceUnavailableError),
    ("none", passauth.ServiceError),
])
def test_service_errors_are_classed_by_action(emu, make_config, action, cls):
    emu.control("profiles", {"deviceId": DEVICE_ID, "mvpd": "Cablevision"})
    with passauth.Client(make_config(logLevel="none")) as client:
        fault(emu, kind="enhanced", status=403 if action != "retry" else 503, code=f"some_{action}_code",
              action=action, endpoint="decisions.authorize", count=3)
        with pytest.raises(passauth.ServiceError) as caught:
            client.authorize("Cablevision", ["REF30"])
    error = caught.value
    assert type(error) is cls and error.status == _native.PASSAUTH_E_SERVICE and error.action == action
    assert error.code == f"some_{action}_code" and error.help_url and error.trace
    assert isinstance(error, passauth.TransientError) == (action == "retry") == error.is_retryable


def test_the_exception_carries_every_member_of_the_struct(emu, make_config):
    with passauth.Client(make_config(logLevel="none", timeoutMs=2000)) as client:
        client.register()
        fault(emu, kind="http429", retryAfter=5, endpoint="configuration")
        with pytest.raises(passauth.ThrottledError) as caught:
            client.configuration()
        record = _native.library().passauth_error_last().contents  # same thread, nothing failed since
    error = caught.value
    assert isinstance(error, passauth.TransientError) and not isinstance(error, passauth.ServiceError)
    assert error.status == record.status == _native.PASSAUTH_E_THROTTLED
    assert error.status_name == record.name.decode() == "PASSAUTH_E_THROTTLED"
    assert error.message == record.message.decode() and error.endpoint == record.endpoint.decode() == "configuration"
    assert error.http_status == (record.http_status or None)  # 0 in the struct: no HTTP status applies
    assert error.retry_after_ms == record.retry_after_ms and 2000 < error.retry_after_ms <= 5000
    assert error.retry_after == error.retry_after_ms / 1000
    assert error.info["retryAfterMs"] == error.retry_after_ms and error.info["statusName"] == "PASSAUTH_E_THROTTLED"


def test_transport_and_timeout_are_the_builtin_kinds(make_config):
    with passauth.Client(make_config(baseUrl="http://127.0.0.1:9", logLevel="none")) as client:
        with pytest.raises(ConnectionError) as caught:
            client.register()
    assert isinstance(caught.value, passauth.TransportError) and isinstance(caught.value, passauth.TransientError)
    assert caught.value.http_status is None and caught.value.retry_after_ms is None
    assert issubclass(passauth.TimedOutError, TimeoutError) and issubclass(passauth.TimedOutError, passauth.TransientError)
    assert issubclass(passauth.InvalidArgumentError, ValueError) and issubclass(passauth.NotFoundError, LookupError)
    assert issubclass(passauth.HTTPError, passauth.ServiceError)
    assert issubclass(passauth.UnauthorizedError, passauth.ServiceError)
    assert not issubclass(passauth.PollPending, passauth.PassAuthError) and issubclass(passauth.PollPending, TimeoutError)


def test_a_validation_error_names_the_key():
    out = ctypes.c_size_t()
    status = _native.library().passauth_json_count(b"[1", b"", ctypes.byref(out))
    with pytest.raises(passauth.InvalidArgumentError) as caught:
        errors.check(status)
    assert caught.value.status == -1 and caught.value.status_name == "PASSAUTH_E_INVALID_ARGUMENT"
    with pytest.raises(passauth.InvalidArgumentError) as caught:
        passauth.Client(service_provider="REF30", software_statement="x", timeout_ms=-5)
    assert caught.value.key == "timeoutMs" and "timeoutMs" in str(caught.value)
