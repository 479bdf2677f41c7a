"""Sessions APIs: create, resume, retrieve, and the user-agent authenticate
endpoint; plus completing an MVPD login for a code."""

from __future__ import annotations

import secrets
import uuid
from typing import Any, Dict, List, Optional
from urllib.parse import quote

from . import profiles, validation
from .catalog import MVPDS
from .errors import HtmlError
from .messages import Request, Response
from .state import Owner, Profile, Session, State

PARAMETERS = ("mvpd", "domainName", "redirectUrl")
SSO_TYPES = {"platformSSO", "serviceTokenSSO", "appleSSO"}


def authorize_answer(sp: str, mvpd_id: str, reason: str) -> Dict[str, Any]:
    return {"actionName": "authorize", "actionType": "direct", "reasonType": reason,
            "url": f"/api/v2/{sp}/decisions/authorize/{mvpd_id}",
            "sessionId": str(uuid.uuid4()), "mvpd": mvpd_id, "serviceProvider": sp}


def session_answer(session: Session, action_name: str, reason: str = "none") -> Dict[str, Any]:
    """An answer carrying the session's code; timestamps are strings of ms as
    in every sessions sample."""
    sp, code = session.service_provider, session.code
    missing = [p for p in PARAMETERS if p not in session.params]
    answer: Dict[str, Any]
    if action_name == "authenticate":
        answer = {"actionName": "authenticate", "actionType": "interactive", "reasonType": reason,
                  "url": f"/api/v2/authenticate/{sp}/{code}"}
    else:
        answer = {"actionName": action_name, "actionType": "direct", "reasonType": reason,
                  "url": f"/api/v2/{sp}/sessions/{code}", "missingParameters": missing}
    answer.update({"code": code, "sessionId": session.session_id})
    if "mvpd" in session.params:
        answer["mvpd"] = session.params["mvpd"]
    answer.update({"serviceProvider": sp, "notBefore": str(session.not_before),
                   "notAfter": str(session.not_after)})
    return answer


def shortcut(state: State, request: Request, sp: str, mvpd_id: str, device_id: str,
             owner_list: List[Owner]) -> Optional[Dict[str, Any]]:
    """The authorize answer when no MVPD login is needed, else None."""
    mvpd = validation.mvpd(mvpd_id)
    if mvpd.temp_pass:
        profiles.temp_pass_profile(state, request, mvpd, device_id)
        return authorize_answer(sp, mvpd.id, "temporary")
    if state.settings.degraded.get(mvpd.id) == "AuthNAll":
        return authorize_answer(sp, mvpd.id, "degraded")
    profile, _ = profiles.find(state, owner_list, mvpd.id)
    if profile:
        return authorize_answer(sp, mvpd.id,
                                "authenticatedSSO" if profile.type in SSO_TYPES else "authenticated")
    return None


def next_step(state: State, request: Request, session: Session, missing_action: str,
              owner_list: List[Owner]) -> Dict[str, Any]:
    mvpd_id = session.params.get("mvpd")
    if mvpd_id:
        answer = shortcut(state, request, session.service_provider, mvpd_id,
                          session.device_id, owner_list)
        if answer:
            return answer
    if any(p not in session.params for p in PARAMETERS):
        return session_answer(session, missing_action)
    return session_answer(session, "authenticate")


def handle_create(state: State, request: Request) -> Response:
    validation.require_access_token(state, request)
    sp = validation.service_provider(state, request)
    device_id = validation.device_identifier(request)
    info = validation.device_info(request)
    params = {k: v for k, v in validation.form(request).items() if k in PARAMETERS}
    sso = validation.sso_identity(request)
    owner_list = profiles.owners(request, device_id)
    if "mvpd" in params:
        answer = shortcut(state, request, sp, params["mvpd"], device_id, owner_list)
        if answer:
            return Response.json(200, answer)
    session = state.create_session(sp, device_id, info, params, sso)
    return Response.json(200, next_step(state, request, session, "resume", owner_list))


def handle_resume(state: State, request: Request) -> Response:
    validation.require_access_token(state, request)
    validation.service_provider(state, request)
    session = profiles.lookup_session(state, request.params["code"])
    for key, value in validation.form(request).items():
        if key in PARAMETERS:
            session.params[key] = value
    owner_list: List[Owner] = [session.sso or ("device", session.device_id)]
    return Response.json(200, next_step(state, request, session, "retry", owner_list))


def handle_get(state: State, request: Request) -> Response:
    validation.require_access_token(state, request)
    validation.service_provider(state, request)
    session = profiles.lookup_session(state, request.params["code"])
    answer: Dict[str, Any] = {}
    missing = [p for p in PARAMETERS if p not in session.params]
    if missing:
        answer["missingParameters"] = missing
    answer["existingParameters"] = {**session.params, "serviceProvider": session.service_provider}
    answer["device"] = device_description(session.device_info, request)
    answer["notBefore"] = str(session.not_before)
    answer["notAfter"] = str(session.not_after)
    return Response.json(200, answer)


