"""The exception hierarchy, grouped by what a caller does about a failure.

::

    PassAuthError                         every failure of a passauth call
    ├── InvalidArgumentError (ValueError)     fix the call: a bad argument or config key (see .key)
    ├── NotFoundError (LookupError)           nothing there: no profile valid, no MVPD chosen
    ├── TransientError                        try again later (.retry_after); the library already retried
    │   ├── TransportError (ConnectionError)      the service could not be reached
    │   ├── TimedOutError (TimeoutError)          no answer within timeoutMs, or a poll's own timeout
    │   ├── ThrottledError                        429, or the device's turn is too far away
    │   └── ServiceUnavailableError               a ServiceError with action "retry"
    ├── ServiceError                          the service refused: .code .action .http_status .details .help_url .trace
    │   ├── AuthenticationRequiredError           action "authentication": log the user in again
    │   ├── AuthorizationDeniedError              action "authorization": the user may not watch this
    │   ├── ConfigurationError                    action "configuration": fix the integration (TVE Dashboard)
    │   ├── ServiceUnavailableError               action "retry" (also a TransientError)
    │   ├── HTTPError                             an HTTP error status without an enhanced error body
    │   └── UnauthorizedError                     401 even after a token refresh
    ├── RegistrationError                     DCR refused the software statement or client
    ├── ExpiredError                          a code (or profile) expired: start a new session
    ├── CancelledError                        cancelled: Poll.cancel(), a newer code, the client closed
    ├── ProtocolError                         the answer is not what the API documents
    ├── StoreError                            the persistent store could not be read or written
    └── InternalError                         a bug or resource exhaustion inside passauth

The class comes from the status (``passauth_error_last()->status``) and, for PASSAUTH_E_SERVICE, from the
service's ``action``; the fields come from the ``passauth_error`` struct, never from parsing a message.
No field ever holds a secret.
"""

from __future__ import annotations

import threading
from typing import Any, Dict, Mapping, Optional, Type

from . import _native


