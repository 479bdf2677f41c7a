"""Application stores: state shared by several service instances (``struct passauth_store`` v1).

The library keeps its state in a few keys (Include/passauth.h)::

    <prefix>{<origin>|<serviceProvider>}:registration          client credentials + access token
    <prefix>{<origin>|<serviceProvider>|<device>}:profiles      a device's stored profiles
    <prefix>{<origin>|<serviceProvider>|<device>}:mvpd          a device's MVPD choice

(prefix: the config's ``storeKeyPrefix``, default ``"passauth:"``) and reads and writes them one at a time
with versions: every write is conditional on the version the writer read (compare-and-set), so no write
is ever lost and none overwrites newer state. Implement :class:`Store` (four methods) or use
:class:`MemoryStore` / :class:`RedisStore`, then pass it to ``passauth.Client(config, store=...)``.

An exception raised by a method fails the call that needed the store with :class:`passauth.StoreError`;
its message carries the exception's, and the exception itself is the StoreError's ``__cause__``. Nothing
is written then, so an outage fails calls but never corrupts the state.
"""

from __future__ import annotations

import ctypes
import itertools
import threading
import time
import uuid
from typing import Any, Dict, Optional, Protocol, Tuple

from . import _native
from .errors import note_store_failure

__all__ = ["Store", "MemoryStore", "RedisStore"]

_libc = ctypes.CDLL(None)
_libc.malloc.restype = ctypes.c_void_p
_libc.malloc.argtypes = [ctypes.c_size_t]

# A callback's failure status (any non-zero value other than PASSAUTH_STORE_CONFLICT).
_FAILED = 2


class Store:
    """The four operations of ``passauth_store``. Methods may be called from any thread, concurrently."""

    def get(self, key: str) -> Optional[Tuple[str, int]]:
        """``(value, version)`` of ``key`` (version > 0), or None when the key does not exist."""
        raise NotImplementedError

    def put(self, key: str, value: Optional[str], expected_version: int, ttl_ms: int) -> Optional[int]:
        """Writes ``value`` (None: deletes the key) only if the key's current version is ``expected_version``
        (0: the key must not exist), atomically. Returns the new version (greater than ``expected_version``
        and never reused for the key), or None when the current version differs (a conflict: nothing
        written). ``ttl_ms`` > 0: the value may be dropped after that many milliseconds (0: keep it)."""
        raise NotImplementedError

    def lock(self, name: str, timeout_ms: int) -> str:
        """Acquires the exclusive lock ``name`` (waiting at most ``timeout_ms``, else raise); returns a token.
        Held across one registration only (two requests of at most timeoutMs each)."""
        raise NotImplementedError

    def unlock(self, name: str, token: str) -> None:
        """Releases the lock taken with ``token`` (only if still held by it)."""
        raise NotImplementedError


class MemoryStore(Store):
    """The state in this process's memory (tests, or clients sharing one process). Versions come from one
    sequence, so a version is never reused, even after a delete."""

    def __init__(self) -> None:
        self._values: Dict[str, Tuple[str, int, Optional[float]]] = {}
        self._sequence = 0
        self._guard = threading.Lock()
        self._locks: Dict[str, str] = {}
        self._released = threading.Condition(self._guard)

    def get(self, key: str) -> Optional[Tuple[str, int]]:
        with self._guard:
            found = self._values.get(key)
            if found is None or (found[2] is not None and found[2] <= time.monotonic()):
                return None
            return found[0], found[1]

    def put(self, key: str, value: Optional[str], expected_version: int, ttl_ms: int) -> Optional[int]:
        with self._guard:
            found = self._values.get(key)
            live = found is not None and (found[2] is None or found[2] > time.monotonic())
            if (found[1] if found is not None and live else 0) != expected_version:
                return None
            self._sequence += 1
            if value is None:
                self._values.pop(key, None)
            else:
                expires = time.monotonic() + ttl_ms / 1000 if ttl_ms > 0 else None
                self._values[key] = (value, self._sequence, expires)
            return self._sequence

    def lock(self, name: str, timeout_ms: int) -> str:
        deadline = time.monotonic() + timeout_ms / 1000
        with self._released:
            while name in self._locks:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"lock {name} not acquired within {timeout_ms} ms")
                self._released.wait(left)
            token = uuid.uuid4().hex
            self._locks[name] = token
            return token

    def unlock(self, name: str, token: str) -> None:
        with self._released:
            if self._locks.get(name) == token:
                del self._locks[name]
                self._released.notify_all()

    def items(self) -> Dict[str, str]:
        """Every live key and its value (tests, debugging)."""
        with self._guard:
            now = time.monotonic()
            return {k: v[0] for k, v in self._values.items() if v[2] is None or v[2] > now}


