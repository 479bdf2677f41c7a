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