class PassAuthError(Exception):
    """A failed passauth call. The attributes are the members of ``struct passauth_error``."""

    #: The status of the C contract this class stands for (an instance's own is :attr:`status`).
    status: int = _native.PASSAUTH_E_INTERNAL

    def __init__(self, message: str, *, status: Optional[int] = None, status_name: Optional[str] = None,
                 code: Optional[str] = None, action: Optional[str] = None, endpoint: Optional[str] = None,
                 key: Optional[str] = None, details: Optional[str] = None, help_url: Optional[str] = None,
                 trace: Optional[str] = None, body: Optional[str] = None, http_status: Optional[int] = None,
                 retry_after_ms: Optional[int] = None) -> None:
        super().__init__(message)
        #: What went wrong, in English, naming the key or endpoint concerned.
        self.message = message
        if status is not None:
            self.status = status
        self._status_name = status_name
        #: Enhanced error code or DCR error (``authorization_denied_by_mvpd``, ``invalid_client`` …).
        self.code = code
        #: The service's recommended remedy: ``none``, ``configuration``, ``application-registration``,
        #: ``authentication``, ``authorization`` or ``retry``.
        self.action = action
        #: The service operation (``register``, ``decisions.authorize`` …).
        self.endpoint = endpoint
        #: The config or input key a validation error is about (``device.id``).
        self.key = key
        #: The service's (or MVPD's) additional explanation, when sent.
        self.details = details
        #: Adobe's page about the error code.
        self.help_url = help_url
        #: The service's trace id: quote it to Adobe support.
        self.trace = trace
        #: A short printable excerpt of an unexpected response body (HTTP and protocol errors).
        self.body = body
        #: The HTTP status when the service answered, else None.
        self.http_status = http_status
        #: How long to wait before the next request (429, 503, throttled), in milliseconds, else None.
        self.retry_after_ms = retry_after_ms

    @property
    def status_name(self) -> str:
        """The symbolic name of :attr:`status` (``PASSAUTH_E_TIMEOUT`` …)."""
        return self._status_name or _STATUS_NAMES.get(self.status, "PASSAUTH_E_UNKNOWN")

    @property
    def retry_after(self) -> Optional[float]:
        """:attr:`retry_after_ms` in seconds (None when the service did not say)."""
        return None if self.retry_after_ms is None else self.retry_after_ms / 1000

    @property
    def needs_authentication(self) -> bool:
        """The user must (re-)authenticate with their TV provider (action ``authentication``)."""
        return self.action == "authentication"

    @property
    def needs_authorization(self) -> bool:
        """The user is not entitled to the resource (action ``authorization``); do not retry as is."""
        return self.action == "authorization"

    @property
    def needs_registration(self) -> bool:
        """The application's registration must be redone (the library already re-registered once)."""
        return self.action == "application-registration" or isinstance(self, RegistrationError)

    @property
    def needs_configuration(self) -> bool:
        """Fixing this takes a change in the Adobe Pass TVE Dashboard or the integration."""
        return self.action == "configuration"

    @property
    def is_retryable(self) -> bool:
        """Trying the same call again later may succeed (a :class:`TransientError`, action ``retry``, or
        an HTTP 5xx). The library already made up to 3 attempts: wait, never loop."""
        return (isinstance(self, TransientError) or self.action == "retry"
                or (self.http_status is not None and self.http_status >= 500))

    @property
    def info(self) -> Dict[str, Any]:
        """The record as ``passauth_last_error()`` spells it (camelCase keys; absent members left out)."""
        fields: Dict[str, Any] = {"status": self.status, "statusName": self.status_name, "message": self.message,
                                  "httpStatus": self.http_status, "code": self.code, "action": self.action,
                                  "details": self.details, "helpUrl": self.help_url, "trace": self.trace,
                                  "retryAfterMs": self.retry_after_ms, "key": self.key, "endpoint": self.endpoint,
                                  "body": self.body}
        return {k: v for k, v in fields.items() if v is not None}

    def __str__(self) -> str:
        extra = [f"{name}={value}" for name, value in (("code", self.code), ("action", self.action),
                                                        ("http_status", self.http_status), ("key", self.key))
                 if value is not None]
        return f"{self.message} ({', '.join(extra)})" if extra else self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, status={self.status_name}" + "".join(
            f", {name}={value!r}" for name, value in (("code", self.code), ("action", self.action),
                                                      ("http_status", self.http_status), ("key", self.key),
                                                      ("endpoint", self.endpoint)) if value is not None) + ")"

    def __reduce__(self) -> Any:
        return (_rebuild, (type(self), self.message, self.info))


def _rebuild(cls: Type[PassAuthError], message: str, info: Dict[str, Any]) -> PassAuthError:
    return _from_fields(cls, message, info)


# What a caller does about it ----------------------------------------------------------------------------

class InvalidArgumentError(PassAuthError, ValueError):
    """Bad input from the caller: NULL/empty value, bad JSON, an unknown or mistyped key (:attr:`key`)."""

    status = _native.PASSAUTH_E_INVALID_ARGUMENT


class NotFoundError(PassAuthError, LookupError):
    """The requested item (profile, MVPD choice, JSON member) does not exist."""

    status = _native.PASSAUTH_E_NOT_FOUND


class TransientError(PassAuthError):
    """Trying again later may work: wait :attr:`retry_after` seconds (when set), then retry — once, not
    in a loop: the library already made up to 3 attempts."""


class TransportError(TransientError, ConnectionError):
    """The service could not be reached: DNS, connect, TLS, reset (the message names the host)."""

    status = _native.PASSAUTH_E_TRANSPORT


class TimedOutError(TransientError, TimeoutError):
    """No complete answer within ``timeoutMs`` (retries included), or a poll's own ``timeout`` passed."""

    status = _native.PASSAUTH_E_TIMEOUT


class ThrottledError(TransientError):
    """HTTP 429, or the device's next turn is further away than ``timeoutMs``: see :attr:`retry_after`."""

    status = _native.PASSAUTH_E_THROTTLED


