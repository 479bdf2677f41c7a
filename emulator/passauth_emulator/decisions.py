"""Decisions APIs: authorize (with media token) and preauthorize."""

from __future__ import annotations

import base64
import uuid
from typing import Any, Dict, List, Optional

from . import profiles, validation
from .catalog import Mvpd
from .errors import ApiError, enhanced
from .messages import Request, Response
from .state import Profile, State, raw_device_id


def media_token(state: State, sp: str, mvpd_id: str, resource: str) -> Dict[str, Any]:
    now = state.now()
    not_after = now + int(state.settings.media_token_ttl * 1000)
    xml = (f'<signatureInfo><authToken><sessionGUID>{uuid.uuid4()}</sessionGUID>'
           f'<requestorID>{sp}</requestorID><resourceID>{resource}</resourceID>'
           f'<ttl>{not_after - now}</ttl><issueTime>{now}</issueTime>'
           f'<mvpdId>{mvpd_id}</mvpdId></authToken></signatureInfo>')
    return {"notBefore": now, "notAfter": not_after,
            "serializedToken": base64.b64encode(xml.encode()).decode()}


def deny_rule(state: State, mvpd_id: str, resource: str, kind: str) -> Optional[Dict[str, Any]]:
    for rule in state.settings.deny_rules:
        if (rule.get("resource") in (None, resource) and rule.get("mvpd") in (None, mvpd_id)
                and rule.get("decision", kind) == kind):
            return rule
    return None


def decide(state: State, request: Request, kind: str) -> Response:
    """Shared body of both endpoints; kind is "authorize" or "preauthorize"."""
    validation.require_access_token(state, request)
    sp = validation.service_provider(state, request)
    resources = validation.resources(request)
    device_id = validation.device_identifier(request)
    validation.device_info(request)
    mvpd = validation.mvpd(request.params["mvpd"])
    limit = (state.settings.max_resources_authorize if kind == "authorize"
             else state.settings.max_resources_preauthorize)
    if len(resources) > limit:
        # "usually up to 1" (authorize) / "up to 5" (preauthorize) resources per request (FAQ, cookbooks).
        raise ApiError("too_many_resources")
    rule = state.settings.degraded.get(mvpd.id)
    source = "mvpd"
    temp_usage: Optional[Dict[str, Any]] = None
    failure: Optional[Dict[str, Any]] = None
    profile: Optional[Profile] = None

    if mvpd.temp_pass:
        source = "temppass"
        try:
            _, temp_usage = profiles.temp_pass_profile(state, request, mvpd, device_id)
        except ApiError as problem:
            failure = problem.body  # TempPass failures are item-level in the samples
    elif rule == "AuthNAll":
        source = "degradation"
    else:
        mark = state.profile_mark(device_id, mvpd.id)
        if mark is not None and not mark["itemLevel"]:
            raise ApiError(mark["code"])
        if mark is not None:
            failure = enhanced(mark["code"])
        profile, expired = profiles.find(state, profiles.owners(request, device_id), mvpd.id)
        if profile is None and failure is None:
            raise ApiError("authenticated_profile_expired" if expired else "authenticated_profile_missing")
        if rule in ("AuthZAll", "AuthZNone"):
            source = "degradation"

    now = state.now()
    decisions: List[Dict[str, Any]] = []
    for resource in resources:
        item: Dict[str, Any] = {"resource": resource, "serviceProvider": sp, "mvpd": mvpd.id, "source": source}
        error = failure
        if error is None:
            error = item_retry(state, mvpd.id, resource, kind)
        if error is None and rule == "AuthZNone" and not mvpd.temp_pass:
            error = enhanced("authorization_denied_by_degradation_rule")
        if error is None and temp_usage is not None:
            error = spend_temp_pass(state, mvpd, temp_usage, resource)
        if error is None and source == "mvpd":
            denied = deny_rule(state, mvpd.id, resource, kind)
            if denied:
                default = "authorization_denied_by_mvpd" if kind == "authorize" else "preauthorization_denied_by_mvpd"
                error = enhanced(denied.get("code", default), details=denied.get("details"))
        item["authorized"] = error is None
        if error is not None:
            item["error"] = error
        elif kind == "authorize":
            item["token"] = media_token(state, sp, mvpd.id, resource)
        if kind == "authorize":
            item["notBefore"] = now
            item["notAfter"] = now + int(state.settings.decision_ttl * 1000)
        decisions.append(item)
    if kind == "authorize" and profile is not None and any(d["authorized"] for d in decisions):
        update_attributes(state, profile, device_id)
    return Response.json(200, {"decisions": decisions})


def item_retry(state: State, mvpd_id: str, resource: str, kind: str) -> Optional[Dict[str, Any]]:
    """An item-level error with action "retry" while an itemRetry rule for this decision has uses left."""
    for rule in state.settings.item_retry:
        if (rule.get("resource") in (None, resource) and rule.get("mvpd") in (None, mvpd_id)
                and rule.get("decision", kind) == kind and rule["count"] > 0):
            rule["count"] -= 1
            if rule["count"] <= 0:
                state.settings.item_retry.remove(rule)
            return enhanced(rule["code"])
    return None


def update_attributes(state: State, profile: Profile, device_id: str) -> None:
    """Some MVPDs update user metadata during authorization (FAQ authentication 8): the rules of
    attributesOnAuthorize change the profile a successful authorization used."""
    raw = raw_device_id(device_id) if device_id else ""
    for rule in state.settings.attributes_on_authorize:
        if rule.get("deviceId") in (None, raw) and rule.get("mvpd") in (None, profile.mvpd):
            profile.attributes.update(profiles.wrap_attributes(rule["attributes"]))


def spend_temp_pass(state: State, mvpd: Mvpd, usage: Dict[str, Any],
                    resource: str) -> Optional[Dict[str, Any]]:
    """Promotional TempPass counts distinct resources against its limit."""
    limit = state.settings.temp_pass_max_resources
    if not (mvpd.promotional and limit) or resource in usage["resources"]:
        return None
    if len(usage["resources"]) >= limit:
        return enhanced("temporary_access_resources_limit_exceeded")
    usage["resources"].append(resource)
    return None


def handle_authorize(state: State, request: Request) -> Response:
    return decide(state, request, "authorize")


def handle_preauthorize(state: State, request: Request) -> Response:
    return decide(state, request, "preauthorize")
