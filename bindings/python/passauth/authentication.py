"""Result types of the authentication phase: sessions, profiles, and the poll handle."""

from __future__ import annotations

import ctypes
import json
import sys
import threading
import traceback
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Set

from . import _native
from ._time import Validity, utc
from .errors import PassAuthError, TimedOutError, error_from_info, error_from_last

if TYPE_CHECKING:
    from .client import Client

JSONObject = Dict[str, Any]


@dataclass(frozen=True)
class Session(Validity):
    """An authentication session: what to do next (``action_name``) and the code for a second screen."""

    action_name: str
    action_type: Optional[str]
    reason_type: Optional[str]
    code: Optional[str]
    url: Optional[str]
    missing_parameters: List[str]
    mvpd: Optional[str]
    not_before_ms: Optional[int]
    not_after_ms: Optional[int]
    raw: JSONObject = field(default_factory=dict, repr=False)



    @property
    def needs_user_agent(self) -> bool:
        """True when a browser (this screen's or a second screen's) must open ``url``."""
        return self.action_name == "authenticate"

    @classmethod
    def from_json(cls, raw: JSONObject) -> "Session":
        """Builds a Session from the library's (normalised) sessions answer."""
        return cls(action_name=raw.get("actionName", ""), action_type=raw.get("actionType"),
                   reason_type=raw.get("reasonType"), code=raw.get("code"), url=raw.get("url"),
                   missing_parameters=list(raw.get("missingParameters", [])), mvpd=raw.get("mvpd"),
                   not_before_ms=raw.get("notBefore"), not_after_ms=raw.get("notAfter"), raw=raw)


@dataclass(frozen=True)
class Profile(Validity):
    """A user's authenticated profile with one MVPD."""

    mvpd: str
    not_before_ms: Optional[int]
    not_after_ms: Optional[int]
    type: Optional[str]
    issuer: Optional[str]
    attributes: JSONObject
    raw: JSONObject = field(default_factory=dict, repr=False)



    @classmethod
    def from_json(cls, mvpd: str, raw: JSONObject) -> "Profile":
        """Builds a Profile from one entry of a ``{"profiles": {mvpd: {...}}}`` answer."""
        return cls(mvpd=mvpd, not_before_ms=raw.get("notBefore"), not_after_ms=raw.get("notAfter"),
                   type=raw.get("type"), issuer=raw.get("issuer"), attributes=dict(raw.get("attributes") or {}),
                   raw=raw)


def profiles_from(answer: JSONObject) -> Dict[str, Profile]:
    """``{"profiles": {mvpd: {...}}}`` as a dict of Profile by MVPD id."""
    return {mvpd: Profile.from_json(mvpd, raw) for mvpd, raw in (answer.get("profiles") or {}).items()}


PollCallback = Callable[["PollResult"], None]


@dataclass(frozen=True)
class PollResult:
    """How a poll ended: ``profiles`` on success, ``error`` otherwise."""

    status: int
    profiles: Dict[str, Profile]
    error: Optional[PassAuthError]

    @property
    def ok(self) -> bool:
        """True when the user finished logging in (``profiles`` is set)."""
        return self.status == _native.PASSAUTH_OK


# Polls whose callback has not fired yet stay referenced here, so the ctypes callback object is alive
# whenever the library may call it, even if the caller dropped its Poll.
_running: Set["Poll"] = set()
_running_lock = threading.Lock()


class Poll:
    """A running poll of a code for the user's profile (see ``Client.poll``).

    ``wait()`` blocks for the outcome; ``cancel()`` ends it; ``close()`` (or leaving a ``with`` block)
    cancels it if needed and releases it. The callback given to ``Client.poll`` runs once, on a library
    thread; exceptions it raises are printed, never propagated into the library."""

    def __init__(self, client: "Client", device: Optional[bytes], code: str, options: Optional[JSONObject],
                 callback: Optional[PollCallback]) -> None:
        self._lib = _native.library()
        self._user_callback = callback
        self._callback = _native.POLL_CALLBACK(self._on_outcome)
        self._handle: Optional[int] = None
        self._closing = threading.Lock()
        handle = ctypes.c_void_p()
        with _running_lock:
            _running.add(self)
        try:
            status = self._lib.passauth_poll_start(client._live(), device, code.encode("utf-8"),
                                                   None if options is None else json.dumps(options).encode(),
                                                   self._callback, None, ctypes.byref(handle))
            if status != _native.PASSAUTH_OK:
                raise error_from_last(status)
        except BaseException:
            with _running_lock:
                _running.discard(self)
            raise
        self._handle = handle.value

    def _on_outcome(self, _user_data: Optional[int], status: int, result_json: Optional[bytes]) -> None:
        try:
            document = json.loads(result_json.decode("utf-8")) if result_json else {}
            if status == _native.PASSAUTH_OK:
                result = PollResult(status, profiles_from(document), None)
            else:
                result = PollResult(status, {}, error_from_info(status, document))
            if self._user_callback is not None:
                self._user_callback(result)
        except Exception:  # never let an exception cross into C
            traceback.print_exc(file=sys.stderr)
        finally:
            with _running_lock:
                _running.discard(self)

    def wait(self, timeout: Optional[float] = None) -> Dict[str, Profile]:
        """The profiles once the user logged in. Raises the poll's error (ExpiredError, CancelledError …),
        or TimedOutError with ``still_running`` True when ``timeout`` seconds pass first."""
        out = ctypes.c_void_p()
        millis = -1 if timeout is None else max(0, int(timeout * 1000))
        status = self._lib.passauth_poll_wait(self._live(), millis, ctypes.byref(out))
        text = _native.take_string(out.value)
        if status == _native.PASSAUTH_PENDING:
            error = TimedOutError("the poll is still running", {"status": status, "stillRunning": True})
            raise error
        if status != _native.PASSAUTH_OK:
            raise error_from_last(status)
        return profiles_from(json.loads(text) if text else {})

    def cancel(self) -> None:
        """Ends the poll with CancelledError (the callback fires once) unless it already ended; safe from any thread."""
        handle = self._handle
        if handle:
            self._lib.passauth_poll_cancel(handle)

    def close(self) -> None:
        """Cancels the poll if still running and releases it; after this the callback never runs again."""
        with self._closing:
            handle, self._handle = self._handle, None
        if handle:
            self._lib.passauth_poll_free(handle)  # after this, no callback can run
        with _running_lock:
            _running.discard(self)

    def _live(self) -> int:
        if not self._handle:
            raise PassAuthError("the poll is closed")
        return self._handle

    def __enter__(self) -> "Poll":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass
