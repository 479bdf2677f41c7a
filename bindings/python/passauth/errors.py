"""The exception hierarchy: one class per status of the C contract, carrying the enhanced error fields."""

from __future__ import annotations

import json
import threading
from typing import Any, Dict, Optional, Type

from . import _native


class PassAuthError(Exception):
    """A failed passauth call. Fields mirror ``passauth_last_error()``; none ever holds a secret."""

    status: int = _native.PASSAUTH_E_INTERNAL

    def __init__(self, message: str, info: Optional[Dict[str, Any]] = None) -> None:
        super().__init__(message)
        self.info: Dict[str, Any] = dict(info or {})
        self.message = message

    def _text(self, name: str) -> Optional[str]:
        value = self.info.get(name)
        return None if value is None else str(value)

    def _int(self, name: str) -> Optional[int]:
        value = self.info.get(name)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    @property
    def status_name(self) -> str:
        """The symbolic name of :attr:`status` (``PASSAUTH_E_TIMEOUT`` …)."""
        return self._text("statusName") or _STATUS_NAMES.get(self.status, "PASSAUTH_E_UNKNOWN")

    @property
    def http_status(self) -> Optional[int]:
        """The HTTP status, when the service answered."""
        return self._int("httpStatus")

    @property
    def code(self) -> Optional[str]:
        """Enhanced error code or DCR error (``invalid_client``, ``authorization_denied_by_mvpd`` …)."""
        return self._text("code")

    @property
    def action(self) -> Optional[str]:
        """The service's recommended remedy: none, configuration, application-registration,
        authentication, authorization or retry."""
        return self._text("action")

    @property
    def details(self) -> Optional[str]:
        """The service's (or MVPD's) additional explanation, when sent."""
        return self._text("details")

    @property
    def help_url(self) -> Optional[str]:
        """Adobe's page about the error code."""
        return self._text("helpUrl")

    @property
    def trace(self) -> Optional[str]:
        """The service's trace id: quote it to Adobe support."""
        return self._text("trace")

    @property
    def retry_after_ms(self) -> Optional[int]:
        """How long to wait before the next request (429, 503), in milliseconds."""
        return self._int("retryAfterMs")

    @property
    def key(self) -> Optional[str]:
        """The config or input key a validation error is about."""
        return self._text("key")

    @property
    def endpoint(self) -> Optional[str]:
        """The service operation the error is about (``register``, ``decisions.authorize`` …)."""
        return self._text("endpoint")

    @property
    def body(self) -> Optional[str]:
        """A short printable excerpt of an unexpected response body (HTTP and protocol errors)."""
        return self._text("body")

    @property
    def needs_authentication(self) -> bool:
        """The user must (re-)authenticate with their TV provider."""
        return self.action == "authentication"

    @property
    def needs_authorization(self) -> bool:
        """The user is not entitled to the resource (or must authorize again); do not retry as is."""
        return self.action == "authorization"

    @property
    def needs_registration(self) -> bool:
        """The application's registration (client credentials) must be redone; the library already
        re-registered once before raising."""
        return self.action == "application-registration" or isinstance(self, RegistrationError)

    @property
    def needs_configuration(self) -> bool:
        """Fixing this takes a change in the Adobe Pass TVE Dashboard or the integration."""
        return self.action == "configuration"

    @property
    def is_retryable(self) -> bool:
        """Trying the same call again later may succeed (``retry`` action, transport, timeout, 429).
        The library already retried up to 3 attempts; wait before trying again, never loop."""
        return self.action == "retry" or isinstance(self, (TransportError, TimedOutError, ThrottledError))

    def __str__(self) -> str:
        extra = ", ".join(f"{k}={self.info[k]}" for k in ("code", "action", "httpStatus", "key") if k in self.info)
        return f"{self.message} ({extra})" if extra else self.message


class InvalidArgumentError(PassAuthError, ValueError):
    """Bad input from the caller: a NULL/empty value, bad JSON, an unknown or mistyped config key (see :attr:`key`). Also a :class:`ValueError`."""

    status = _native.PASSAUTH_E_INVALID_ARGUMENT


class TransportError(PassAuthError):
    """Could not talk to the service: DNS, connect, TLS or a reset connection (after the library's retries)."""

    status = _native.PASSAUTH_E_TRANSPORT


