"""passauth — Adobe Pass Authentication REST API V2 client for Python, over libpassauth.so.

The native library is loaded on first use (``Client(...)``, ``version()``, ``qr_code()``), so importing
the package works without it.
"""

from __future__ import annotations

from .authentication import Poll, PollInfo, PollResult, Profile, Session
from .client import Client, Configuration, LatencyStats, Mvpd, Registration, Stats
from .config import (
    Config,
    Device,
    DeviceInfo,
    Environment,
    FrameworkError,
    FrameworkPermissionInfo,
    FrameworkProviderInfo,
    LogLevel,
    PartnerFrameworkStatus,
)
from .decisions import Decision, DecisionError, Logout, LogoutAction, MediaToken
from .errors import (
    AuthenticationRequiredError,
    AuthorizationDeniedError,
    CancelledError,
    ConfigurationError,
    ExpiredError,
    HTTPError,
    InternalError,
    InvalidArgumentError,
    NotFoundError,
    PassAuthError,
    PollPending,
    ProtocolError,
    RegistrationError,
    ServiceError,
    ServiceUnavailableError,
    StoreError,
    ThrottledError,
    TimedOutError,
    TransientError,
    TransportError,
    UnauthorizedError,
)
from .qr import QRCode, qr_code
from .stores import MemoryStore, RedisStore, Store

__all__ = [
    "Client", "Config", "Device", "DeviceInfo", "PartnerFrameworkStatus", "FrameworkPermissionInfo",
    "FrameworkProviderInfo", "FrameworkError", "Environment", "LogLevel",
    "Configuration", "Mvpd", "Registration", "Stats", "LatencyStats", "Session", "Profile", "Poll", "PollInfo",
    "PollResult", "PollPending", "Decision", "DecisionError", "MediaToken", "Logout", "LogoutAction",
    "QRCode", "qr_code", "version", "version_number", "status_name", "Store", "MemoryStore", "RedisStore",
    "PassAuthError", "InvalidArgumentError", "NotFoundError", "TransientError", "TransportError", "TimedOutError",
    "ThrottledError", "ServiceError", "AuthenticationRequiredError", "AuthorizationDeniedError",
    "ConfigurationError", "ServiceUnavailableError", "HTTPError", "UnauthorizedError", "RegistrationError",
    "ExpiredError", "CancelledError", "ProtocolError", "StoreError", "InternalError",
]


def version() -> str:
    """The loaded native library's version, ``"MAJOR.MINOR.PATCH"`` (loads the library)."""
    from . import _native

    raw: bytes = _native.library().passauth_version()
    return raw.decode("utf-8")


def version_number() -> int:
    """The loaded library's ``MAJOR * 1000000 + MINOR * 1000 + PATCH``; compare it with
    ``passauth._native.PASSAUTH_VERSION_NUMBER`` (the header these bindings mirror)."""
    from . import _native

    number: int = _native.library().passauth_version_number()
    return number


def status_name(status: int) -> str:
    """The symbolic name of a status code (``"PASSAUTH_E_TIMEOUT"``; ``"PASSAUTH_E_UNKNOWN"`` if unknown)."""
    from . import _native

    raw: bytes = _native.library().passauth_status_name(status)
    return raw.decode("utf-8")
