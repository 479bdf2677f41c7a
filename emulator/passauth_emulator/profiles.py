"""Profiles: who is authenticated with which MVPD, and the Profiles APIs.

A profile belongs to an owner: ``("device", <AP-Device-Identifier>)`` for
basic authentication, or ``(<SSO type>, <user identity>)`` when the login was
made with a single sign-on header, so that any device presenting the same
header sees it (platformSSO / serviceTokenSSO).
"""

from __future__ import annotations

import hashlib
from typing import Any, Dict, List, Optional, Tuple

from . import validation
from .catalog import MVPDS, Mvpd
from .errors import ApiError
from .messages import Request, Response
from .state import Owner, Profile, Session, State

DEGRADED_PREFIX = "95cf93bcd183214a"  # "a degradation specific prefix" (docs)


def wrap_attributes(values: Dict[str, Any]) -> Dict[str, Any]:
    """User metadata in the docs' {"value": ..., "state": "plain"} form."""
    return {k: v if isinstance(v, dict) and "value" in v else {"value": v, "state": "plain"}
            for k, v in values.items()}


def to_json(profile: Profile) -> Dict[str, Any]:
    return {"notBefore": profile.not_before, "notAfter": profile.not_after,
            "issuer": profile.issuer, "type": profile.type, "attributes": profile.attributes}


def owners(request: Request, device_id: str) -> List[Owner]:
    found: List[Owner] = [("device", device_id)] if device_id else []
    sso = validation.sso_identity(request)
    if sso:
        found.append(sso)
    return found


def find(state: State, owner_list: List[Owner], mvpd_id: str) -> Tuple[Optional[Profile], bool]:
    """(valid profile or None, whether an expired one was found)."""
    expired = False
    for owner in owner_list:
        profile = state.profiles.get(owner, {}).get(mvpd_id)
        if profile is None:
            continue
        if profile.not_after > state.now():
            return profile, False
        expired = True
    return None, expired


def valid_profiles(state: State, owner_list: List[Owner]) -> Dict[str, Profile]:
    found: Dict[str, Profile] = {}
    for owner in owner_list:
        for mvpd_id, profile in state.profiles.get(owner, {}).items():
            if mvpd_id not in found and profile.not_before <= state.now() < profile.not_after:
                found[mvpd_id] = profile
    return found


def degraded_profile(state: State, mvpd_id: str, device_id: str) -> Profile:
    """The synthetic profile an AuthNAll degradation rule grants."""
    profile = state.new_profile(mvpd_id, "degraded", "Adobe", {}, ttl_s=state.settings.decision_ttl)
    digest = hashlib.sha1((device_id or "").encode()).hexdigest()
    profile.attributes = wrap_attributes({"userID": DEGRADED_PREFIX + digest})
    return profile


def temp_pass_profile(state: State, request: Request, mvpd: Mvpd,
                      device_id: str) -> Tuple[Profile, Dict[str, Any]]:
    """Start or continue TempPass for this device (basic) or identity
    (promotional); raises once its duration is used up."""
    if mvpd.promotional:
        identity = validation.b64decode(request.header("ap-temppass-identity") or "")
        if not identity:
            raise ApiError("invalid_header_identity_for_temporary_access")
        key = ("identity", identity.decode("utf-8", "replace"), mvpd.id)
    else:
        key = ("device", device_id, mvpd.id)
    now = state.now()
    usage = state.temp_pass.setdefault(key, {"first": now, "resources": []})
    expires: int = usage["first"] + int(state.settings.temp_pass_ttl * 1000)
    if now >= expires:
        raise ApiError("temporary_access_duration_limit_exceeded")
    attributes: Dict[str, Any] = {"expiration_date": expires,
                  "userID": "temppass_" + hashlib.sha1(repr(key).encode()).hexdigest()}
    if mvpd.promotional:
        limit = state.settings.temp_pass_max_resources
        if limit:
            attributes = {"remaining_resources": max(0, limit - len(usage["resources"])),
                          "used_assets": list(usage["resources"]), **attributes}
    profile = state.new_profile(mvpd.id, "temporary", "Adobe", wrap_attributes(attributes))
    profile.not_before, profile.not_after = usage["first"], expires
    return profile, usage


def special_profile(state: State, request: Request, mvpd_id: str, device_id: str) -> Optional[Profile]:
    """Profile granted without MVPD login (TempPass, AuthNAll), or None."""
    mvpd = MVPDS.get(mvpd_id)
    if mvpd and mvpd.temp_pass:
        return temp_pass_profile(state, request, mvpd, device_id)[0]
    if state.settings.degraded.get(mvpd_id) == "AuthNAll":
        return degraded_profile(state, mvpd_id, device_id)
    return None


def handle_all(state: State, request: Request) -> Response:
    validation.require_access_token(state, request)
    validation.service_provider(state, request)
    device_id = validation.device_identifier(request)
    validation.device_info(request)
    found = valid_profiles(state, owners(request, device_id))
    # A profile marked by /_emulator/invalidate-profile is left out: this endpoint's documented
    # statuses have no 403, unlike the profile-for-MVPD and profile-for-code ones; unless the mark
    # asks for the error here too (profilesList "error").
    for mvpd_id in sorted(MVPDS):
        mark = state.profile_mark(device_id, mvpd_id)
        if mark is not None and mark["profilesList"] == "error":
            raise ApiError(mark["code"])
    return Response.json(200, {"profiles": {m: to_json(p) for m, p in found.items()
                                            if state.profile_mark(device_id, m) is None}})


def handle_mvpd(state: State, request: Request) -> Response:
    validation.require_access_token(state, request)
    validation.service_provider(state, request)
    device_id = validation.device_identifier(request)
    validation.device_info(request)
    mvpd = validation.mvpd(request.params["mvpd"])
    mark = state.profile_mark(device_id, mvpd.id)
    if mark is not None:
        raise ApiError(mark["code"])
    profile = special_profile(state, request, mvpd.id, device_id)
    if profile is None:
        profile, _ = find(state, owners(request, device_id), mvpd.id)
    return Response.json(200, {"profiles": {mvpd.id: to_json(profile)} if profile else {}})


def handle_code(state: State, request: Request) -> Response:
    validation.require_access_token(state, request)
    validation.service_provider(state, request)
    session = lookup_session(state, request.params["code"])
    mvpd_id = session.params.get("mvpd")
    profile: Optional[Profile] = None
    mark = state.profile_mark(session.device_id, mvpd_id) if mvpd_id else None
    if mark is not None and session.completed and session.completed_ms <= mark["setMs"]:
        raise ApiError(mark["code"])  # the profile this code's login made was invalidated since
    if mvpd_id:
        profile = special_profile(state, request, mvpd_id, session.device_id)
        if profile is None and session.completed:
            profile, _ = find(state, [session.sso or ("device", session.device_id)], mvpd_id)
    return Response.json(200, {"profiles": {mvpd_id: to_json(profile)} if profile else {}})


def lookup_session(state: State, code: str) -> Session:
    """The unexpired session for a code (sessions and profiles APIs)."""
    if not code.isalnum():
        raise ApiError("invalid_parameter_code")
    session = state.sessions.get(code)
    if session is None or session.not_after <= state.now():
        raise ApiError("invalid_authentication_session")
    return session