class TimedOutError(PassAuthError, TimeoutError):
    """No complete answer within the configured ``timeoutMs`` (or a poll's timeout). Also a :class:`TimeoutError`."""

    status = _native.PASSAUTH_E_TIMEOUT


class HTTPError(PassAuthError):
    """An HTTP error status without an enhanced error body (see :attr:`http_status` and :attr:`body`)."""

    status = _native.PASSAUTH_E_HTTP


class ServiceError(PassAuthError):
    """The service answered with an enhanced error code: look at :attr:`code` and :attr:`action` (:attr:`needs_authentication` …)."""

    status = _native.PASSAUTH_E_SERVICE


class UnauthorizedError(PassAuthError):
    """HTTP 401 even after the library refreshed the access token once."""

    status = _native.PASSAUTH_E_UNAUTHORIZED


class ThrottledError(PassAuthError):
    """HTTP 429 Too Many Requests; :attr:`retry_after_ms` says how long to wait."""

    status = _native.PASSAUTH_E_THROTTLED


class ProtocolError(PassAuthError):
    """The response was malformed, oversized or not what the API documents."""

    status = _native.PASSAUTH_E_PROTOCOL


class ExpiredError(PassAuthError):
    """An authentication code (or profile) expired, e.g. the user did not log in before the code's ``notAfter``."""

    status = _native.PASSAUTH_E_EXPIRED


class CancelledError(PassAuthError):
    """The operation was cancelled: ``Poll.cancel()``, a newer code for the same device, or the client was closed."""

    status = _native.PASSAUTH_E_CANCELLED


class RegistrationError(PassAuthError):
    """Dynamic Client Registration refused the software statement or client (:attr:`code`: ``invalid_software_statement`` …)."""

    status = _native.PASSAUTH_E_REGISTRATION


class StoreError(PassAuthError):
    """The persistent store (credentials, token, profiles) could not be read, locked or written."""

    status = _native.PASSAUTH_E_STORE


class InternalError(PassAuthError):
    """A bug or resource exhaustion inside passauth."""

    status = _native.PASSAUTH_E_INTERNAL


class NotFoundError(PassAuthError):
    """The requested item (profile, MVPD selection, code) does not exist."""

    status = _native.PASSAUTH_E_NOT_FOUND


_STATUS_NAMES: Dict[int, str] = {
    value: name for name, value in vars(_native).items() if name.startswith("PASSAUTH_") and isinstance(value, int)
}

_BY_STATUS: Dict[int, Type[PassAuthError]] = {
    cls.status: cls
    for cls in (InvalidArgumentError, TransportError, TimedOutError, HTTPError, ServiceError, UnauthorizedError,
                ThrottledError, ProtocolError, ExpiredError, CancelledError, RegistrationError, StoreError,
                InternalError, NotFoundError)
}


def error_from_info(status: int, info: Dict[str, Any]) -> PassAuthError:
    """The exception for `status` carrying an error object (the fields of ``passauth_last_error()``)."""
    cls = _BY_STATUS.get(status, PassAuthError)
    return cls(str(info.get("message", f"passauth status {status}")), info)


def error_from_last(status: int) -> PassAuthError:
    """The exception for `status`, filled from this thread's ``passauth_last_error()``."""
    raw = _native.library().passauth_last_error()
    try:
        info: Dict[str, Any] = json.loads(raw.decode("utf-8")) if raw else {}
    except ValueError:
        info = {}
    return error_from_info(status, info)


# The exception a store callback (passauth.stores) raised on this thread, for the StoreError it causes.
_store_failure = threading.local()


def note_store_failure(error: Optional[BaseException]) -> None:
    """Remembers (or, with None, forgets) the exception a store callback raised on this thread."""
    _store_failure.error = error


def check(status: int) -> None:
    """Raises the exception for ``status`` (filled from ``passauth_last_error()``) unless it is PASSAUTH_OK.
    A StoreError caused by an exception of an application store carries it as ``__cause__``."""
    if status != _native.PASSAUTH_OK:
        cause: Optional[BaseException] = getattr(_store_failure, "error", None)
        _store_failure.error = None
        error = error_from_last(status)
        if cause is not None and status == _native.PASSAUTH_E_STORE:
            raise error from cause
        raise error
