"""Application stores: state shared by several service instances (``passauth_store`` in the C contract).

A store keeps one JSON document per service provider (DCR credentials, the access token, MVPD selections,
stored profiles) and an exclusive lock. Subclass :class:`Store` (four methods) or use :class:`RedisStore`,
then pass it to ``passauth.Client(config, store=...)``. Any exception a method raises becomes a
:class:`passauth.StoreError` of the call that needed the store; nothing is saved then, so an outage fails
calls but never corrupts the state.
"""

from __future__ import annotations

import ctypes
import itertools
import threading
import time
import uuid
from typing import Any, Dict, Optional, Protocol

from . import _native

__all__ = ["Store", "RedisStore"]

_libc = ctypes.CDLL(None)
_libc.malloc.restype = ctypes.c_void_p
_libc.malloc.argtypes = [ctypes.c_size_t]


class Store:
    """The four operations of ``passauth_store``. Methods may be called from any thread, concurrently."""

    def load(self, service_provider: str) -> Optional[str]:
        """The stored document, or None when nothing is stored yet."""
        raise NotImplementedError

    def save(self, service_provider: str, document: str) -> None:
        """Replaces the document atomically."""
        raise NotImplementedError

    def lock(self, service_provider: str, timeout_ms: int) -> str:
        """Acquires the exclusive lock (waiting at most ``timeout_ms``, else raise); returns a token for unlock."""
        raise NotImplementedError

    def unlock(self, service_provider: str, token: str) -> None:
        """Releases the lock taken with ``token`` (only if still held by it)."""
        raise NotImplementedError


class _Binding:
    """The ctypes struct for a Store; keeps the CFUNCTYPE objects alive as long as the client holds it."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._tokens: Dict[int, str] = {}
        self._ids = itertools.count(1)
        self._guard = threading.Lock()
        self.last_exception: Optional[BaseException] = None
        self._load = _native.STORE_LOAD(self._on_load)
        self._save = _native.STORE_SAVE(self._on_save)
        self._lock = _native.STORE_LOCK(self._on_lock)
        self._unlock = _native.STORE_UNLOCK(self._on_unlock)
        self.struct = _native.PassauthStore(None, self._load, self._save, self._lock, self._unlock)

    def _failed(self, error: BaseException) -> int:
        self.last_exception = error
        return 1

    def _on_load(self, _user: Any, sp: bytes, out: Any) -> int:
        try:
            text = self.store.load(sp.decode("utf-8"))
            if text is None:
                out[0] = None
                return 0
            data = text.encode("utf-8")
            buffer = _libc.malloc(len(data) + 1)
            if not buffer:
                return 2
            ctypes.memmove(buffer, data, len(data))
            ctypes.memset(buffer + len(data), 0, 1)
            out[0] = buffer
            return 0
        except BaseException as error:  # a callback must never let an exception reach C
            return self._failed(error)

    def _on_save(self, _user: Any, sp: bytes, document: bytes) -> int:
        try:
            self.store.save(sp.decode("utf-8"), document.decode("utf-8"))
            return 0
        except BaseException as error:
            return self._failed(error)

    def _on_lock(self, _user: Any, sp: bytes, timeout_ms: int, out: Any) -> int:
        try:
            token = self.store.lock(sp.decode("utf-8"), timeout_ms)
            with self._guard:
                number = next(self._ids)
                self._tokens[number] = token
            out[0] = number
            return 0
        except BaseException as error:
            return self._failed(error)

    def _on_unlock(self, _user: Any, sp: bytes, token: Optional[int]) -> int:
        try:
            with self._guard:
                value = self._tokens.pop(token or 0, None)
            if value is not None:
                self.store.unlock(sp.decode("utf-8"), value)
            return 0
        except BaseException as error:
            return self._failed(error)


class RedisLike(Protocol):
    """The part of a redis-py client RedisStore uses."""

    def get(self, name: str) -> Any: ...
    def set(self, name: str, value: Any, ex: Any = None, px: Any = None, nx: bool = False) -> Any: ...
    def eval(self, script: str, numkeys: int, *keys_and_args: Any) -> Any: ...


_UNLOCK = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"


class RedisStore(Store):
    """The state in Redis (redis-py client): key ``{prefix}{serviceProvider}`` holds the document,
    ``{prefix}{serviceProvider}:lock`` the lock — ``SET NX PX lease_ms`` with a random token, released by a
    compare-and-delete script, so a crashed holder's lock expires after ``lease_ms``.

    ``RedisStore(redis.Redis(host="127.0.0.1", port=6379, socket_timeout=2), prefix="passauth:")``
    """

    def __init__(self, redis_client: RedisLike, prefix: str = "passauth:", lease_ms: int = 120_000) -> None:
        self.redis = redis_client
        self.prefix = prefix
        self.lease_ms = lease_ms

    def _key(self, service_provider: str) -> str:
        return self.prefix + service_provider

    def load(self, service_provider: str) -> Optional[str]:
        value = self.redis.get(self._key(service_provider))
        if value is None:
            return None
        return value.decode("utf-8") if isinstance(value, bytes) else str(value)

    def save(self, service_provider: str, document: str) -> None:
        if not self.redis.set(self._key(service_provider), document):
            raise RuntimeError("redis SET failed")

    def lock(self, service_provider: str, timeout_ms: int) -> str:
        token = uuid.uuid4().hex
        key = self._key(service_provider) + ":lock"
        deadline = time.monotonic() + timeout_ms / 1000
        pause = 0.005
        while not self.redis.set(key, token, px=self.lease_ms, nx=True):
            if time.monotonic() >= deadline:
                raise TimeoutError(f"lock {key} not acquired within {timeout_ms} ms")
            time.sleep(pause)
            pause = min(pause * 2, 0.05)
        return token

    def unlock(self, service_provider: str, token: str) -> None:
        self.redis.eval(_UNLOCK, 1, self._key(service_provider) + ":lock", token)
