"""The exception hierarchy: one class per status of the C contract, carrying the enhanced error fields."""

from __future__ import annotations

import json
from typing import Any, Dict, Optional, Type

from . import _native


class PassAuthError(Exception):
    """A failed passauth call. Fields mirror ``passauth_last_error()``; none ever holds a secret."""

    status: int = _native.PASSAUTH_E_INTERNAL

    def __init__(self, message: str, info: Optional[Dict[str, Any]] = None) -> None:
        super().__init__(message)
        self.info: Dict[str, Any] = dict(info or {})
        self.message = message

    def _field(self, name: str) -> Any:
        return self.info.get(name)

    @property
    def http_status(self) -> Optional[int]:
        return self._field("httpStatus")

    @property
    def code(self) -> Optional[str]:
        """Enhanced error code or DCR error (``invalid_client``, ``authorization_denied_by_mvpd`` …)."""
        return self._field("code")

    @property
    def action(self) -> Optional[str]:
        """The service's recommended remedy: none, configuration, application-registration,
        authentication, authorization or retry."""
        return self._field("action")

    @property
    def details(self) -> Optional[str]:
        return self._field("details")

    @property
    def help_url(self) -> Optional[str]:
        return self._field("helpUrl")

    @property
    def trace(self) -> Optional[str]:
        return self._field("trace")

    @property
    def retry_after_ms(self) -> Optional[int]:
        return self._field("retryAfterMs")

    @property
    def key(self) -> Optional[str]:
        """The config or input key a validation error is about."""
        return self._field("key")

    @property
    def endpoint(self) -> Optional[str]:
        return self._field("endpoint")

    @property
    def needs_authentication(self) -> bool:
        """The user must (re-)authenticate with their TV provider."""
        return self.action == "authentication"

    @property
    def needs_authorization(self) -> bool:
        return self.action == "authorization"

    @property
    def needs_registration(self) -> bool:
        return self.action == "application-registration" or isinstance(self, RegistrationError)

    @property
    def needs_configuration(self) -> bool:
        """Fixing this takes a change in the Adobe Pass TVE Dashboard or the integration."""
        return self.action == "configuration"

    @property
    def is_retryable(self) -> bool:
        return self.action == "retry" or isinstance(self, (TransportError, TimedOutError, ThrottledError))

    def __str__(self) -> str:
        extra = ", ".join(f"{k}={self.info[k]}" for k in ("code", "action", "httpStatus", "key") if k in self.info)
        return f"{self.message} ({extra})" if extra else self.message


class InvalidArgumentError(PassAuthError, ValueError):
    status = _native.PASSAUTH_E_INVALID_ARGUMENT


class TransportError(PassAuthError):
    status = _native.PASSAUTH_E_TRANSPORT


class TimedOutError(PassAuthError, TimeoutError):
    status = _native.PASSAUTH_E_TIMEOUT


class HTTPError(PassAuthError):
    status = _native.PASSAUTH_E_HTTP


class ServiceError(PassAuthError):
    status = _native.PASSAUTH_E_SERVICE


class UnauthorizedError(PassAuthError):
    status = _native.PASSAUTH_E_UNAUTHORIZED


class ThrottledError(PassAuthError):
    status = _native.PASSAUTH_E_THROTTLED


class ProtocolError(PassAuthError):
    status = _native.PASSAUTH_E_PROTOCOL


class ExpiredError(PassAuthError):
    status = _native.PASSAUTH_E_EXPIRED


class CancelledError(PassAuthError):
    status = _native.PASSAUTH_E_CANCELLED


class RegistrationError(PassAuthError):
    status = _native.PASSAUTH_E_REGISTRATION


class StoreError(PassAuthError):
    status = _native.PASSAUTH_E_STORE


class InternalError(PassAuthError):
    status = _native.PASSAUTH_E_INTERNAL


class NotFoundError(PassAuthError):
    status = _native.PASSAUTH_E_NOT_FOUND


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


def check(status: int) -> None:
    if status != _native.PASSAUTH_OK:
        raise error_from_last(status)