class RedisLike(Protocol):
    """The part of a redis-py client RedisStore uses."""

    def hmget(self, name: str, keys: Any, *args: Any) -> Any: ...
    def set(self, name: str, value: Any, ex: Any = None, px: Any = None, nx: bool = False) -> Any: ...
    def eval(self, script: str, numkeys: int, *keys_and_args: Any) -> Any: ...


# Compare-and-set of one key, atomically in Redis. The key is a hash {d: value, v: version}. A new
# version is max(current + 1, the server's clock in microseconds), so a key deleted (or expired) and
# written again never gets back a version it had.
# KEYS[1] key; ARGV: expected version, "1" to delete, value, ttl ms. Returns the new version or -1.
_PUT = """
local h = redis.call('HMGET', KEYS[1], 'v', 'd')
local current = tonumber(h[1]) or 0
local live = 0
if h[2] then live = current end
if live ~= tonumber(ARGV[1]) then return -1 end
local clock = redis.call('TIME')
local version = math.max(current + 1, tonumber(clock[1]) * 1000000 + tonumber(clock[2]))
if ARGV[2] == '1' then
  redis.call('HDEL', KEYS[1], 'd')
  redis.call('HSET', KEYS[1], 'v', string.format('%.0f', version))
  redis.call('PEXPIRE', KEYS[1], 3600000)
  return version
end
redis.call('HSET', KEYS[1], 'd', ARGV[3], 'v', string.format('%.0f', version))
if tonumber(ARGV[4]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[4]) else redis.call('PERSIST', KEYS[1]) end
return version
"""

_UNLOCK = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"


class RedisStore(Store):
    """The state in Redis (a redis-py client): each key of the library is a Redis hash holding the value
    (``d``) and its version (``v``), written by a compare-and-set script (with PEXPIRE for the library's TTL
    hints; a delete keeps the version an hour as a tombstone, so versions are never reused); a lock
    ``name`` is the key ``name`` set with ``SET NX PX lease_ms`` and a random token, released by a
    compare-and-delete script, so a crashed holder's lock expires after ``lease_ms``. The keys carry the
    config's ``storeKeyPrefix``; the part in braces is a Redis Cluster hash tag.

    ``RedisStore(redis.Redis(host="127.0.0.1", port=6379, socket_timeout=2))``

    The layout and scripts are those of the library's native Redis store (``store="redis://..."``, which
    needs no redis-py), so instances using either share one Redis. Prefer the native store; this class is
    for bringing your own client (a connection pool, Sentinel, a proxy the URL cannot express).
    """

    def __init__(self, redis_client: RedisLike, lease_ms: int = 120_000) -> None:
        self.redis = redis_client
        self.lease_ms = lease_ms

    def get(self, key: str) -> Optional[Tuple[str, int]]:
        value, version = self.redis.hmget(key, ["d", "v"])
        if value is None or version is None:
            return None
        text = value.decode("utf-8") if isinstance(value, bytes) else str(value)
        return text, int(version)

    def put(self, key: str, value: Optional[str], expected_version: int, ttl_ms: int) -> Optional[int]:
        result = int(self.redis.eval(_PUT, 1, key, str(expected_version), "1" if value is None else "0",
                                     value or "", str(max(0, ttl_ms))))
        return None if result < 0 else result

    def lock(self, name: str, timeout_ms: int) -> str:
        token = uuid.uuid4().hex
        deadline = time.monotonic() + timeout_ms / 1000
        pause = 0.005
        while not self.redis.set(name, token, px=self.lease_ms, nx=True):
            if time.monotonic() >= deadline:
                raise TimeoutError(f"lock {name} not acquired within {timeout_ms} ms")
            time.sleep(pause)
            pause = min(pause * 2, 0.05)
        return token

    def unlock(self, name: str, token: str) -> None:
        self.redis.eval(_UNLOCK, 1, name, token)


