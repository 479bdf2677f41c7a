"""Result types of the authentication phase (sessions, profiles) and the poll handle."""

from __future__ import annotations

import ctypes
import json
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Dict, List, Optional, Set

from . import _native
from ._time import utc
from ._view import JSONObject, OptionalValidity, Validity, View
from .errors import (CancelledError, PassAuthError, PollPending, check, error_from_record, error_from_struct,
                     invalid_argument)

#: How long one native wait of :meth:`Poll.wait` lasts at most: the longest a Ctrl-C waits to be seen.
WAIT_SLICE_MS = 200


class Session(OptionalValidity):
    """An authentication session: what to do next (``action_name``) and the code for a second screen."""

    __slots__ = ()
    _shown = ("action_name", "action_type", "reason_type", "code", "url", "mvpd", "missing_parameters", "not_after")

    @property
    def action_name(self) -> str:
        """``authenticate`` (open :attr:`url`), ``resume`` (send :attr:`missing_parameters`),
        ``authorize`` (a profile exists), ``partner_profile`` (partner SSO)."""
        return str(self.raw.get("actionName", ""))

    @property
    def action_type(self) -> str:
        """``interactive`` or ``direct``."""
        return str(self.raw.get("actionType", ""))

    @property
    def reason_type(self) -> str:
        """``none``, ``authenticated``, ``temporary``, ``degraded``, ``authenticatedSSO``, or a partner
        fallback."""
        return str(self.raw.get("reasonType", ""))

    @property
    def code(self) -> Optional[str]:
        """The authentication code (to show, poll and resume with)."""
        return self.raw.get("code")

    @property
    def url(self) -> Optional[str]:
        """The absolute URL a user agent opens to log in."""
        return self.raw.get("url")

    @property
    def missing_parameters(self) -> List[str]:
        """What :meth:`passauth.Client.resume_session` must send (``actionName`` ``resume``)."""
        return list(self.raw.get("missingParameters") or [])

    @property
    def mvpd(self) -> Optional[str]:
        return self.raw.get("mvpd")

    @property
    def session_id(self) -> Optional[str]:
        return self.raw.get("sessionId")

    @property
    def needs_user_agent(self) -> bool:
        """True when a browser (this screen's or a second screen's) must open :attr:`url`."""
        return self.action_name == "authenticate"


class Profile(Validity):
    """A user's authenticated profile with one MVPD. ``repr`` shows the attribute names, not their values."""

    __slots__ = ("mvpd",)
    _shown = ("mvpd", "type", "issuer", "not_after", "attribute_names")

    mvpd: str

    def __init__(self, mvpd: str, raw: JSONObject) -> None:
        self.mvpd = mvpd
        self.raw = raw

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Profile) and other.mvpd == self.mvpd and other.raw == self.raw

    __hash__ = None  # type: ignore[assignment,unused-ignore]

    def __getstate__(self) -> Any:
        return (self.mvpd, self.raw)

    def __setstate__(self, state: Any) -> None:
        self.mvpd, self.raw = state

    @property
    def type(self) -> str:
        """``regular``, ``temporary``, ``degraded``, ``platformSSO``, ``serviceTokenSSO``, ``appleSSO`` …"""
        return str(self.raw.get("type", ""))

    @property
    def issuer(self) -> Optional[str]:
        return self.raw.get("issuer")

    @property
    def attributes(self) -> JSONObject:
        """``{"<name>": {"value": ..., "state": "plain"|"enc"}}`` as the service sends them."""
        return dict(self.raw.get("attributes") or {})

    @property
    def attribute_names(self) -> List[str]:
        return sorted(self.raw.get("attributes") or {})


def profiles_from(answer: JSONObject) -> Dict[str, Profile]:
    """``{"profiles": {mvpd: {...}}}`` as a dict of Profile by MVPD id."""
    return {mvpd: Profile(mvpd, raw) for mvpd, raw in (answer.get("profiles") or {}).items()}


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


PollCallback = Callable[[PollResult], None]


