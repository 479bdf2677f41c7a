"""Control API for tests, under /_emulator/ (JSON in and out, no auth, never
throttled, never logged or counted as service traffic)."""

from __future__ import annotations

import base64
import json
from typing import Any, Callable, Dict, List, Tuple

from . import mvpd_pages, profiles, sessions
from .catalog import MVPDS
from .faults import Fault, FaultQueue
from .messages import Request, Response
from .state import RETRY_CODES, SECRET_ENCODINGS, Owner, State
from .throttle import Throttle

JsonObject = Dict[str, Any]

DEGRADATION_RULES = {"AuthNAll", "AuthZAll", "AuthZNone"}
DECISION_KINDS = {"authorize", "preauthorize"}
PROFILE_ERROR_CODES = {"authenticated_profile_missing", "authenticated_profile_expired",
                       "authenticated_profile_invalidated"}
PROFILE_TYPES = {"regular", "platformSSO", "serviceTokenSSO", "appleSSO"}
TTL_KEYS = {"tokenTtlSeconds": "token_ttl", "codeTtlSeconds": "code_ttl",
            "profileTtlSeconds": "profile_ttl", "decisionTtlSeconds": "decision_ttl",
            "mediaTokenTtlSeconds": "media_token_ttl"}


class ControlError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


class Control:
    def __init__(self, state: State, faults: FaultQueue, throttle: Throttle) -> None:
        self.state, self.faults, self.throttle = state, faults, throttle
        self.routes: Dict[Tuple[str, str], Callable[[JsonObject], JsonObject]] = {
            ("POST", "reset"): self.reset,
            ("GET", "requests"): self.requests,
            ("GET", "stats"): self.stats,
            ("GET", "state"): self.debug_state,
            ("GET", "config"): self.get_config,
            ("POST", "config"): self.set_config,
            ("POST", "login"): self.login,
            ("POST", "profiles"): self.create_profile,
            ("POST", "invalidate-profile"): self.invalidate_profile,
            ("POST", "advance"): self.advance,
            ("GET", "faults"): self.list_faults,
            ("POST", "faults"): self.add_faults,
            ("DELETE", "faults"): self.clear_faults,
            ("POST", "expire-tokens"): self.expire_tokens,
            ("POST", "revoke-clients"): self.revoke_clients,
        }

    def handle(self, request: Request) -> Response:
        name = request.path[len("/_emulator/"):].strip("/")
        if name.startswith("mvpd/"):
            with self.state.lock:
                return mvpd_pages.handle(self.state, request, name[len("mvpd/"):])
        action = self.routes.get((request.method, name))
        if action is None:
            known = any(path == name for _, path in self.routes)
            return Response.json(405 if known else 404, {"error": "no such control call"})
        try:
            document = json.loads(request.body) if request.body.strip() else {}
            if not isinstance(document, dict):
                raise ControlError(400, "the body must be a JSON object")
            with self.state.lock:
                sessions.run_auto_logins(self.state)
                return Response.json(200, action(document))
        except ValueError as error:  # includes JSON errors
            return Response.json(400, {"error": str(error)})
        except ControlError as error:
            return Response.json(error.status, {"error": error.message})

    def reset(self, _: JsonObject) -> JsonObject:
        self.state.reset()
        self.faults.clear()
        self.throttle.reset()
        return {"reset": True}

    def requests(self, _: JsonObject) -> JsonObject:
        return {"requests": list(self.state.requests)}

    def stats(self, _: JsonObject) -> JsonObject:
        counters = self.state.counters
        return {"requests": dict(self.state.endpoint_counts),
                **{k: counters[k] for k in ("connections", "registrations", "tokensIssued",
                                            "throttled", "faultsInjected")}}

    def debug_state(self, _: JsonObject) -> JsonObject:
        return self.state.snapshot()

    def get_config(self, _: Any) -> JsonObject:
        s = self.state.settings
        return {"throttle": s.throttle, "throttleRatePerSecond": self.throttle.rate,
                "throttleBurst": int(self.throttle.capacity) - 1,
                **{key: getattr(s, attr) for key, attr in TTL_KEYS.items()},
                "tempPass": {"durationSeconds": s.temp_pass_ttl, "maxResources": s.temp_pass_max_resources},
                "unapprovedSoftwareStatements": sorted(s.unapproved_statements),
                "denyRules": s.deny_rules, "degraded": s.degraded,
                "serviceProviders": sorted(s.service_providers),
                "maxResourcesAuthorize": s.max_resources_authorize,
                "maxResourcesPreauthorize": s.max_resources_preauthorize,
                "itemRetry": s.item_retry, "attributesOnAuthorize": s.attributes_on_authorize,
                "clockOffsetMs": s.clock_offset_ms, "autoLoginSeconds": s.auto_login_seconds,
                "clientSecretBytes": s.client_secret_bytes, "accessTokenBytes": s.access_token_bytes,
                "secretEncoding": s.secret_encoding}

    def set_config(self, document: JsonObject) -> JsonObject:
        s = self.state.settings
        for key, value in document.items():
            if key == "throttle":
                s.throttle = bool(value)
            elif key == "throttleRatePerSecond":
                if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1000:
                    raise ControlError(400, "throttleRatePerSecond must be a number in (0, 1000]")
                self.throttle.configure(rate=value)
            elif key == "throttleBurst":
                if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 1000:
                    raise ControlError(400, "throttleBurst must be an integer in [1, 1000]")
                self.throttle.configure(burst=value)
            elif key in TTL_KEYS:
                setattr(s, TTL_KEYS[key], _seconds(key, value))
            elif key == "tempPass":
                value = value or {}
                s.temp_pass_ttl = _seconds(key, value.get("durationSeconds", s.temp_pass_ttl))
                s.temp_pass_max_resources = int(value.get("maxResources", s.temp_pass_max_resources))
            elif key == "unapprovedSoftwareStatements":
                s.unapproved_statements = {"".join(str(v).split()) for v in value or []}
            elif key == "denyRules":
                if not all(isinstance(r, dict) for r in value or []):
                    raise ControlError(400, "denyRules must be a list of objects")
                s.deny_rules = list(value or [])
            elif key == "degraded":
                value = value or {}
                if not all(m in MVPDS and r in DEGRADATION_RULES for m, r in value.items()):
                    raise ControlError(400, f"degraded maps an MVPD id to one of {sorted(DEGRADATION_RULES)}")
                s.degraded = dict(value)
            elif key == "serviceProviders":
                s.service_providers = set(value or [])
            elif key in ("maxResourcesAuthorize", "maxResourcesPreauthorize"):
                limit = _integer(key, value, 1, 10_000)
                if key == "maxResourcesAuthorize":
                    s.max_resources_authorize = limit
                else:
                    s.max_resources_preauthorize = limit
            elif key == "itemRetry":
                s.item_retry = [_item_retry(rule) for rule in _list(key, value)]
            elif key == "attributesOnAuthorize":
                s.attributes_on_authorize = [_attribute_update(rule) for rule in _list(key, value)]
            elif key == "clockOffsetMs":
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise ControlError(400, "clockOffsetMs must be a number of milliseconds (may be negative)")
                s.clock_offset_ms = value
            elif key == "autoLoginSeconds":
                s.auto_login_seconds = None if value is None else _seconds(key, value)
            elif key in ("clientSecretBytes", "accessTokenBytes"):
                size = _integer(key, value, 1, 1024)
                if key == "clientSecretBytes":
                    s.client_secret_bytes = size
                else:
                    s.access_token_bytes = size
            elif key == "secretEncoding":
                if value not in SECRET_ENCODINGS:
                    raise ControlError(400, f"secretEncoding must be one of {list(SECRET_ENCODINGS)}")
                s.secret_encoding = value
            else:
                raise ControlError(400, f"unknown config key {key!r}")
        return self.get_config(None)

    def login(self, document: JsonObject) -> JsonObject:
        session = self.state.sessions.get(str(document.get("code", "")))
        if session is None:
            raise ControlError(404, "unknown code")
        if session.not_after <= self.state.now():
            raise ControlError(410, "code expired")
        attributes = document.get("attributes") or {}
        if not isinstance(attributes, dict):
            raise ControlError(400, "attributes must be an object")
        profile = sessions.complete_login(self.state, session, document.get("mvpd"),
                                          document.get("userId"), attributes)
        if profile is None:
            raise ControlError(400, "the session has no known MVPD; pass one as \"mvpd\"")
        return {"code": session.code, "mvpd": profile.mvpd, "profile": profiles.to_json(profile)}

    def create_profile(self, document: JsonObject) -> JsonObject:
        """An authenticated profile for a device (or SSO identity) without a
        session and MVPD login: what a completed login leaves behind."""
        device_id, mvpd_id = document.get("deviceId"), document.get("mvpd")
        if not isinstance(device_id, str) or not device_id:
            raise ControlError(400, "deviceId must be the raw device id (a non-empty string)")
        if mvpd_id not in MVPDS:
            raise ControlError(400, f"unknown mvpd {mvpd_id!r}")
        kind = document.get("type", "regular")
        if kind not in PROFILE_TYPES:
            raise ControlError(400, f"type must be one of {sorted(PROFILE_TYPES)}")
        attributes = document.get("attributes") or {}
        if not isinstance(attributes, dict):
            raise ControlError(400, "attributes must be an object")
        metadata: JsonObject = {"userID": document.get("userId") or "user-" + device_id[:16]}
        metadata.update(attributes)
        ttl = document.get("ttlSeconds")
        profile = self.state.new_profile(mvpd_id, kind, mvpd_id, profiles.wrap_attributes(metadata),
                                         ttl_s=None if ttl is None else _seconds("ttlSeconds", ttl))
        # The same owner key the service endpoints derive from AP-Device-Identifier.
        owner: Owner = ("device", base64.b64encode(device_id.encode()).decode())
        self.state.put_profile(owner, profile)
        return {"deviceId": device_id, "mvpd": mvpd_id, "profile": profiles.to_json(profile)}

    def invalidate_profile(self, document: JsonObject) -> JsonObject:
        """Marks a device's profile for an MVPD as missing, expired or invalidated: the stored
        profile goes, and the profile and decision calls of that device for that MVPD answer the
        code until a new login (or "code": null)."""
        device_id, mvpd_id = document.get("deviceId"), document.get("mvpd")
        if not isinstance(device_id, str) or not device_id:
            raise ControlError(400, "deviceId must be the raw device id (a non-empty string)")
        if mvpd_id not in MVPDS:
            raise ControlError(400, f"unknown mvpd {mvpd_id!r}")
        code = document.get("code", "authenticated_profile_invalidated")
        key = (device_id, str(mvpd_id))
        if code is None:
            self.state.profile_marks.pop(key, None)
            return {"deviceId": device_id, "mvpd": mvpd_id, "code": None, "itemLevel": False,
                    "profilesList": "omit"}
        if code not in PROFILE_ERROR_CODES:
            raise ControlError(400, f"code must be one of {sorted(PROFILE_ERROR_CODES)} or null")
        item_level = document.get("itemLevel", False)
        if not isinstance(item_level, bool):
            raise ControlError(400, "itemLevel must be a boolean")
        in_list = document.get("profilesList", "omit")
        if in_list not in ("omit", "error"):
            raise ControlError(400, "profilesList must be \"omit\" or \"error\"")
        owner: Owner = ("device", base64.b64encode(device_id.encode()).decode())
        self.state.profiles.get(owner, {}).pop(str(mvpd_id), None)
        self.state.profile_marks[key] = {"code": code, "itemLevel": item_level, "profilesList": in_list,
                                         "setMs": self.state.now()}
        return {"deviceId": device_id, "mvpd": mvpd_id, "code": code, "itemLevel": item_level,
                "profilesList": in_list}

    def advance(self, document: JsonObject) -> JsonObject:
        self.state.clock.advance(_seconds("seconds", document.get("seconds", 0)))
        return {"nowMs": self.state.now()}

    def list_faults(self, _: JsonObject) -> JsonObject:
        return {"faults": self.faults.pending()}

    def add_faults(self, document: JsonObject) -> JsonObject:
        specs = document.get("faults")
        if not isinstance(specs, list):
            raise ControlError(400, "expected {\"faults\": [...]}")
        try:
            parsed = [Fault.parse(spec) for spec in specs]
        except (ValueError, TypeError) as error:
            raise ControlError(400, str(error)) from None
        self.faults.add(parsed)
        return {"faults": self.faults.pending()}

    def clear_faults(self, _: JsonObject) -> JsonObject:
        self.faults.clear()
        return {"faults": []}

    def expire_tokens(self, _: JsonObject) -> JsonObject:
        now = self.state.now()
        for token in self.state.tokens.values():
            token.expires_ms = min(token.expires_ms, now)
        return {"expired": len(self.state.tokens)}

    def revoke_clients(self, _: JsonObject) -> JsonObject:
        revoked = len(self.state.clients)
        self.state.clients.clear()
        return {"revoked": revoked}


