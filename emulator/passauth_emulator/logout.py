"""Logout API: deletes the profiles for one MVPD and says what is left to do."""

from __future__ import annotations

from typing import Dict, List
from urllib.parse import urlencode

from . import profiles, validation
from .errors import ApiError
from .messages import Request, Response
from .state import Profile, State


def handle(state: State, request: Request) -> Response:
    validation.require_access_token(state, request)
    sp = validation.service_provider(state, request)
    device_id = validation.device_identifier(request)
    validation.device_info(request)
    mvpd = validation.mvpd(request.params["mvpd"])
    redirect_url = request.query_params().get("redirectUrl")
    if not redirect_url:
        raise ApiError("invalid_parameter_redirect_url")

    removed: List[Profile] = []
    for owner in profiles.owners(request, device_id):
        profile = state.profiles.get(owner, {}).pop(mvpd.id, None)
        if profile and profile.not_after > state.now():
            removed.append(profile)

    # TempPass and degraded access have nothing to log out of at the MVPD.
    action: Dict[str, str]
    if mvpd.temp_pass or state.settings.degraded.get(mvpd.id) == "AuthNAll":
        action = {"actionName": "complete", "actionType": "none"}
    elif not removed:
        action = {"actionName": "invalid", "actionType": "none"}
    elif any(p.type == "appleSSO" for p in removed):
        action = {"actionName": "partner_logout", "actionType": "partner_interactive"}
    elif mvpd.has_logout:
        query = urlencode({"requestor_id": sp, "mso_id": mvpd.id, "redirect_url": redirect_url})
        action = {"actionName": "logout", "actionType": "interactive", "mvpd": mvpd.id,
                  "url": f"/_emulator/mvpd/logout?{query}"}
    else:
        action = {"actionName": "complete", "actionType": "none"}
    action.setdefault("mvpd", mvpd.id)
    return Response.json(200, {"logouts": {mvpd.id: action}})
