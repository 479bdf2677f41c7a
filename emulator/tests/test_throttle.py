"""Throttling as throttling-mechanism.md describes."""

import time

import pytest
from emu_support import Client

from passauth_emulator import Emulator
from passauth_emulator.throttle import Throttle


@pytest.fixture
def throttled():
    with Emulator(throttle=True) as emulator:
        yield emulator


def burst(client, n, ip):
    return [client.request("GET", "/api/v2/REF30/configuration", {"X-Forwarded-For": ip}) for _ in range(n)]


def test_burst_then_429_per_forwarded_ip(throttled):
    client = Client(throttled)
    replies = burst(client, 12, "203.0.113.7")
    assert [r.status for r in replies[:11]] == [401] * 11  # 1 + 10 burst, then limited
    limited = replies[11]
    assert limited.status == 429
    assert limited.headers["content-type"] == "text/html"
    assert b"429 Too Many Requests" in limited.body
    # Another device (IP) has its own bucket; the control API is never throttled.
    assert burst(client, 1, "203.0.113.8")[0].status == 401
    stats = throttled.control("stats")
    assert stats["throttled"] == 1
    time.sleep(1.05)
    assert burst(client, 1, "203.0.113.7")[0].status == 401
    client.close()


def test_throttle_switch(throttled):
    client = Client(throttled)
    throttled.control("config", {"throttle": False})
    assert all(r.status == 401 for r in burst(client, 15, "198.51.100.1"))
    throttled.control("config", {"throttle": True})
    assert burst(client, 12, "198.51.100.2")[-1].status == 429
    client.close()


def test_docs_scenario_table():
    """The 'Scenario example for throttling' table, replayed on a fake clock."""
    now = [0.0]
    bucket = Throttle(clock=lambda: now[0])
    times = [0, 0.3, 0.6, 0.9, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8, 2.1, 2.2, 2.4, 2.6, 2.8, 3.1]
    results = []
    for t in times:
        now[0] = t
        results.append(bucket.allow("device"))
    assert results == [True] * 13 + [False] * 3 + [True]
