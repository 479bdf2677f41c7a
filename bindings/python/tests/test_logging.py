"""The library's log lines reach the standard logging module (logger "passauth", levels mapped), carry
no secret, and nothing a handler does can break a call or cross into C."""

import logging
import threading

import passauth
from passauth import logs
from support import issued_secrets

DEVICE = {"id": "log-device", "subjectToken": "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJsb2ctdXNlciJ9.sso-secret-signature"}


def records_from(caplog):
    return [r for r in caplog.records if r.name == "passauth"]


def test_level_mapping_and_the_derived_log_level():
    assert logs.library_level(logging.DEBUG) == "debug" and logs.library_level(logging.WARNING) == "warn"
    assert logs.library_level(logs.TRACE) == "trace" and logs.library_level(logging.CRITICAL) == "none"
    assert logging.getLevelName(logs.TRACE) == "TRACE"


def test_a_reregistration_is_logged_as_a_warning_without_secrets(emu, make_config, caplog):
    caplog.set_level(logging.DEBUG, logger="passauth")  # before the client: it asks the library for debug
    with passauth.Client(make_config(device=DEVICE)) as client:
        client.register()
        emu.control("revoke-clients", {})
        emu.control("expire-tokens", {})
        client.configuration()
        (decision,) = client.authorize("TempPass_TEST40", ["REF30"])
        assert decision.token is not None
    records = records_from(caplog)
    warnings = [r.getMessage() for r in records if r.levelno == logging.WARNING]
    assert any("re-registered with" in m and "every user of the old client is logged out" in m for m in warnings), warnings
    debugs = [r.getMessage() for r in records if r.levelno == logging.DEBUG]
    assert any("(decisions.authorize) -> HTTP 200" in m for m in debugs), debugs
    secrets = issued_secrets(emu) | {decision.token.serialized_token, DEVICE["subjectToken"]}
    assert len(secrets) >= 4
    text = "\n".join(r.getMessage() for r in records)
    assert not [s for s in secrets if s in text]


def test_a_poll_retry_is_a_warning(emu, make_config, caplog):
    caplog.set_level(logging.WARNING, logger="passauth")
    with passauth.Client(make_config()) as client:
        session = client.create_session("Cablevision", "adobe.com", "https://adobe.com")
        emu.control("faults", {"faults": [{"kind": "http502", "count": 3, "endpoint": "profiles.code"}]})
        with client.poll(session.code) as poll:
            for _ in range(60):
                if any(r.levelno == logging.WARNING for r in records_from(caplog)):
                    break
                threading.Event().wait(0.1)
            info = poll.info()
    warnings = [r.getMessage() for r in records_from(caplog) if r.levelno == logging.WARNING]
    assert any(f"poll of code {session.code}" in m for m in warnings), warnings
    assert info.pending and info.requests >= 1 and isinstance(info.last_error, passauth.HTTPError)
    assert not [s for s in issued_secrets(emu) if s in "\n".join(warnings)]


def test_the_logger_level_at_creation_picks_the_library_level(emu, make_config, caplog):
    caplog.set_level(logging.WARNING, logger="passauth")
    with passauth.Client(make_config()) as client:
        client.register()
    assert not [r for r in records_from(caplog) if r.levelno < logging.WARNING]  # the library logged none


def test_a_failing_handler_never_breaks_a_call(emu, make_config):
    seen = []

    class Broken(logging.Handler):
        def emit(self, record):
            if record.name == "passauth":  # not the emulator's own logger (passauth.emulator)
                seen.append(record)
                raise RuntimeError("handler bug")

        def handleError(self, record):
            raise RuntimeError("no, really")

    handler = Broken()
    logger = logging.getLogger("passauth")
    logger.addHandler(handler)
    old = logger.level
    logger.setLevel(logging.DEBUG)
    try:
        with passauth.Client(make_config()) as client:
            assert client.register().registered
        assert seen
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old)
