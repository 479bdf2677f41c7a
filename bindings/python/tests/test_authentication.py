"""The authentication phase through the Python package."""

import threading
import time

import pytest

import passauth
from support import requests_to


def login_later(emu, code, delay):
    timer = threading.Timer(delay, lambda: emu.control("login", {"code": code}))
    timer.start()
    return timer


def test_configuration_is_cached_filtered_and_the_choice_persisted(emu, make_config):
    config = make_config()
    with passauth.Client(config) as client:
        everything = client.configuration().mvpds
        regular = client.mvpds(temp_pass=False)
        assert regular and len(regular) < len(everything)
        assert not any(m.is_temp_pass for m in regular)
        cablevision = client.mvpds(search="cablev")[0]
        assert client.selected_mvpd() is None
        client.select_mvpd(cablevision)
    assert requests_to(emu, "configuration") == 1
    with passauth.Client(config) as restarted:
        chosen = restarted.selected_mvpd()
        assert chosen is not None and chosen.id == "Cablevision" and chosen.logo_url


def test_first_screen_journey_with_callback(emu, make_config):
    with passauth.Client(make_config()) as client:
        session = client.create_session("Cablevision", "adobe.com", "https://adobe.com")
        assert session.needs_user_agent and session.code
        assert session.url == client.authenticate_url(session.code)
        assert session.not_after is not None and session.not_after.tzinfo is not None
        done = threading.Event()
        results = []

        def on_done(result):
            results.append(result)
            done.set()

        timer = login_later(emu, session.code, 1.0)
        with client.poll(session.code, callback=on_done, not_after_ms=session.not_after_ms) as poll:
            profiles = poll.wait(timeout=30)
            assert done.wait(5)
        timer.join()
        assert "Cablevision" in profiles
        assert len(results) == 1 and results[0].ok and "Cablevision" in results[0].profiles
        profile = client.profile("Cablevision")
        assert profile is not None and profile.not_after > profile.not_before
        assert client.pick_profile(client.profiles()).mvpd == "Cablevision"
        assert "Cablevision" in client.stored_profiles()


def test_second_screen_resume_and_typed_code_validation(emu, make_config):
    with passauth.Client(make_config()) as client:
        session = client.create_session()
        assert session.action_name == "resume" and len(session.missing_parameters) == 3
        looked_up = client.session(session.code)
        assert set(looked_up.missing_parameters) == set(session.missing_parameters)
        resumed = client.resume_session(session.code, "Cablevision", "adobe.com", "https://adobe.com")
        assert resumed.action_name == "authenticate"
        with pytest.raises(passauth.ServiceError) as caught:
            client.session("NOSUCH1")
        assert caught.value.http_status == 400
        with pytest.raises(passauth.InvalidArgumentError):
            client.session("../../etc")


def test_expired_code_raises_expired(emu, make_config):
    emu.control("config", {"codeTtlSeconds": 4})
    try:
        with passauth.Client(make_config()) as client:
            session = client.create_session("Cablevision", "adobe.com", "https://adobe.com")
            with client.poll(session.code) as poll:
                with pytest.raises(passauth.ExpiredError):
                    poll.wait(timeout=20)
    finally:
        emu.control("config", {"codeTtlSeconds": 1800})


def test_cancel_from_another_thread_and_wait_timeout(emu, make_config):
    with passauth.Client(make_config()) as client:
        session = client.create_session("Cablevision", "adobe.com", "https://adobe.com")
        poll = client.poll(session.code)
        with pytest.raises(passauth.PollPending) as still:
            poll.wait(timeout=0.1)
        assert still.value.poll is poll and not isinstance(still.value, passauth.PassAuthError)
        assert poll.info().pending and not poll.done()
        threading.Timer(0.2, poll.cancel).start()
        with pytest.raises(passauth.CancelledError):
            poll.wait(timeout=10)
        poll.close()


def test_callback_may_close_its_own_poll(emu, make_config):
    with passauth.Client(make_config()) as client:
        session = client.create_session("Cablevision", "adobe.com", "https://adobe.com")
        emu.control("login", {"code": session.code})
        done = threading.Event()
        holder = {}

        def on_done(result):
            holder["poll"].close()
            holder["ok"] = result.ok
            done.set()

        holder["poll"] = client.poll(session.code, callback=on_done)
        assert done.wait(15) and holder["ok"]


def test_newer_code_supersedes_the_running_poll(emu, make_config):
    with passauth.Client(make_config()) as client:
        first = client.create_session("Cablevision", "adobe.com", "https://adobe.com")
        with client.poll(first.code) as poll:
            client.create_session("Cablevision", "adobe.com", "https://adobe.com")
            with pytest.raises(passauth.CancelledError) as caught:
                poll.wait(timeout=2)
            assert "newer" in caught.value.message


def test_polls_are_never_closer_than_three_seconds(emu, make_config):
    with passauth.Client(make_config()) as client:
        session = client.create_session("Cablevision", "adobe.com", "https://adobe.com")
        timer = login_later(emu, session.code, 7.0)
        with client.poll(session.code, interval=0.5) as poll:  # asks for 0.5 s; gets 3 s
            poll.wait(timeout=30)
        timer.join()
    times = [r["timeMs"] for r in emu.control("requests")["requests"] if r["endpoint"] == "profiles.code"]
    assert len(times) >= 2
    assert min(b - a for a, b in zip(times, times[1:])) >= 2990
