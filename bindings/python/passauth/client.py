"""The Pythonic layer: ``passauth.Client`` and the result types."""

from __future__ import annotations

import ctypes
import json
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Union

from . import _native
from ._time import utc
from .authentication import Poll, PollCallback, Profile, Session, profiles_from
from .decisions import Decision, Logout
from .errors import InvalidArgumentError, check
from .stores import Store, _Binding

JSONObject = Dict[str, Any]
Device = Union[Mapping[str, Any], str, None]


def _json(value: Optional[Mapping[str, Any]]) -> Optional[bytes]:
    return None if value is None else json.dumps(value).encode("utf-8")


@dataclass(frozen=True)
class Registration:
    """Outcome of :meth:`Client.register`. Holds no secret."""

    client_id: str
    access_token_expires_at_ms: int
    registered: bool
    token_fetched: bool
    client_id_issued_at: Optional[int] = None
    raw: JSONObject = field(default_factory=dict, repr=False)

    @property
    def access_token_expires_at(self) -> Optional[datetime]:
        """When the access token expires, as an aware UTC datetime."""
        return utc(self.access_token_expires_at_ms)

    @classmethod
    def from_json(cls, raw: JSONObject) -> "Registration":
        """Builds a Registration from the ``passauth_register`` answer."""
        return cls(client_id=raw["clientId"], access_token_expires_at_ms=raw["accessTokenExpiresAt"],
                   registered=raw["registered"], token_fetched=raw["tokenFetched"],
                   client_id_issued_at=raw.get("clientIdIssuedAt"), raw=raw)


@dataclass(frozen=True)
class Mvpd:
    """A TV provider from the configuration."""

    id: str
    display_name: str
    logo_url: Optional[str] = None
    is_temp_pass: bool = False
    is_proxy: bool = False
    raw: JSONObject = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, raw: JSONObject) -> "Mvpd":
        """Builds an Mvpd from one configuration MVPD object."""
        return cls(id=raw["id"], display_name=str(raw.get("displayName") or raw["id"]), logo_url=raw.get("logoUrl"),
                   is_temp_pass=bool(raw.get("isTempPass", False)), is_proxy=bool(raw.get("isProxy", False)), raw=raw)


@dataclass(frozen=True)
class Configuration:
    """The service provider's configuration: its MVPDs."""

    mvpds: List[Mvpd]
    raw: JSONObject = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, raw: JSONObject) -> "Configuration":
        """Builds a Configuration from the service's configuration answer."""
        requestor = raw.get("requestor") or {}
        return cls(mvpds=[Mvpd.from_json(m) for m in requestor.get("mvpds", [])], raw=raw)


def _device_text(device: Device) -> Optional[bytes]:
    if device is None:
        return None
    if isinstance(device, str):
        return device.encode("utf-8")
    return json.dumps(device).encode("utf-8")


def _mvpd(mvpd: str) -> Optional[bytes]:
    return mvpd.encode("utf-8") if isinstance(mvpd, str) else mvpd


def _resources(resources: Sequence[str]) -> bytes:
    if isinstance(resources, (str, bytes)):
        raise InvalidArgumentError("resources must be a list of resource ids, not a single string", {"key": "resources"})
    return json.dumps(list(resources)).encode("utf-8")


