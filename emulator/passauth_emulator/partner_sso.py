"""Partner single sign-on APIs (Apple): partner authentication request and
profile creation from the partner authentication response."""

from __future__ import annotations

import base64
import uuid
from typing import Any, Dict, Optional, Tuple

from . import profiles, sessions, validation
from .catalog import Mvpd, mvpd_for_platform_mapping
from .errors import ApiError
from .messages import Request, Response
from .state import State

PARTNERS = {"Apple"}
SAML_ATTRIBUTES = ["uid", "NameID", "uniqueId"]


def partner(request: Request) -> str:
    name = request.params["partner"]
    if name not in PARTNERS:
        raise ApiError("invalid_parameter_partner")
    return name


def framework_status(state: State, request: Request) -> Tuple[Mvpd, int]:
    """The MVPD named by a usable AP-Partner-Framework-Status header; raises
    the documented invalid_header_pfs_* errors otherwise."""
    status = validation.b64json(request.header("ap-partner-framework-status") or "")
    permission = (status or {}).get("frameworkPermissionInfo") or {}
    access = permission.get("accessStatus")
    if not access:
        raise ApiError("invalid_header_pfs_permission_access_not_present")
    if access == "notDetermined":
        raise ApiError("invalid_header_pfs_permission_access_not_determined")
    if access != "granted":
        raise ApiError("invalid_header_pfs_permission_access_not_granted")
    provider: Dict[str, Any] = (status or {}).get("frameworkProviderInfo") or {}
    mvpd = mvpd_for_platform_mapping(provider.get("id"))
    if mvpd is None:
        raise ApiError("invalid_header_pfs_provider_id_not_determined")
    try:
        expires = int(provider.get("expirationDate", ""))
    except (TypeError, ValueError):
        raise ApiError("invalid_header_pfs_provider_info_expired") from None
    if expires <= state.now():
        raise ApiError("invalid_header_pfs_provider_info_expired")
    return mvpd, expires


def handle_session(state: State, request: Request) -> Response:
    validation.require_access_token(state, request)
    sp = validation.service_provider(state, request)
    partner(request)
    device_id = validation.device_identifier(request)
    info = validation.device_info(request)
    params = {k: v for k, v in validation.form(request).items()
              if k in ("domainName", "redirectUrl")}
    mvpd: Optional[Mvpd]
    try:
        mvpd, _ = framework_status(state, request)
    except ApiError:
        mvpd, reason = None, "pfs_fallback"
    else:
        reason = "none" if mvpd.apple_sso else "configuration_fallback"
        params["mvpd"] = mvpd.id

    if mvpd is not None:
        answer = sessions.shortcut(state, request, sp, mvpd.id, device_id,
                                   profiles.owners(request, device_id))
        if answer:
            return Response.json(200, answer)
    if mvpd is not None and reason == "none" and all(k in params for k in ("domainName", "redirectUrl")):
        return Response.json(200, {
            "actionName": "partner_profile", "actionType": "direct", "reasonType": "none",
            "url": f"/api/v2/{sp}/profiles/sso/{request.params['partner']}",
            "sessionId": str(uuid.uuid4()), "mvpd": mvpd.id, "serviceProvider": sp,
            "authenticationRequest": {"type": "saml", "request": saml_request(sp, mvpd.id),
                                      "attributesNames": SAML_ATTRIBUTES}})
    # Fall back to the basic authentication flow with a code.
    session = state.create_session(sp, device_id, info, params, None)
    if any(p not in session.params for p in ("domainName", "redirectUrl")):
        return Response.json(200, sessions.session_answer(session, "resume", "missing_parameters_fallback"))
    return Response.json(200, sessions.session_answer(session, "authenticate", reason))


def saml_request(sp: str, mvpd_id: str) -> str:
    xml = (f'<?xml version="1.0" encoding="UTF-8"?><samlp:AuthnRequest '
           f'xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_{uuid.uuid4().hex}" '
           f'Version="2.0" Destination="{mvpd_id}"><saml:Issuer '
           f'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">{sp}</saml:Issuer>'
           f'</samlp:AuthnRequest>')
    return base64.b64encode(xml.encode()).decode()


def handle_profile(state: State, request: Request) -> Response:
    validation.require_access_token(state, request)
    validation.service_provider(state, request)
    partner(request)
    device_id = validation.device_identifier(request)
    validation.device_info(request)
    form = validation.form(request)
    mvpd, expires = framework_status(state, request)
    saml = validation.b64decode(form.get("SAMLResponse", ""))
    if not saml:
        raise ApiError("invalid_parameter_saml_response")
    if state.settings.degraded.get(mvpd.id) == "AuthNAll":
        profile = profiles.degraded_profile(state, mvpd.id, device_id)
    else:
        profile = state.new_profile(mvpd.id, "appleSSO", "Apple", profiles.wrap_attributes(
            {"userID": "apple-" + uuid.uuid5(uuid.NAMESPACE_OID, saml.hex()).hex[:16]}))
        profile.not_after = min(profile.not_after, expires)
        state.put_profile(("device", device_id), profile)
    return Response.json(201, {"profiles": {mvpd.id: profiles.to_json(profile)}})
