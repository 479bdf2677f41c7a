"""passauth — Adobe Pass Authentication REST API V2 client for Python, over libpassauth.so.

The native library is loaded on first use (``Client(...)``, ``version()``), so ``passauth.emulator``
works without it.
"""

from __future__ import annotations

from .authentication import Poll, PollResult, Profile, Session
from .client import Client, Configuration, Mvpd, Registration
from .stores import MemoryStore, RedisStore, Store
from .decisions import Decision, DecisionError, Logout, LogoutAction, MediaToken
from .errors import (
    CancelledError,
    ExpiredError,
    HTTPError,
    InternalError,
    InvalidArgumentError,
    NotFoundError,
    PassAuthError,
    ProtocolError,
    RegistrationError,
    ServiceError,
    StoreError,
    ThrottledError,
    TimedOutError,
    TransportError,
    UnauthorizedError,
)

__all__ = [
    "Client", "Configuration", "Mvpd", "Registration", "Session", "Profile", "Poll", "PollResult",
    "Decision", "DecisionError", "MediaToken", "Logout", "LogoutAction", "version", "status_name",
    "PassAuthError", "InvalidArgumentError", "TransportError", "TimedOutError", "HTTPError", "ServiceError",
    "UnauthorizedError", "ThrottledError", "ProtocolError", "ExpiredError", "CancelledError",
    "RegistrationError", "StoreError", "InternalError", "NotFoundError", "Store", "MemoryStore", "RedisStore",
]


def version() -> str:
    """The native library's version, ``"MAJOR.MINOR.PATCH"`` (loads the library)."""
    from . import _native

    raw: bytes = _native.library().passauth_version()
    return raw.decode("utf-8")


def status_name(status: int) -> str:
    """The symbolic name of a status code (``"PASSAUTH_E_TIMEOUT"``; ``"PASSAUTH_E_UNKNOWN"`` if unknown)."""
    from . import _native

    raw: bytes = _native.library().passauth_status_name(status)
    return raw.decode("utf-8")