class Client:
    """A passauth client for one service provider. Safe to share between threads.

    ``config`` is the JSON configuration of ``passauth_client_new`` as a mapping (or JSON text)::

        with passauth.Client({"serviceProvider": "REF30", "softwareStatement": "...",
                              "environment": "staging", "device": {"id": "..."}}) as client:
            client.register()
    """

    def __init__(self, config: Union[Mapping[str, Any], str], store: Optional[Store] = None) -> None:
        """``store`` (a :class:`passauth.stores.Store`, e.g. ``RedisStore``) replaces the file store: the
        state is then shared by every client using the same store (passauth_client_new_with_store)."""
        self._lib = _native.library()
        text = config if isinstance(config, str) else json.dumps(config)
        handle = ctypes.c_void_p()
        # The binding (and its C callbacks) lives as long as this object, i.e. longer than the handle.
        self._store = _Binding(store) if store is not None else None
        if self._store is not None:
            check(self._lib.passauth_client_new_with_store(text.encode("utf-8"), ctypes.byref(self._store.struct),
                                                           ctypes.byref(handle)))
        else:
            check(self._lib.passauth_client_new(text.encode("utf-8"), ctypes.byref(handle)))
        self._handle: Optional[int] = handle.value
        self._closing = threading.Lock()

    # Lifetime -----------------------------------------------------------------------------------

    def close(self) -> None:
        """Releases the native client. Further calls raise InvalidArgumentError."""
        with self._closing:
            handle, self._handle = self._handle, None
        if handle:
            self._lib.passauth_client_free(handle)

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    # Plumbing -----------------------------------------------------------------------------------

    def _live(self) -> int:
        handle = self._handle
        if not handle:
            raise InvalidArgumentError("the client is closed", {"key": "client"})
        return handle

    def _call_json(self, function: Callable[..., int], *args: Any) -> JSONObject:
        out = ctypes.c_void_p()
        check(function(self._live(), *args, ctypes.byref(out)))
        text = _native.take_string(out.value)
        result: JSONObject = json.loads(text) if text else {}
        return result

    # The journey --------------------------------------------------------------------------------

    def register(self) -> Registration:
        """Ensures client credentials and a fresh access token (registering only when needed)."""
        return Registration.from_json(self._call_json(self._lib.passauth_register))

    def configuration(self, device: Device = None) -> Configuration:
        """The MVPDs integrated with the service provider."""
        return Configuration.from_json(self._call_json(self._lib.passauth_configuration, _device_text(device)))

    def mvpds(self, device: Device = None, *, temp_pass: bool = True, proxy: bool = True,
              exclude: Optional[List[str]] = None, search: Optional[str] = None) -> List[Mvpd]:
        """The TV providers for a picker, filtered (TempPass / proxied / excluded ids / search text)."""
        flt: Dict[str, Any] = {"tempPass": temp_pass, "proxy": proxy, "exclude": list(exclude or [])}
        if search is not None:
            flt["search"] = search
        answer = self._call_json(self._lib.passauth_mvpds, _device_text(device), _json(flt))
        return [Mvpd.from_json(m) for m in answer.get("mvpds", [])]

    def select_mvpd(self, mvpd: Union[Mvpd, Mapping[str, Any]], device: Device = None) -> None:
        """Remembers the user's TV provider choice (id, displayName, logoUrl) in the persistent store."""
        raw = mvpd.raw if isinstance(mvpd, Mvpd) else mvpd
        check(self._lib.passauth_mvpd_select(self._live(), _device_text(device), _json(raw)))

    def selected_mvpd(self, device: Device = None) -> Optional[Mvpd]:
        """The remembered choice, or None."""
        out = ctypes.c_void_p()
        status = self._lib.passauth_mvpd_selected(self._live(), _device_text(device), ctypes.byref(out))
        if status == _native.PASSAUTH_E_NOT_FOUND:
            return None
        check(status)
        text = _native.take_string(out.value)
        return Mvpd.from_json(json.loads(text or "{}"))

    def create_session(self, mvpd: Optional[str] = None, domain_name: Optional[str] = None,
                       redirect_url: Optional[str] = None, device: Device = None) -> Session:
        """Starts authentication; parameters left out are reported back in ``missing_parameters``."""
        params = {k: v for k, v in (("mvpd", mvpd), ("domainName", domain_name), ("redirectUrl", redirect_url)) if v}
        return Session.from_json(self._call_json(self._lib.passauth_session_create, _device_text(device), _json(params)))

    def resume_session(self, code: str, mvpd: Optional[str] = None, domain_name: Optional[str] = None,
                       redirect_url: Optional[str] = None, device: Device = None) -> Session:
        """Completes a session with the parameters it reported missing (second screen: also validates a typed-in code)."""
        params = {k: v for k, v in (("mvpd", mvpd), ("domainName", domain_name), ("redirectUrl", redirect_url)) if v}
        return Session.from_json(self._call_json(self._lib.passauth_session_resume, _device_text(device),
                                                 code.encode("utf-8"), _json(params)))

    def session(self, code: str, device: Device = None) -> Session:
        """The session behind a code (validates a code typed on a second screen)."""
        return Session.from_json(self._call_json(self._lib.passauth_session_get, _device_text(device), code.encode("utf-8")))

    def authenticate_url(self, code: str) -> str:
        """The URL a browser opens to log in with the MVPD for ``code`` (no request)."""
        out = ctypes.c_void_p()
        check(self._lib.passauth_authenticate_url(self._live(), code.encode("utf-8"), ctypes.byref(out)))
        return _native.take_string(out.value) or ""

    def profiles(self, device: Device = None) -> Dict[str, Profile]:
        """Every valid profile of the device, by MVPD id (persisted as the checklist asks)."""
        return profiles_from(self._call_json(self._lib.passauth_profiles, _device_text(device)))

    def profile(self, mvpd: str, device: Device = None) -> Optional[Profile]:
        """The device's profile for ``mvpd``, or None."""
        found = profiles_from(self._call_json(self._lib.passauth_profile_for_mvpd, _device_text(device), mvpd.encode("utf-8")))
        return found.get(mvpd) or next(iter(found.values()), None)

    def profile_for_code(self, code: str, device: Device = None) -> Dict[str, Profile]:
        """The profiles created by the login behind ``code`` (empty until the user finishes); one request — use :meth:`poll` to wait."""
        return profiles_from(self._call_json(self._lib.passauth_profile_for_code, _device_text(device), code.encode("utf-8")))

    def stored_profiles(self, device: Device = None) -> Dict[str, Profile]:
        """The persisted profile parts of the device (no request)."""
        return profiles_from(self._call_json(self._lib.passauth_profiles_stored, _device_text(device)))

    @staticmethod
    def pick_profile(profiles: Mapping[str, Profile]) -> Optional[Profile]:
        """The valid profile with the longest validity (the checklist's suggestion), or None."""
        out = ctypes.c_void_p()
        document = {"profiles": {mvpd: p.raw for mvpd, p in profiles.items()}}
        status = _native.library().passauth_profile_pick(json.dumps(document).encode(), ctypes.byref(out))
        if status == _native.PASSAUTH_E_NOT_FOUND:
            return None
        check(status)
        return profiles[json.loads(_native.take_string(out.value) or "{}")["mvpd"]]

    # Partner single sign-on (Apple) ------------------------------------------------------------------

    def partner_sso_session(self, partner: str = "Apple", domain_name: Optional[str] = None,
                            redirect_url: Optional[str] = None, device: Device = None) -> Session:
        """Asks for the partner authentication request (``action_name`` "partner_profile", with
        ``raw["authenticationRequest"]``), or a fallback to the basic flow (a session with a code).
        The device's ``partnerFrameworkStatus`` is sent as AP-Partner-Framework-Status."""
        params = {k: v for k, v in (("domainName", domain_name), ("redirectUrl", redirect_url)) if v}
        return Session.from_json(self._call_json(self._lib.passauth_session_partner_sso, _device_text(device),
                                                 partner.encode("utf-8"), _json(params)))

    def partner_sso_profile(self, saml_response: str, partner: str = "Apple", device: Device = None) -> Dict[str, Profile]:
        """Creates the partner profile (type "appleSSO") from the partner's base64 SAML response."""
        return profiles_from(self._call_json(self._lib.passauth_profile_partner_sso, _device_text(device),
                                             partner.encode("utf-8"), _json({"SAMLResponse": saml_response})))

    def poll(self, code: str, *, interval: Optional[float] = None, timeout: Optional[float] = None,
             not_after_ms: Optional[int] = None, callback: Optional[PollCallback] = None,
             device: Device = None) -> Poll:
        """Polls ``code`` for the user's profile every ``interval`` seconds (never below 3 s) on the
        library's threads. Use ``wait()`` on the result, or pass ``callback`` (called once)."""
        options: Dict[str, Any] = {}
        if interval is not None:
            options["intervalMs"] = int(interval * 1000)
        if timeout is not None:
            options["timeoutMs"] = int(timeout * 1000)
        if not_after_ms is not None:
            options["notAfter"] = not_after_ms
        return Poll(self, _device_text(device), code, options or None, callback)
    def preauthorize(self, mvpd: str, resources: Sequence[str], device: Device = None) -> List[Decision]:
        """Preauthorization decisions, one per resource in order: for content filtering only, never for
        playback (Adobe's checklist). Long lists are split into several requests; permits are cached
        in memory. A deny is a Decision with ``authorized`` False and ``error`` set, not an exception."""
        raw = self._call_json(self._lib.passauth_preauthorize, _device_text(device), _mvpd(mvpd),
                              _resources(resources))
        return [Decision.from_json(d) for d in raw.get("decisions", [])]

    def authorize(self, mvpd: str, resources: Sequence[str], device: Device = None) -> List[Decision]:
        """Authorization decisions with media tokens. Call before every playback; nothing is cached."""
        raw = self._call_json(self._lib.passauth_authorize, _device_text(device), _mvpd(mvpd), _resources(resources))
        return [Decision.from_json(d) for d in raw.get("decisions", [])]

    def logout(self, mvpd: str, redirect_url: str, device: Device = None) -> Logout:
        """Logs the device out of ``mvpd``; the result says whether a user agent must open a URL."""
        raw = self._call_json(self._lib.passauth_logout, _device_text(device), _mvpd(mvpd),
                              redirect_url.encode("utf-8") if isinstance(redirect_url, str) else redirect_url)
        return Logout.from_json(raw)

    def stats(self) -> JSONObject:
        """Request, retry, cache and connection counters of this client."""
        return self._call_json(self._lib.passauth_stats)
