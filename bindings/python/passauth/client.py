"""The Pythonic layer: ``passauth.Client`` and the result types of the registration phase."""

from __future__ import annotations

import ctypes
import json
import os
import threading
from datetime import datetime
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, TypedDict, Union

from . import _native, logs
from ._time import utc
from ._view import JSONObject, View
from .authentication import Poll, PollCallback, Profile, Session, profiles_from
from .config import Config, Device, Environment, LogLevel, Reregister, merged
from .decisions import Decision, Logout
from .errors import InvalidArgumentError, check, error_from_last, invalid_argument
from .stores import Store, _Binding

_string_at = ctypes.string_at
_byref = ctypes.byref
_c_void_p = ctypes.c_void_p
_loads = json.loads
_dumps = json.dumps
# The C scanner behind json.loads, without its Python-level wrappers (decode, raw_decode, the trailing
# whitespace check): the library's results are complete, valid UTF-8 JSON documents.
_scan_once: Callable[[str, int], Tuple[Any, int]] = json.decoder.JSONDecoder().scan_once  # type: ignore[attr-defined]


def _parse(data: bytes) -> Any:
    return _scan_once(data.decode("utf-8"), 0)[0]

# Encoded arguments are cached per distinct value: a player sends the same device and resource lists
# over and over. Bounded; cleared whole when full.
_CACHE_LIMIT = 256


class Registration(View):
    """Outcome of :meth:`Client.register`. Holds no secret."""

    __slots__ = ()
    _shown = ("client_id", "registered", "token_fetched", "access_token_expires_at")

    @property
    def client_id(self) -> str:
        return str(self.raw["clientId"])

    @property
    def client_id_issued_at_ms(self) -> Optional[int]:
        return self.raw.get("clientIdIssuedAt")

    @property
    def access_token_expires_at_ms(self) -> int:
        return int(self.raw["accessTokenExpiresAt"])

    @property
    def access_token_expires_at(self) -> datetime:
        """When the access token expires, as an aware UTC datetime."""
        return utc(self.access_token_expires_at_ms)

    @property
    def registered(self) -> bool:
        """A registration happened during this call."""
        return self.raw.get("registered") is True

    @property
    def token_fetched(self) -> bool:
        """An access token was fetched during this call."""
        return self.raw.get("tokenFetched") is True


class Mvpd(View):
    """A TV provider from the configuration."""

    __slots__ = ()
    _shown = ("id", "display_name")

    @property
    def id(self) -> str:
        return str(self.raw["id"])

    @property
    def display_name(self) -> str:
        return str(self.raw.get("displayName") or self.raw["id"])

    @property
    def logo_url(self) -> Optional[str]:
        return self.raw.get("logoUrl")

    @property
    def is_temp_pass(self) -> bool:
        return bool(self.raw.get("isTempPass", False))

    @property
    def is_proxy(self) -> bool:
        return bool(self.raw.get("isProxy", False))


class Configuration(View):
    """The service provider's configuration: its MVPDs."""

    __slots__ = ()
    _shown = ("mvpds",)

    @property
    def mvpds(self) -> List[Mvpd]:
        requestor = self.raw.get("requestor") or {}
        return [Mvpd(m) for m in requestor.get("mvpds", [])]


class LatencyStats(TypedDict):
    count: int
    p50Ms: float
    p99Ms: float


class Stats(TypedDict, total=False):
    """``passauth_stats``: counters of a client since it was created. Never holds a secret."""

    requests: Dict[str, int]
    requestsTotal: int
    retries: int
    unauthorizedRefreshes: int
    throttled: int
    cacheHits: int
    connectionsOpened: int
    registrations: int
    reregistrations: int
    tokenFetches: int
    deviceInfoWarnings: int
    activePolls: int
    clockOffsetMs: int
    fleetInstance: str
    latency: Dict[str, LatencyStats]


def _params(**values: Optional[str]) -> Optional[bytes]:
    present = {k: v for k, v in values.items() if v}
    return _dumps(present).encode() if present else None


