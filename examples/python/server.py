"""One back-end process acting for many streaming devices (server-to-server) with the passauth Python
package: one Client, a Device per call (its id, IP and source port), a second-screen login and a poll
per device on the library's three poll threads, then an authorization per device from a thread pool,
and the client's statistics. docs/server-to-server.md walks through it.

    python3 examples/python/server.py <base-url> <store-dir> [devices] [--verbose]

Against the local emulator, let it finish each MVPD login by itself (a real back-end hands each device
its code and URL and waits for the user):

    python3 -m passauth_emulator --port 8642 --auto-login 1 &
    python3 examples/python/server.py http://127.0.0.1:8642 /tmp/passauth-server 200
"""

import logging
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Dict, List, Optional

import passauth

SOFTWARE_STATEMENT = "eyJhbGciOiJSUzI1NiJ9.eyJzb2Z0d2FyZV9pZCI6ImRlbW8ifQ.c2lnbmF0dXJl"
MVPD = "Cablevision"
NETWORKS = ["203.0.113", "198.51.100", "192.0.2"]  # documentation addresses

log = logging.getLogger("server")


def device_for(index: int) -> passauth.Device:
    """A streaming device: its stable id, the IP and source port it connected from (X-Forwarded-For and
    X-Device-Info connectionIp/connectionPort), its User-Agent and its X-Device-Info fields."""
    ip = f"{NETWORKS[index // 254]}.{index % 254 + 1}" if index < 3 * 254 else f"2001:db8::{index:x}"
    return passauth.Device(id=f"viewer-{index:05d}", ip=ip, port=40000 + index % 20000, userAgent="AcmeTV/3.1",
                           info={"primaryHardwareType": "SetTopBox", "model": "Acme 4K", "version": "3.1",
                                 "manufacturer": "Acme", "osName": "Linux", "osVersion": "6.1",
                                 "connectionType": "LAN"})


class Logins:
    """The outcome of every device's poll, filled in by the callbacks (on the library's thread)."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.outcomes: Dict[str, Optional[passauth.PassAuthError]] = {}
        self.changed = threading.Condition()

    def ended(self, device_id: str, error: Optional[passauth.PassAuthError]) -> None:
        with self.changed:
            self.outcomes[device_id] = error
            self.changed.notify_all()

    def wait(self, timeout: float) -> int:
        with self.changed:
            self.changed.wait_for(lambda: len(self.outcomes) == self.count, timeout=timeout)
            return len(self.outcomes)


def start_login(client: passauth.Client, device: passauth.Device, logins: Logins,
                polls: Dict[str, passauth.Poll]) -> None:
    """A device asks to log in: a session (its code and URL go back to the device), then a poll."""
    device_id = device["id"]
    try:
        session = client.create_session(MVPD, "adobe.com", "https://adobe.com", device=device)
        if session.code is None:  # "authorize": this device is logged in already
            logins.ended(device_id, None)
            return
        polls[device_id] = client.poll(session.code, not_after_ms=session.not_after_ms, device=device,
                                       callback=lambda result: logins.ended(device_id, result.error))
    except passauth.PassAuthError as error:
        log.error("login for %s: %s", device_id, error)
        logins.ended(device_id, error)


def authorize(client: passauth.Client, device: passauth.Device) -> Optional[bool]:
    """A device asks to play: one authorization; its media token goes back to the device (not shown)."""
    try:
        (decision,) = client.authorize(MVPD, ["REF30"], device=device)
    except passauth.AuthenticationRequiredError:
        return False  # log in again
    except passauth.PassAuthError as error:
        log.error("authorize for %s: %s (code %s, trace %s)", device["id"], error, error.code, error.trace)
        return None
    return decision.authorized


def main(base_url: str, store: str, count: int) -> int:
    devices: List[passauth.Device] = [device_for(i) for i in range(count)]
    # One client for the whole back-end: no default device (each call names its own); pacing is on by
    # default (per device IP, 1 request/s, burst 10), so the service never answers 429.
    with passauth.Client(base_url=base_url, service_provider="REF30", software_statement=SOFTWARE_STATEMENT,
                         store=store) as client, ThreadPoolExecutor(max_workers=8) as pool:
        client.register()

        # 1. Logins: a session and a poll per device; the polls run on the library's three threads.
        started = time.monotonic()
        logins = Logins(count)
        polls: Dict[str, passauth.Poll] = {}
        list(pool.map(lambda device: start_login(client, device, logins, polls), devices))
        print(f"{count} devices: sessions created, polls started", flush=True)
        while logins.wait(timeout=2) < count:
            pending = next((p for p in list(polls.values()) if not p.done()), None)
            detail = ""
            if pending is not None:
                info = pending.info()
                detail = f"; the poll of {info.code}: {info.requests} requests so far, every {info.interval_ms} ms"
            print(f"{len(logins.outcomes)} of {count} logins finished; "
                  f"{client.stats().get('activePolls')} polls active{detail}", flush=True)
        logged_in = sum(1 for error in logins.outcomes.values() if error is None)
        print(f"logins: {logged_in} of {count} devices logged in after {time.monotonic() - started:.1f} s")
        for poll in polls.values():
            poll.close()

        # 2. Playback: an authorization per device, from 8 threads at once.
        decisions = list(pool.map(lambda device: authorize(client, device), devices))
        permits = sum(1 for d in decisions if d is True)
        print(f"authorizations: {permits} permits, {sum(1 for d in decisions if d is False)} denies, "
              f"{sum(1 for d in decisions if d is None)} failures")

        # 3. What it cost: requests, 429s (0 with pacing), retries, connections; latency per endpoint.
        stats = client.stats()
        requests = stats.get("requests", {})
        print(f"requests: {stats.get('requestsTotal')} ({requests.get('sessions.create', 0)} sessions, "
              f"{requests.get('profiles.code', 0)} polls, {requests.get('decisions.authorize', 0)} authorizations), "
              f"429s: {stats.get('throttled')}, retries: {stats.get('retries')}, "
              f"connections: {stats.get('connectionsOpened')}")
        for endpoint, latency in sorted(stats.get("latency", {}).items()):
            print(f"  {endpoint}: {latency['count']} exchanges, p50 {latency['p50Ms']} ms, p99 {latency['p99Ms']} ms")
    # 4. Leaving the with block closed the client: polls still running ended (CancelledError).
    return 0 if logged_in == count and permits == count else 1


if __name__ == "__main__":
    arguments = [a for a in sys.argv[1:] if a != "--verbose"]
    if len(arguments) not in (2, 3):
        sys.exit(__doc__)
    # The library's log lines go to the "passauth" logger (retries, 429 waits, poll failures at info).
    logging.basicConfig(format="%(asctime)s %(name)s %(levelname)s %(message)s",
                        level=logging.DEBUG if "--verbose" in sys.argv else logging.WARNING)
    sys.exit(main(arguments[0], arguments[1], int(arguments[2]) if len(arguments) == 3 else 200))