class PollInfo(View):
    """What a poll is doing (``passauth_poll_info``), without waiting."""

    __slots__ = ()
    _shown = ("code", "state", "requests", "interval_ms", "last_error")

    @property
    def code(self) -> str:
        return str(self.raw["code"])

    @property
    def state(self) -> str:
        """``pending`` or ``ended``."""
        return str(self.raw["state"])

    @property
    def pending(self) -> bool:
        return self.state == "pending"

    @property
    def status(self) -> Optional[int]:
        """The final status once ended (PASSAUTH_OK, or a PASSAUTH_E_*)."""
        return self.raw.get("status")

    @property
    def requests(self) -> int:
        """Requests made so far (with a Redis store: by every instance of the fleet, as last read)."""
        return int(self.raw.get("requests", 0))

    @property
    def next_request_at_ms(self) -> Optional[int]:
        return self.raw.get("nextRequestAt")

    @property
    def next_request_at(self) -> Optional[datetime]:
        value = self.next_request_at_ms
        return None if value is None else utc(value)

    @property
    def interval_ms(self) -> int:
        """The current interval, after backoff."""
        return int(self.raw["intervalMs"])

    @property
    def started_at_ms(self) -> int:
        return int(self.raw["startedAt"])

    @property
    def not_after_ms(self) -> Optional[int]:
        """The code's expiry, when known."""
        return self.raw.get("notAfter")

    @property
    def instance(self) -> Optional[str]:
        """With a Redis store: the fleet instance that made the last request (``Stats["fleetInstance"]``)."""
        value = self.raw.get("instance")
        return value if isinstance(value, str) else None

    @property
    def last_error(self) -> Optional[PassAuthError]:
        """The last failure met, transient ones included (transport, 5xx, 429)."""
        record = self.raw.get("lastError")
        if not isinstance(record, dict):
            return None
        status = record.get("status")
        return error_from_record(status if isinstance(status, int) else _native.PASSAUTH_E_INTERNAL, record)


# Polls whose callback has not fired yet stay referenced here, so the ctypes callback object is alive
# whenever the library may call it, even if the caller dropped its Poll.
_running: Set["Poll"] = set()
_running_lock = threading.Lock()


def _deliver_interrupt() -> None:
    """A Ctrl-C that landed in a callback is handed back to the main thread (it must not cross into C)."""
    import _thread

    _thread.interrupt_main()