class Client:
    """A passauth client for one service provider. Safe to share between threads.

    Configure it with a :class:`passauth.Config` mapping, with keyword arguments (each configuration key
    in snake_case), or both (keywords win)::

        with passauth.Client(service_provider="REF30", software_statement=statement, environment="staging",
                             device=passauth.Device(id="living-room-box-42")) as client:
            client.register()

    ``store`` is the configuration's ``"store"`` (a directory or a ``redis://`` URL) or a
    :class:`passauth.Store` object, whose state is then shared by every client using it.
    """

    def __init__(self, config: Union[Config, str, None] = None, *,
                 store: Union[str, "os.PathLike[str]", Store, None] = None,
                 service_provider: Optional[str] = None, software_statement: Optional[str] = None,
                 environment: Optional[Environment] = None, base_url: Optional[str] = None,
                 redirect_uri: Optional[str] = None, store_key_prefix: Optional[str] = None,
                 store_encryption_key: Optional[str] = None, reregister: Optional[Reregister] = None,
                 device: Optional[Device] = None, default_device_info: Optional[bool] = None,
                 strict_device_info: Optional[bool] = None, timeout_ms: Optional[int] = None,
                 connect_timeout_ms: Optional[int] = None, ca_file: Optional[str] = None,
                 proxy: Optional[str] = None, allow_insecure_http: Optional[bool] = None,
                 pacing: Optional[bool] = None, pacing_rate_per_second: Optional[float] = None,
                 pacing_burst: Optional[int] = None, log_level: Optional[LogLevel] = None,
                 max_response_bytes: Optional[int] = None, configuration_cache_ms: Optional[int] = None,
                 poll_interval_ms: Optional[int] = None, authorize_batch_size: Optional[int] = None,
                 preauthorize_batch_size: Optional[int] = None, profile_refresh_ms: Optional[int] = None) -> None:
        self._handle: Any = None
        self._lib = _native.library()
        keywords = {k: v for k, v in locals().items()
                    if k not in ("self", "config", "store") and not k.startswith("_") and v is not None}
        store_object = store if isinstance(store, Store) else None
        if store is not None and store_object is None:
            keywords["store"] = os.fspath(store)  # type: ignore[arg-type]
        if isinstance(config, str) and not keywords:
            text = config
            document: Mapping[str, Any] = {}
            try:
                parsed = _loads(config)
                document = parsed if isinstance(parsed, dict) else {}
            except ValueError:
                pass
        else:
            try:
                base = _loads(config) if isinstance(config, str) else config
            except ValueError as error:
                raise invalid_argument(f"config is not valid JSON: {error}", "config") from None
            document = merged(base, keywords)
            if "logLevel" not in document:
                document = dict(document, logLevel=logs.library_level())
            text = _dumps(document)
        handle = _native.client_p()
        # The binding (and its C callbacks) lives as long as this object, i.e. longer than the handle.
        self._store = _Binding(store_object) if store_object is not None else None
        if self._store is not None:
            status = self._lib.passauth_client_new_with_store(text.encode("utf-8"), _byref(self._store.struct),
                                                              _byref(handle))
        else:
            status = self._lib.passauth_client_new(text.encode("utf-8"), _byref(handle))
        check(status)
        # What repr shows: nothing secret (no software statement, no encryption key, no SSO token).
        default_device = document.get("device")
        self._described: Tuple[Any, ...] = (
            document.get("serviceProvider"), document.get("baseUrl") or document.get("environment", "production"),
            default_device.get("id") if isinstance(default_device, dict) else None)
        self._log_callback = logs.CALLBACK  # alive as long as the client: the library may call it until freed
        if self._lib.passauth_set_log_callback(handle, self._log_callback, None) != _native.PASSAUTH_OK:
            failure = error_from_last(_native.PASSAUTH_E_INVALID_ARGUMENT)
            self._lib.passauth_client_free(handle)
            raise failure
        self._closing = threading.Lock()
        self._devices: Dict[int, Tuple[Any, Any, bytes]] = {}
        self._resources: Dict[Tuple[Any, ...], bytes] = {}
        self._authorize = self._lib.passauth_authorize
        self._free = self._lib.passauth_free
        self._handle = handle

    # Lifetime -----------------------------------------------------------------------------------

    def close(self) -> None:
        """Releases the native client (its polls end with CancelledError). Further calls raise
        InvalidArgumentError."""
        with self._closing:
            handle, self._handle = self._handle, None
        if handle:
            self._lib.passauth_client_free(handle)

    @property
    def closed(self) -> bool:
        return not self._handle

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    def __repr__(self) -> str:
        service_provider, where, device = getattr(self, "_described", (None, None, None))
        state = "open" if self._handle else "closed"
        return f"<passauth.Client service_provider={service_provider!r} service={where!r} device={device!r} {state}>"

    # Plumbing -----------------------------------------------------------------------------------

    def _live(self) -> Any:
        handle = self._handle
        if not handle:
            raise invalid_argument("the client is closed", "client")
        return handle

    def _device(self, device: Optional[Device]) -> Optional[bytes]:
        """The device's JSON, encoded once per distinct device (same object, same value)."""
        if device is None:
            return None
        if isinstance(device, str):
            return device.encode("utf-8")
        entry = self._devices.get(id(device))
        if entry is not None and entry[0] is device and entry[1] == device:
            return entry[2]
        encoded = _dumps(device).encode("utf-8")
        if len(self._devices) >= _CACHE_LIMIT:
            self._devices.clear()
        self._devices[id(device)] = (device, _loads(encoded), encoded)
        return encoded

    def _resource_list(self, resources: Sequence[str]) -> bytes:
        if isinstance(resources, (str, bytes)):
            raise invalid_argument("resources must be a list of resource ids, not a single string", "resources")
        try:
            key = tuple(resources)
            encoded = self._resources.get(key)
        except TypeError:  # unhashable items: let the library say what is wrong
            return _dumps(list(resources)).encode("utf-8")
        return self._encode_resources(key) if encoded is None else encoded

    def _encode_resources(self, key: Tuple[Any, ...]) -> bytes:
        """The JSON array of ``key`` (hashable resource ids), cached for the next calls."""
        encoded: bytes = _dumps(list(key)).encode("utf-8")
        if len(self._resources) >= _CACHE_LIMIT:
            self._resources.clear()
        self._resources[key] = encoded
        return encoded

    def _call(self, function: Callable[..., int], *args: Any) -> JSONObject:
        """Calls ``function(client, *args, &out)`` and returns the parsed result (raises on failure)."""
        out = _c_void_p()
        check(function(self._live(), *args, _byref(out)))
        pointer: Any = out.value  # set on success
        try:
            data = _string_at(pointer)
        finally:
            self._lib.passauth_free(pointer)
        result: JSONObject = _parse(data)
        return result

    # The journey --------------------------------------------------------------------------------

    def register(self) -> Registration:
        """Ensures client credentials and a fresh access token (registering only when needed)."""
        return Registration(self._call(self._lib.passauth_register))

    def configuration(self, device: Optional[Device] = None) -> Configuration:
        """The MVPDs integrated with the service provider (cached per platform)."""
        return Configuration(self._call(self._lib.passauth_configuration, self._device(device)))

    def mvpds(self, device: Optional[Device] = None, *, temp_pass: bool = True, proxy: bool = True,
              exclude: Optional[List[str]] = None, search: Optional[str] = None) -> List[Mvpd]:
        """The TV providers for a picker, filtered (TempPass / proxied / excluded ids / search text)."""
        flt: Dict[str, Any] = {"tempPass": temp_pass, "proxy": proxy, "exclude": list(exclude or [])}
        if search is not None:
            flt["search"] = search
        answer = self._call(self._lib.passauth_mvpds, self._device(device), _dumps(flt).encode())
        return [Mvpd(m) for m in answer.get("mvpds", [])]

    def select_mvpd(self, mvpd: Union[Mvpd, Mapping[str, Any]], device: Optional[Device] = None) -> None:
        """Remembers the user's TV provider choice (id, displayName, logoUrl) in the persistent store."""
        raw = mvpd.raw if isinstance(mvpd, Mvpd) else mvpd
        status = self._lib.passauth_mvpd_select(self._live(), self._device(device), _dumps(raw).encode())
        check(status)

    def selected_mvpd(self, device: Optional[Device] = None) -> Optional[Mvpd]:
        """The remembered choice, or None."""
        out = _c_void_p()
        status = self._lib.passauth_mvpd_selected(self._live(), self._device(device), _byref(out))
        if status == _native.PASSAUTH_E_NOT_FOUND:
            return None
        check(status)
        return Mvpd(_loads(_native.take_bytes(out.value) or b"{}"))

    def create_session(self, mvpd: Optional[str] = None, domain_name: Optional[str] = None,
                       redirect_url: Optional[str] = None, device: Optional[Device] = None) -> Session:
        """Starts authentication; parameters left out are reported back in ``missing_parameters``. A new
        code ends any poll of an older code for the same device (CancelledError)."""
        params = _params(mvpd=mvpd, domainName=domain_name, redirectUrl=redirect_url)
        return Session(self._call(self._lib.passauth_session_create, self._device(device), params))

    def resume_session(self, code: str, mvpd: Optional[str] = None, domain_name: Optional[str] = None,
                       redirect_url: Optional[str] = None, device: Optional[Device] = None) -> Session:
        """Completes a session with the parameters it reported missing (second screen: also validates a
        typed-in code)."""
        params = _params(mvpd=mvpd, domainName=domain_name, redirectUrl=redirect_url)
        return Session(self._call(self._lib.passauth_session_resume, self._device(device), code.encode("utf-8"),
                                  params))

    def session(self, code: str, device: Optional[Device] = None) -> Session:
        """The session behind a code (validates a code typed on a second screen)."""
        return Session(self._call(self._lib.passauth_session_get, self._device(device), code.encode("utf-8")))

    def authenticate_url(self, code: str) -> str:
        """The URL a browser opens to log in with the MVPD for ``code`` (no request). Draw it for a
        second screen with :func:`passauth.qr_code`."""
        out = _c_void_p()
        status = self._lib.passauth_authenticate_url(self._live(), code.encode("utf-8"), _byref(out))
        check(status)
        return (_native.take_bytes(out.value) or b"").decode("utf-8")

    def profiles(self, device: Optional[Device] = None) -> Dict[str, Profile]:
        """Every valid profile of the device, by MVPD id (persisted as the checklist asks)."""
        return profiles_from(self._call(self._lib.passauth_profiles, self._device(device)))

    def profile(self, mvpd: str, device: Optional[Device] = None) -> Optional[Profile]:
        """The device's profile for ``mvpd``, or None."""
        found = profiles_from(self._call(self._lib.passauth_profile_for_mvpd, self._device(device),
                                         mvpd.encode("utf-8")))
        return found.get(mvpd) or next(iter(found.values()), None)

    def profile_for_code(self, code: str, device: Optional[Device] = None) -> Dict[str, Profile]:
        """The profiles created by the login behind ``code`` (empty until the user finishes); one request —
        use :meth:`poll` to wait."""
        return profiles_from(self._call(self._lib.passauth_profile_for_code, self._device(device),
                                        code.encode("utf-8")))

    def stored_profiles(self, device: Optional[Device] = None) -> Dict[str, Profile]:
        """The persisted profile parts of the device (no request)."""
        return profiles_from(self._call(self._lib.passauth_profiles_stored, self._device(device)))

    def pick_profile(self, profiles: Mapping[str, Profile]) -> Optional[Profile]:
        """The profile valid now (at the service's time) with the latest expiry — the checklist's
        choice — or None when none is valid."""
        document = _dumps({"profiles": {mvpd: p.raw for mvpd, p in profiles.items()}}).encode()
        out = _c_void_p()
        status = self._lib.passauth_profile_pick_for(self._live(), document, _byref(out))
        if status == _native.PASSAUTH_E_NOT_FOUND:
            return None
        check(status)
        return profiles[_loads(_native.take_bytes(out.value) or b"{}")["mvpd"]]

    # Partner single sign-on (Apple) ------------------------------------------------------------------

    def partner_sso_session(self, partner: str = "Apple", domain_name: Optional[str] = None,
                            redirect_url: Optional[str] = None, device: Optional[Device] = None) -> Session:
        """Asks for the partner authentication request (``action_name`` "partner_profile", with
        ``raw["authenticationRequest"]``), or a fallback to the basic flow (a session with a code).
        The device's ``partnerFrameworkStatus`` is sent as AP-Partner-Framework-Status."""
        params = _params(domainName=domain_name, redirectUrl=redirect_url)
        return Session(self._call(self._lib.passauth_session_partner_sso, self._device(device),
                                  partner.encode("utf-8"), params))

    def partner_sso_profile(self, saml_response: str, partner: str = "Apple",
                            device: Optional[Device] = None) -> Dict[str, Profile]:
        """Creates the partner profile (type "appleSSO") from the partner's base64 SAML response."""
        return profiles_from(self._call(self._lib.passauth_profile_partner_sso, self._device(device),
                                        partner.encode("utf-8"), _dumps({"SAMLResponse": saml_response}).encode()))

    # Polling ------------------------------------------------------------------------------------

    def poll(self, code: str, *, interval: Optional[float] = None, timeout: Optional[float] = None,
             not_after_ms: Optional[int] = None, callback: Optional[PollCallback] = None,
             device: Optional[Device] = None) -> Poll:
        """Polls ``code`` for the user's profile every ``interval`` seconds (never below 3 s) on the
        library's threads, for at most ``timeout`` seconds (then TimedOutError) and never past the
        code's expiry (then ExpiredError). Use ``wait()`` on the result, or pass ``callback`` (called
        once). Needs a device id (the config's default device, or ``device``)."""
        options: Dict[str, Any] = {}
        if interval is not None:
            options["intervalMs"] = int(interval * 1000)
        if timeout is not None:
            options["timeoutMs"] = int(timeout * 1000)
        if not_after_ms is not None:
            options["notAfter"] = not_after_ms
        return Poll(self._lib, self._live(), self._device(device), code, options or None, callback)

    # Decisions ----------------------------------------------------------------------------------

    def preauthorize(self, mvpd: str, resources: Sequence[str], device: Optional[Device] = None) -> List[Decision]:
        """Preauthorization decisions, one per resource in order: for content filtering only, never for
        playback (Adobe's checklist). Long lists are split into several requests; permits are cached
        in memory. A deny is a Decision with ``authorized`` False and ``error`` set, not an exception."""
        raw = self._call(self._lib.passauth_preauthorize, self._device(device), mvpd.encode("utf-8"),
                         self._resource_list(resources))
        return [Decision(d) for d in raw["decisions"]]

    def authorize(self, mvpd: str, resources: Sequence[str], device: Optional[Device] = None) -> List[Decision]:
        """Authorization decisions with media tokens. Call before every playback; nothing is cached."""
        # The hot path of a player: one native call, one string_at, one json.loads, one object per item.
        handle = self._handle
        if not handle:
            raise invalid_argument("the client is closed", "client")
        if resources.__class__ is list or resources.__class__ is tuple:
            key = tuple(resources)
            try:
                encoded = self._resources.get(key)
            except TypeError:  # unhashable items: let the library say what is wrong
                encoded = _dumps(list(resources)).encode("utf-8")
            if encoded is None:
                encoded = self._encode_resources(key)
        else:
            encoded = self._resource_list(resources)
        out = _c_void_p()
        status = self._authorize(handle, None if device is None else self._device(device), mvpd.encode("utf-8"),
                                 encoded, _byref(out))
        if status:
            raise error_from_last(status)
        pointer: Any = out.value  # set on success
        try:
            data = _string_at(pointer)
        finally:
            self._free(pointer)
        return [Decision(d) for d in _scan_once(data.decode("utf-8"), 0)[0]["decisions"]]

    def logout(self, mvpd: str, redirect_url: str, device: Optional[Device] = None) -> Logout:
        """Logs the device out of ``mvpd``; the result says whether a user agent must open a URL."""
        return Logout(self._call(self._lib.passauth_logout, self._device(device), mvpd.encode("utf-8"),
                                 redirect_url.encode("utf-8")))

    def stats(self) -> Stats:
        """Request, retry, cache, connection and latency counters of this client."""
        result: Any = self._call(self._lib.passauth_stats)
        stats: Stats = result
        return stats


__all__ = ["Client", "Registration", "Mvpd", "Configuration", "Stats", "LatencyStats", "InvalidArgumentError"]