def _integer(key: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ControlError(400, f"{key} must be an integer in [{low}, {high}]")
    return value


def _list(key: str, value: Any) -> List[JsonObject]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise ControlError(400, f"{key} must be a list of objects")
    return value


def _item_retry(rule: JsonObject) -> JsonObject:
    unknown = set(rule) - {"resource", "mvpd", "decision", "count", "code"}
    if unknown:
        raise ControlError(400, f"itemRetry: unknown keys {sorted(unknown)}")
    if rule.get("decision") not in (None, *DECISION_KINDS):
        raise ControlError(400, "itemRetry: decision must be \"authorize\" or \"preauthorize\"")
    code = rule.get("code", RETRY_CODES[0])
    if code not in RETRY_CODES:
        raise ControlError(400, f"itemRetry: code must be one of {list(RETRY_CODES)}")
    return {**rule, "count": _integer("itemRetry count", rule.get("count", 1), 1, 1_000_000), "code": code}


def _attribute_update(rule: JsonObject) -> JsonObject:
    unknown = set(rule) - {"deviceId", "mvpd", "attributes"}
    if unknown:
        raise ControlError(400, f"attributesOnAuthorize: unknown keys {sorted(unknown)}")
    if not isinstance(rule.get("attributes"), dict) or not rule["attributes"]:
        raise ControlError(400, "attributesOnAuthorize: attributes must be a non-empty object")
    return dict(rule)


def _seconds(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ControlError(400, f"{key} must be a non-negative number of seconds")
    return value