def _malloc_string(text: str) -> int:
    """A copy of ``text`` in memory from malloc(3): the library frees it with free(3)."""
    data = text.encode("utf-8")
    buffer = _libc.malloc(len(data) + 1)
    if not buffer:
        raise MemoryError("malloc failed")
    ctypes.memmove(buffer, data, len(data))
    ctypes.memset(buffer + len(data), 0, 1)
    return int(buffer)


class _Binding:
    """The ctypes struct for a Store; keeps the CFUNCTYPE objects alive as long as the client holds it."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._tokens: Dict[int, str] = {}
        self._ids = itertools.count(1)
        self._guard = threading.Lock()
        self._get = _native.STORE_GET(self._on_get)
        self._put = _native.STORE_PUT(self._on_put)
        self._lock = _native.STORE_LOCK(self._on_lock)
        self._unlock = _native.STORE_UNLOCK(self._on_unlock)
        self.struct = _native.PassauthStore(_native.PASSAUTH_STORE_VERSION, None, self._get, self._put,
                                            self._lock, self._unlock)

    @staticmethod
    def _failed(error: BaseException) -> int:
        """Hands the reason to the library (it goes into the call's error message) and keeps the exception
        for the StoreError the call raises (``__cause__``)."""
        note_store_failure(error)
        reason = f"{type(error).__name__}: {error}"
        try:
            _native.library().passauth_store_set_error(reason.encode("utf-8", "replace")[:1000])
        except BaseException:  # pragma: no cover - the library is loaded when a callback runs
            pass
        return _FAILED

    def _on_get(self, _user: Any, key: bytes, out_value: Any, out_version: Any) -> int:
        note_store_failure(None)
        try:
            found = self.store.get(key.decode("utf-8"))
            if found is None:
                out_value[0] = None
                out_version[0] = 0
                return 0
            value, version = found
            out_value[0] = _malloc_string(value)
            out_version[0] = int(version)
            return 0
        except BaseException as error:  # a callback must never let an exception reach C
            return self._failed(error)

    def _on_put(self, _user: Any, key: bytes, value: Optional[bytes], expected: int, ttl_ms: int, out_version: Any) -> int:
        note_store_failure(None)
        try:
            text = None if value is None else value.decode("utf-8")
            version = self.store.put(key.decode("utf-8"), text, int(expected), int(ttl_ms))
            if version is None:
                return _native.PASSAUTH_STORE_CONFLICT
            out_version[0] = int(version)
            return 0
        except BaseException as error:
            return self._failed(error)

    def _on_lock(self, _user: Any, name: bytes, timeout_ms: int, out: Any) -> int:
        note_store_failure(None)
        try:
            token = self.store.lock(name.decode("utf-8"), timeout_ms)
            with self._guard:
                number = next(self._ids)
                self._tokens[number] = token
            out[0] = number
            return 0
        except BaseException as error:
            return self._failed(error)

    def _on_unlock(self, _user: Any, name: bytes, token: Optional[int]) -> int:
        try:
            with self._guard:
                value = self._tokens.pop(token or 0, None)
            if value is not None:
                self.store.unlock(name.decode("utf-8"), value)
            return 0
        except BaseException:  # the library ignores unlock failures: the lock expires in the store
            return _FAILED
