"""Token-bucket throttle from throttling-mechanism.md.

"1 request per second, with an initial burst of 10": the scenario table in
that page (13 successes in 2.2 s, 429s at 2.4/2.6/2.8 s, success at 3.1 s)
is reproduced exactly by a bucket of 1 + 10 tokens refilled at 1 token/s,
where rejected requests consume nothing.  Real (monotonic) time is used, not
the emulator's adjustable clock.
"""

from __future__ import annotations

import threading
import time
from typing import Callable, Dict, Optional, Tuple

RATE_PER_S = 1.0
CAPACITY = 11.0

# Path prefixes the page lists as throttled (the v1 and other ones are not
# served by the emulator and answer 404 anyway).
THROTTLED_PREFIXES = ("/o/client/register", "/o/client/token", "/o/client/scopes",
                      "/o/client/validate", "/api/v2/")


def is_throttled_path(path: str) -> bool:
    return path.startswith(THROTTLED_PREFIXES)


class Throttle:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._buckets: Dict[str, Tuple[float, float]] = {}  # client key -> (tokens, last refill time)
        self._lock = threading.Lock()
        self.rate = RATE_PER_S
        self.capacity = CAPACITY

    def configure(self, rate: Optional[float] = None, burst: Optional[int] = None) -> None:
        """Scaled throttles for fast tests (config keys throttleRatePerSecond, throttleBurst)."""
        with self._lock:
            if rate is not None:
                self.rate = float(rate)
            if burst is not None:
                self.capacity = float(burst) + 1.0
            self._buckets.clear()

    def allow(self, key: str) -> bool:
        with self._lock:
            now = self._clock()
            tokens, last = self._buckets.get(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            allowed = tokens >= 1.0
            if allowed:
                tokens -= 1.0
            self._buckets[key] = (tokens, now)
            return allowed

    def reset(self) -> None:
        with self._lock:
            self._buckets.clear()
            self.rate, self.capacity = RATE_PER_S, CAPACITY


def client_key(forwarded_for: Optional[str], peer_ip: str) -> str:
    """The device identity: first X-Forwarded-For address, else the peer."""
    if forwarded_for:
        first = forwarded_for.split(",")[0].strip()
        if first:
            return first
    return peer_ip