class ServiceError(PassAuthError):
    """The service answered with an error: :attr:`code`, :attr:`action`, :attr:`http_status`,
    :attr:`details`, :attr:`help_url`, :attr:`trace`. Subclasses say what the action asks for."""

    status = _native.PASSAUTH_E_SERVICE


class AuthenticationRequiredError(ServiceError):
    """Action ``authentication``: the profile is missing, expired or invalidated — log the user in again."""


class AuthorizationDeniedError(ServiceError):
    """Action ``authorization``: the user may not watch this (parental controls, not entitled …); tell
    them, do not retry as is."""


class ConfigurationError(ServiceError):
    """Action ``configuration``: the integration needs a change in the Adobe Pass TVE Dashboard."""


class ServiceUnavailableError(ServiceError, TransientError):
    """Action ``retry``: the service (or the MVPD) is temporarily unable to answer."""


class HTTPError(ServiceError):
    """An HTTP error status without an enhanced error body (:attr:`http_status`, :attr:`body`)."""

    status = _native.PASSAUTH_E_HTTP


class UnauthorizedError(ServiceError):
    """HTTP 401 even after the library refreshed the access token once."""

    status = _native.PASSAUTH_E_UNAUTHORIZED


class RegistrationError(PassAuthError):
    """Dynamic Client Registration refused the software statement or client (:attr:`code`:
    ``invalid_software_statement``, ``reregistration_refused`` …)."""

    status = _native.PASSAUTH_E_REGISTRATION


class ExpiredError(PassAuthError):
    """An authentication code (or profile) expired, e.g. the user did not log in in time."""

    status = _native.PASSAUTH_E_EXPIRED


class CancelledError(PassAuthError):
    """Cancelled: ``Poll.cancel()``, a newer code for the same device, or the client was closed."""

    status = _native.PASSAUTH_E_CANCELLED


class ProtocolError(PassAuthError):
    """The answer was malformed, oversized or not what the API documents (never stored)."""

    status = _native.PASSAUTH_E_PROTOCOL


class StoreError(PassAuthError):
    """The persistent store (credentials, token, profiles) could not be read, locked or written."""

    status = _native.PASSAUTH_E_STORE


class InternalError(PassAuthError):
    """A bug or resource exhaustion inside passauth."""

    status = _native.PASSAUTH_E_INTERNAL


class PollPending(TimeoutError):
    """:meth:`passauth.Poll.wait` returned because its ``timeout`` passed while the poll goes on
    (``PASSAUTH_PENDING``). Not a :class:`PassAuthError`: nothing failed. Wait again, cancel the poll
    (:attr:`poll`), or look at ``poll.info()``."""

    def __init__(self, message: str, poll: object) -> None:
        super().__init__(message)
        #: The :class:`passauth.Poll` that goes on.
        self.poll = poll


_STATUS_NAMES: Dict[int, str] = {
    value: name for name, value in vars(_native).items()
    if (name.startswith("PASSAUTH_E_") or name in ("PASSAUTH_OK", "PASSAUTH_PENDING")) and isinstance(value, int)
}

#: The class of each failure status (PASSAUTH_E_SERVICE is refined by action, see :func:`error_class`).
BY_STATUS: Dict[int, Type[PassAuthError]] = {
    cls.status: cls
    for cls in (InvalidArgumentError, TransportError, TimedOutError, HTTPError, ServiceError, UnauthorizedError,
                ThrottledError, ProtocolError, ExpiredError, CancelledError, RegistrationError, StoreError,
                InternalError, NotFoundError)
}
_BY_STATUS = BY_STATUS

_BY_ACTION: Dict[str, Type[PassAuthError]] = {
    "authentication": AuthenticationRequiredError,
    "authorization": AuthorizationDeniedError,
    "configuration": ConfigurationError,
    "retry": ServiceUnavailableError,
}


def error_class(status: int, action: Optional[str] = None) -> Type[PassAuthError]:
    """The exception class for a status (and, for PASSAUTH_E_SERVICE, the service's action)."""
    if status == _native.PASSAUTH_E_SERVICE and action in _BY_ACTION:
        return _BY_ACTION[action]  # type: ignore[index,unused-ignore]
    return BY_STATUS.get(status, PassAuthError)


