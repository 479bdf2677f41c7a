"""Server-to-server polling at scale (issue #7): a few hundred codes of different devices polled at once
by the library's fixed set of threads, logins completing at random times; every poll ends with its own
device's profile and no code is ever asked for twice within 3 s."""

import os
import random
import threading
import time
from collections import defaultdict

import passauth
import pytest

POLLS = 300


def library_threads() -> int:
    """Threads of this process the library started (it names them passauth-*)."""
    names = []
    for task in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{task}/comm") as comm:
                names.append(comm.read().strip())
        except FileNotFoundError:
            pass
    return sum(1 for name in names if name.startswith("passauth-"))


def test_hundreds_of_concurrent_polls_with_logins_at_random_times(emu, make_config):
    with passauth.Client(make_config(pacing=False)) as client:
        client.register()
        devices = [{"id": f"many-{i}", "ip": f"10.1.{i >> 8}.{i & 255}"} for i in range(POLLS)]
        sessions = [client.create_session("Cablevision", "adobe.com", "https://adobe.com", device=d) for d in devices]
        polls = [client.poll(s.code, interval=3, not_after_ms=s.not_after_ms, device=d) for s, d in zip(sessions, devices)]
        rng = random.Random(7)
        schedule = sorted((rng.uniform(0.5, 9.0), s.code) for s in sessions)

        def log_in() -> None:
            started = time.monotonic()
            for at, code in schedule:
                time.sleep(max(0.0, started + at - time.monotonic()))
                emu.control("login", {"code": code})

        logins = threading.Thread(target=log_in)
        logins.start()
        time.sleep(1.0)
        # The poller's scheduler and deliverer plus the HTTP thread, whatever the number of polls.
        assert 1 <= library_threads() <= 4
        try:
            results = [p.wait(timeout=60) for p in polls]
        finally:
            logins.join()
            for p in polls:
                p.close()
        assert all("Cablevision" in r for r in results)
        # Each device got (and stored) its own profile, no other device's.
        for device in devices[:20]:
            assert "Cablevision" in client.stored_profiles(device)
        assert client.stored_profiles({"id": "many-never-logged-in"}) == {}

    by_code = defaultdict(list)
    for request in emu.control("requests")["requests"]:
        if request["endpoint"] == "profiles.code":
            by_code[request["path"].rsplit("/", 1)[1]].append(request["timeMs"])
    assert len(by_code) == POLLS
    gaps = [b - a for times in by_code.values() for a, b in zip(times, times[1:])]
    assert gaps and min(gaps) >= 2990


def test_a_401_while_polling_renews_the_token_once_and_the_poll_goes_on(emu, make_config):
    with passauth.Client(make_config(pacing=False)) as client:
        session = client.create_session("Cablevision", "adobe.com", "https://adobe.com")
        emu.control("faults", {"faults": [{"kind": "http401", "count": 1, "endpoint": "profiles.code"}]})
        poll = client.poll(session.code, interval=3, not_after_ms=session.not_after_ms)
        timer = threading.Timer(4.0, lambda: emu.control("login", {"code": session.code}))
        timer.start()
        try:
            assert "Cablevision" in poll.wait(timeout=30)
        finally:
            timer.join()
            poll.close()
        assert client.stats()["unauthorizedRefreshes"] == 1
    assert emu.control("stats")["tokensIssued"] == 2


def test_a_found_profile_is_stored_before_the_poll_ends(emu, make_config):
    device = {"id": "stored-first", "ip": "10.9.0.1"}
    with passauth.Client(make_config(pacing=False)) as client:
        session = client.create_session("Cablevision", "adobe.com", "https://adobe.com", device=device)
        seen_in_callback = []
        emu.control("login", {"code": session.code})
        poll = client.poll(session.code, interval=3, not_after_ms=session.not_after_ms, device=device,
                           callback=lambda result: seen_in_callback.append(dict(client.stored_profiles(device))))
        try:
            assert "Cablevision" in poll.wait(timeout=20)
        finally:
            poll.close()
        assert len(seen_in_callback) == 1 and "Cablevision" in seen_in_callback[0]


def test_freeing_the_client_cancels_requests_in_flight_and_stops_its_threads(emu, make_config):
    client = passauth.Client(make_config(pacing=False, timeoutMs=20000))
    session = client.create_session("Cablevision", "adobe.com", "https://adobe.com")
    emu.control("faults", {"faults": [{"kind": "delay", "delayMs": 15000, "endpoint": "profiles.code"}]})
    poll = client.poll(session.code, interval=3, not_after_ms=session.not_after_ms)
    time.sleep(3.5)  # the first request leaves within the first interval (3 s) and hangs for 15 s
    assert library_threads() == 3
    started = time.monotonic()
    client.close()
    assert time.monotonic() - started < 5, "client_free waited for the request in flight"
    assert library_threads() == 0
    with pytest.raises(passauth.CancelledError):
        poll.wait(timeout=5)
    poll.close()
