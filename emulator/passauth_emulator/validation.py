"""Checks shared by the REST API V2 handlers; each failure raises ApiError."""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional
from urllib.parse import parse_qsl

from .b64 import b64decode as b64decode  # re-exported: dcr, device_info, profiles, partner_sso
from .catalog import MVPDS, Mvpd
from .errors import ApiError
from .messages import Request
from .state import Owner, State

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


def b64json(value: Optional[str]) -> Optional[Dict[str, Any]]:
    """Decoded base64 JSON object, or None."""
    raw = b64decode(value) if value else None
    try:
        document = json.loads(raw) if raw else None
    except ValueError:
        return None
    return document if isinstance(document, dict) else None


def require_access_token(state: State, request: Request) -> None:
    scheme, _, token = (request.header("authorization") or "").partition(" ")
    if scheme.lower() != "bearer" or not state.valid_token(token.strip()):
        raise ApiError("invalid_access_token_client_application")


def service_provider(state: State, request: Request) -> str:
    sp = request.params["serviceProvider"]
    if sp not in state.settings.service_providers:
        raise ApiError("invalid_parameter_service_provider")
    return sp


def mvpd(mvpd_id: Optional[str]) -> Mvpd:
    if not mvpd_id:
        raise ApiError("invalid_parameter_mvpd")
    if mvpd_id not in MVPDS:
        raise ApiError("invalid_integration")
    return MVPDS[mvpd_id]


def device_identifier(request: Request, required: bool = True) -> str:
    """The identifier from ``AP-Device-Identifier: fingerprint <base64>`` ("" when not
    required and absent)."""
    value = request.header("ap-device-identifier")
    if value is None and not required:
        return ""
    kind, _, encoded = (value or "").strip().partition(" ")
    if kind != "fingerprint" or not encoded.strip() or not b64decode(encoded):
        raise ApiError("invalid_header_device_identifier")
    return encoded.strip()


def device_info(request: Request) -> Dict[str, Any]:
    """X-Device-Info is optional in practice (the checklist says omitting it
    only degrades platform detection); when sent it must be base64.  Its JSON
    is not enforced because the docs' own sample value is not valid JSON."""
    value = request.header("x-device-info")
    if value is None:
        return {}
    raw = b64decode(value)
    if not raw:
        raise ApiError("invalid_header_device_info")
    try:
        document = json.loads(raw)
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}


def content_type(request: Request, expected: str) -> None:
    if request.content_type() != expected:
        raise ApiError("invalid_header_content_type")


def form(request: Request) -> Dict[str, str]:
    content_type(request, FORM)
    pairs = parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True)
    return {k: v for k, v in pairs if v != ""}


def resources(request: Request) -> List[str]:
    content_type(request, JSON)
    try:
        document = json.loads(request.body)
    except ValueError:
        raise ApiError("invalid_parameter_resources") from None
    items = document.get("resources") if isinstance(document, dict) else None
    if (not isinstance(items, list) or not items
            or not all(isinstance(r, str) and r for r in items)):
        raise ApiError("invalid_parameter_resources")
    return items


def sso_identity(request: Request) -> Optional[Owner]:
    """(profile type, user identity) for a single sign-on header, if any.

    The identity is the token's ``sub`` claim when it is a readable JWT,
    otherwise the whole header value (the docs' sample tokens are elided)."""
    for header, kind in (("adobe-subject-token", "platformSSO"),
                         ("x-roku-reserved-roku-connect-token", "platformSSO"),
                         ("ad-service-token", "serviceTokenSSO")):
        value = (request.header(header) or "").strip()
        if value:
            parts = value.split(".")
            claims = b64json(parts[1]) if len(parts) == 3 else None
            subject = claims.get("sub") if claims else None
            return kind, str(subject) if subject else value
    return None