def _text(value: Optional[bytes]) -> Optional[str]:
    return None if value is None else value.decode("utf-8", "replace")


def error_from_struct(record: _native.PassauthError) -> PassAuthError:
    """The exception for a ``struct passauth_error`` (member by member)."""
    action = _text(record.action)
    http_status = record.http_status
    retry_after_ms = record.retry_after_ms
    return error_class(record.status, action)(
        _text(record.message) or f"passauth status {record.status}", status=record.status,
        status_name=_text(record.name), code=_text(record.code), action=action, endpoint=_text(record.endpoint),
        key=_text(record.key), details=_text(record.details), help_url=_text(record.help_url),
        trace=_text(record.trace), body=_text(record.body), http_status=http_status or None,
        retry_after_ms=None if retry_after_ms < 0 else retry_after_ms)


# The exception a store callback (passauth.stores) raised on this thread, for the StoreError it causes.
_store_failure = threading.local()


def note_store_failure(error: Optional[BaseException]) -> None:
    """Remembers (or, with None, forgets) the exception a store callback raised on this thread."""
    _store_failure.error = error


def error_from_last(status: int) -> PassAuthError:
    """The exception for ``status``, read from this thread's ``passauth_error_last()``. A StoreError
    caused by an exception of an application store (passauth.stores) carries it as ``__cause__``."""
    cause: Optional[BaseException] = getattr(_store_failure, "error", None)
    _store_failure.error = None
    pointer: Any = _native.library().passauth_error_last()
    record: _native.PassauthError = pointer.contents
    if record.status != status:  # a call that failed without setting the record (should not happen)
        return error_class(status)(f"passauth status {status}", status=status)
    error = error_from_struct(record)
    if cause is not None and status == _native.PASSAUTH_E_STORE:
        error.__cause__ = cause
        error.__suppress_context__ = True
    return error


def _from_fields(cls: Type[PassAuthError], message: str, info: Mapping[str, Any]) -> PassAuthError:
    def text(name: str) -> Optional[str]:
        value = info.get(name)
        return None if value is None else str(value)

    def number(name: str) -> Optional[int]:
        value = info.get(name)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    return cls(message, status=number("status"), status_name=text("statusName"), code=text("code"),
               action=text("action"), endpoint=text("endpoint"), key=text("key"), details=text("details"),
               help_url=text("helpUrl"), trace=text("trace"), body=text("body"), http_status=number("httpStatus"),
               retry_after_ms=number("retryAfterMs"))


def error_from_record(status: int, record: Mapping[str, Any]) -> PassAuthError:
    """The exception for an error object the library handed over as JSON where no struct exists: a poll's
    outcome callback (it runs on a library thread) and ``passauth_poll_info``'s ``lastError``. The
    members are the struct's, spelled as in ``passauth_last_error()``."""
    action = record.get("action")
    cls = error_class(status, action if isinstance(action, str) else None)
    return _from_fields(cls, str(record.get("message") or f"passauth status {status}"), {"status": status, **record})


def check(status: int) -> None:
    """Raises the exception for ``status`` (from ``passauth_error_last()``) unless it is PASSAUTH_OK."""
    if status != _native.PASSAUTH_OK:
        raise error_from_last(status)


def invalid_argument(message: str, key: str) -> InvalidArgumentError:
    """An InvalidArgumentError raised by the Python layer itself (before any native call)."""
    return InvalidArgumentError(message, status=_native.PASSAUTH_E_INVALID_ARGUMENT, key=key)


__all__ = [
    "PassAuthError", "InvalidArgumentError", "NotFoundError", "TransientError", "TransportError", "TimedOutError",
    "ThrottledError", "ServiceError", "AuthenticationRequiredError", "AuthorizationDeniedError",
    "ConfigurationError", "ServiceUnavailableError", "HTTPError", "UnauthorizedError", "RegistrationError",
    "ExpiredError", "CancelledError", "ProtocolError", "StoreError", "InternalError", "PollPending", "error_class",
    "check",
]
