"""Client-side pacing (throttling-mechanism.md): a device's burst never meets the service's 429,
and one device's pacing never slows another."""

import time

import passauth


def test_a_burst_is_paced_per_device_ip_and_never_throttled(emu, make_config):
    emu.control("config", {"throttle": True})
    try:
        with passauth.Client(make_config()) as client:
            client.register()
            busy = {"id": "busy-box", "ip": "198.51.100.1"}
            started = time.monotonic()
            for _ in range(13):
                client.profiles(device=busy)
            busy_seconds = time.monotonic() - started
            quiet = {"id": "quiet-box", "ip": "198.51.100.2"}
            started = time.monotonic()
            for _ in range(5):
                client.profiles(device=quiet)
            quiet_seconds = time.monotonic() - started
        assert emu.control("stats")["throttled"] == 0
        assert busy_seconds >= 2.5  # 10 at once, then one per second
        assert quiet_seconds < 1.0
    finally:
        emu.control("config", {"throttle": False})


def test_pacing_can_be_turned_off(emu, make_config):
    with passauth.Client(make_config(pacing=False)) as client:
        client.register()
        started = time.monotonic()
        for _ in range(15):
            client.profiles()
        assert time.monotonic() - started < 2.0


def test_fifty_calls_for_one_device_are_never_throttled_and_another_device_is_not_slowed(emu, make_config):
    """The issue's scenario with a throttle scaled 10x (emulator and client alike: 10/s, burst 10) so
    that 50 calls take ~4 s instead of ~40 s; the mechanism is the same as at 1/s."""
    import threading

    emu.control("config", {"throttle": True, "throttleRatePerSecond": 10, "throttleBurst": 10})
    try:
        with passauth.Client(make_config(pacingRatePerSecond=10, pacingBurst=10)) as client:
            client.register()
            busy = {"id": "busy-box", "ip": "198.51.100.11"}
            quiet = {"id": "quiet-box", "ip": "198.51.100.12"}
            errors = []
            busy_done = []

            def hammer(calls):
                try:
                    for _ in range(calls):
                        client.profiles(device=busy)
                except passauth.PassAuthError as error:  # pragma: no cover - reported below
                    errors.append(error)
                busy_done.append(time.monotonic())

            started = time.monotonic()
            threads = [threading.Thread(target=hammer, args=(10,)) for _ in range(5)]  # 50 calls, 5 threads
            for thread in threads:
                thread.start()
            time.sleep(0.3)  # the busy device's burst is used up: its callers are queued now
            quiet_started = time.monotonic()
            for _ in range(5):
                client.profiles(device=quiet)
            quiet_seconds = time.monotonic() - quiet_started
            for thread in threads:
                thread.join()
            busy_seconds = max(busy_done) - started
        assert errors == []
        assert emu.control("stats")["throttled"] == 0
        assert busy_seconds >= 3.5  # 10 at once, then 10 per second
        assert quiet_seconds < 0.5
    finally:
        emu.control("config", {"throttle": False})
        emu.control("reset", {})