class Poll:
    """A running poll of a code for the user's profile (see :meth:`passauth.Client.poll`).

    :meth:`wait` blocks for the outcome and can be interrupted by Ctrl-C (``KeyboardInterrupt``; the
    poll goes on). :meth:`cancel` ends it; :meth:`close` (or leaving a ``with`` block, also on Ctrl-C)
    cancels it if needed and releases it. The callback given to ``Client.poll`` runs once, on a library
    thread; exceptions it raises are printed, never propagated into the library."""

    def __init__(self, lib: Any, client: Any, device: Optional[bytes], code: str, options: Optional[JSONObject],
                 callback: Optional[PollCallback]) -> None:
        if not isinstance(code, str):
            raise invalid_argument(f"code must be a string, got {type(code).__name__}", "code")
        self._lib = lib
        self.code = code
        self._user_callback = callback
        self._callback = _native.POLL_CALLBACK(self._on_outcome)
        self._handle: Any = None
        self._guard = threading.Condition()
        self._waiters = 0
        self._closed = False
        handle = _native.poll_p()
        with _running_lock:
            _running.add(self)
        try:
            status = lib.passauth_poll_start(client, device, code.encode("utf-8"),
                                             None if options is None else json.dumps(options).encode(),
                                             self._callback, None, ctypes.byref(handle))
            check(status)
        except BaseException:
            with _running_lock:
                _running.discard(self)
            raise
        self._handle = handle

    def _on_outcome(self, _user_data: Optional[int], status: int, result_json: Optional[bytes]) -> None:
        try:
            document = json.loads(result_json) if result_json else {}
            if status == _native.PASSAUTH_OK:
                result = PollResult(status, profiles_from(document), None)
            else:
                result = PollResult(status, {}, error_from_record(status, document))
            if self._user_callback is not None:
                self._user_callback(result)
        except KeyboardInterrupt:
            _deliver_interrupt()
        except BaseException:  # never let an exception cross into C
            try:
                traceback.print_exc(file=sys.stderr)
            except BaseException:
                pass
        finally:
            with _running_lock:
                _running.discard(self)

    def _enter(self) -> Any:
        with self._guard:
            if self._closed or self._handle is None:
                raise PassAuthError("the poll is closed", status=_native.PASSAUTH_E_INVALID_ARGUMENT)
            self._waiters += 1
            return self._handle

    def _leave(self) -> None:
        with self._guard:
            self._waiters -= 1
            self._guard.notify_all()

    def wait(self, timeout: Optional[float] = None) -> Dict[str, Profile]:
        """The profiles, by MVPD id, once the user logged in.

        Raises the poll's own outcome when it ended otherwise (:class:`passauth.ExpiredError`,
        :class:`passauth.CancelledError`, :class:`passauth.TimedOutError` for the poll's ``timeout``, …),
        or :class:`passauth.PollPending` when ``timeout`` seconds pass first (the poll goes on: wait
        again, cancel it, or look at :meth:`info`). Waits in slices of at most 0.2 s, so Ctrl-C
        interrupts it at once with ``KeyboardInterrupt``; the poll goes on then too (leaving the
        ``with client.poll(...)`` block cancels it)."""
        handle = self._enter()
        out = ctypes.c_void_p()
        try:
            deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
            wait = self._lib.passauth_poll_wait
            while True:
                if deadline is None:
                    slice_ms = WAIT_SLICE_MS
                else:
                    slice_ms = max(0, min(WAIT_SLICE_MS, int((deadline - time.monotonic()) * 1000)))
                status = wait(handle, slice_ms, ctypes.byref(out))
                if status != _native.PASSAUTH_PENDING:
                    break
                if self._closed:  # closed by another thread (it cancelled the poll first)
                    raise CancelledError(f"the poll of code {self.code} was closed", status=_native.PASSAUTH_E_CANCELLED)
                if deadline is not None and time.monotonic() >= deadline:
                    raise PollPending(f"the poll of code {self.code} is still pending after {timeout} s", self)
            check(status)
            pointer, out.value = out.value, None
            data = _native.take_bytes(pointer)
            return profiles_from(json.loads(data) if data else {})
        finally:
            if out.value:  # interrupted between the outcome and reading it
                self._lib.passauth_free(out.value)
            self._leave()

    def info(self) -> PollInfo:
        """What the poll is doing now (requests made, next request, interval, last transient error)."""
        handle = self._enter()
        try:
            out = ctypes.c_void_p()
            status = self._lib.passauth_poll_info(handle, ctypes.byref(out))
            if status != _native.PASSAUTH_OK:
                raise error_from_struct(self._lib.passauth_error_last().contents)
            return PollInfo(json.loads(_native.take_bytes(out.value) or b"{}"))
        finally:
            self._leave()

    def done(self) -> bool:
        """True once the poll ended (whatever the outcome)."""
        return not self.info().pending

    def cancel(self) -> None:
        """Ends the poll with CancelledError (the callback fires once) unless it already ended; safe from
        any thread, also from inside the callback."""
        with self._guard:
            handle = None if self._closed else self._handle
            if handle is not None:
                self._lib.passauth_poll_cancel(handle)

    def close(self) -> None:
        """Cancels the poll if still running and releases it; after this the callback never runs again.
        Waits (briefly: the poll is cancelled first) for other threads inside :meth:`wait`."""
        with self._guard:
            if self._closed or self._handle is None:
                self._closed = True
                return
            self._closed = True
            handle = self._handle
            self._lib.passauth_poll_cancel(handle)
            while self._waiters:
                self._guard.wait()
            self._handle = None
        self._lib.passauth_poll_free(handle)  # after this, no callback can run
        with _running_lock:
            _running.discard(self)

    def __enter__(self) -> "Poll":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    def __repr__(self) -> str:
        if self._closed or self._handle is None:
            return f"<passauth.Poll code={self.code!r} closed>"
        try:
            info = self.info()
        except Exception:
            return f"<passauth.Poll code={self.code!r}>"
        if info.pending:
            return f"<passauth.Poll code={self.code!r} pending, {info.requests} request(s)>"
        name = _native.library().passauth_status_name(info.status or 0).decode()
        return f"<passauth.Poll code={self.code!r} ended {name}>"