def handle_authenticate(state: State, request: Request) -> Response:
    """The URL a user agent opens: redirects to the emulated MVPD login page.
    Errors are text/html as the docs say for this endpoint."""
    if request.params["serviceProvider"] not in state.settings.service_providers:
        raise HtmlError(400, "Unknown service provider.")
    session = state.sessions.get(request.params["code"])
    if session is None or session.not_after <= state.now():
        raise HtmlError(400, "Unknown or expired authentication code.")
    return Response.redirect(f"/_emulator/mvpd/login?code={quote(session.code)}")


def complete_login(state: State, session: Session, mvpd_id: Optional[str] = None,
                   user_id: Optional[str] = None,
                   attributes: Optional[Dict[str, Any]] = None) -> Optional[Profile]:
    """What the MVPD login does: store the profile for the session's device
    (or SSO identity).  Returns the profile, or None if no MVPD is known."""
    mvpd_id = mvpd_id or session.params.get("mvpd")
    if mvpd_id not in MVPDS:
        return None
    session.params["mvpd"] = mvpd_id
    metadata: Dict[str, Any] = {"userID": user_id or "user-" + secrets.token_hex(6)}
    metadata.update(attributes or {})
    kind = session.sso[0] if session.sso else "regular"
    profile = state.new_profile(mvpd_id, kind, mvpd_id, profiles.wrap_attributes(metadata))
    state.put_profile(session.sso or ("device", session.device_id), profile)
    session.completed = True
    session.completed_ms = state.now()
    return profile


def run_auto_logins(state: State) -> None:
    """Completes the MVPD login of every session whose autoLoginSeconds have passed, as a user
    would on the login page (the first provider of its picker when the session names none)."""
    for session in state.due_auto_logins():
        mvpd_id = session.params.get("mvpd")
        if mvpd_id not in MVPDS or MVPDS[mvpd_id].temp_pass:
            mvpd_id = next(m.id for m in MVPDS.values() if not m.temp_pass)
        complete_login(state, session, mvpd_id, "auto-login-user")


def version(text: Any) -> Dict[str, Any]:
    parts = [int(p) if p.isdigit() else 0 for p in str(text or "").split(".")[:3]]
    parts += [0] * (3 - len(parts))
    return {"major": parts[0], "minor": parts[1], "patch": parts[2], "profile": ""}


def known(**members: Any) -> Dict[str, Any]:
    """The members with a value (None: left out)."""
    return {name: value for name, value in members.items() if value is not None}


def device_description(info: Dict[str, Any], request: Request) -> Dict[str, Any]:
    """The "device" object of the retrieve-session sample, filled from the
    creating request's X-Device-Info.

    What the page's sample (rest-api-v2-sessions-apis-retrieve-authentication-
    session-information-using-code.md) shows as null when unknown stays null:
    model, hardware.name, display.vendor/version/diagonalSize, applicationId,
    connection.type. Any other string member the header does not give is left
    out, as Adobe's OpenAPI file types it a string (the sample has a value
    there). A diagonal size is a string (the file), the header's is a number."""
    user_agent = info.get("userAgent") or request.header("user-agent")
    diagonal = info.get("diagonalScreenSize")
    return {
        "type": info.get("primaryHardwareType", "Unknown"),
        "model": info.get("model"),
        "version": version(info.get("version")),
        "hardware": {"name": info.get("model"),
                     **known(vendor=info.get("vendor")),
                     "version": version(info.get("version")),
                     **known(manufacturer=info.get("manufacturer"))},
        "operatingSystem": {**known(name=info.get("osName"), family=info.get("osFamily"),
                                    vendor=info.get("osVendor")),
                            "version": version(info.get("osVersion"))},
        "browser": {**known(name=info.get("browserName"), vendor=info.get("browserVendor")),
                    "version": version(info.get("browserVersion")),
                    **known(userAgent=user_agent, originalUserAgent=user_agent)},
        "display": {"width": info.get("displayWidth", 0), "height": info.get("displayHeight", 0),
                    "ppi": info.get("displayPpi", 0), "name": "DISPLAY", "vendor": None,
                    "version": None, "diagonalSize": None if diagonal is None else str(diagonal)},
        "applicationId": info.get("applicationId"),
        "connection": {"ipAddress": info.get("connectionIp", request.client_ip),
                       "port": str(info.get("connectionPort", "")),
                       "secure": info.get("connectionSecure", False),
                       "type": info.get("connectionType")},
    }
