"""The service's URL space: path pattern -> method -> (endpoint name, handler).

Endpoint names are the ones used by the request log, the stats and the
``endpoint`` filter of injected faults.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Pattern, Tuple

from . import configuration, dcr, decisions, logout, partner_sso, profiles, sessions
from .messages import Request, Response
from .state import State

Handler = Callable[[State, Request], Response]
Methods = Dict[str, Tuple[str, Handler]]  # method -> (endpoint name, handler)

SP = r"(?P<serviceProvider>[^/]+)"
SEGMENT = r"[^/]+"


def _route(pattern: str, **methods: Tuple[str, Handler]) -> Tuple[Pattern[str], Methods]:
    return re.compile(pattern + r"/?$"), methods


# Order matters: literal segments (sso, code) before the parameterised ones.
ROUTES = [
    _route(r"/o/client/register", POST=("register", dcr.handle_register)),
    _route(r"/o/client/token", POST=("token", dcr.handle_token)),
    _route(rf"/api/v2/{SP}/configuration", GET=("configuration", configuration.handle)),
    _route(rf"/api/v2/{SP}/sessions/sso/(?P<partner>{SEGMENT})",
           POST=("sessions.sso", partner_sso.handle_session)),
    _route(rf"/api/v2/{SP}/sessions", POST=("sessions.create", sessions.handle_create)),
    _route(rf"/api/v2/{SP}/sessions/(?P<code>{SEGMENT})",
           POST=("sessions.resume", sessions.handle_resume),
           GET=("sessions.get", sessions.handle_get)),
    # The retrieve-session sample uses /api/v2/sessions/{serviceProvider}/{code}.
    _route(rf"/api/v2/sessions/{SP}/(?P<code>{SEGMENT})", GET=("sessions.get", sessions.handle_get)),
    _route(rf"/api/v2/authenticate/{SP}/(?P<code>{SEGMENT})",
           GET=("authenticate", sessions.handle_authenticate)),
    _route(rf"/api/v2/{SP}/profiles", GET=("profiles", profiles.handle_all)),
    _route(rf"/api/v2/{SP}/profiles/sso/(?P<partner>{SEGMENT})",
           POST=("profiles.sso", partner_sso.handle_profile)),
    _route(rf"/api/v2/{SP}/profiles/code/(?P<code>{SEGMENT})",
           GET=("profiles.code", profiles.handle_code)),
    _route(rf"/api/v2/{SP}/profiles/(?P<mvpd>{SEGMENT})", GET=("profiles.mvpd", profiles.handle_mvpd)),
    _route(rf"/api/v2/{SP}/decisions/authorize/(?P<mvpd>{SEGMENT})",
           POST=("decisions.authorize", decisions.handle_authorize)),
    _route(rf"/api/v2/{SP}/decisions/preauthorize/(?P<mvpd>{SEGMENT})",
           POST=("decisions.preauthorize", decisions.handle_preauthorize)),
    _route(rf"/api/v2/{SP}/logout/(?P<mvpd>{SEGMENT})", GET=("logout", logout.handle)),
    # The TempPass logout sample uses /api/v2/logout/{serviceProvider}/{mvpd}.
    _route(rf"/api/v2/logout/{SP}/(?P<mvpd>{SEGMENT})", GET=("logout", logout.handle)),
]


@dataclass
class Resolved:
    endpoint: str
    handler: Optional[Handler] = None  # None: unknown path or method not allowed
    allowed: List[str] = field(default_factory=list)
    params: Dict[str, str] = field(default_factory=dict)


def resolve(method: str, path: str) -> Resolved:
    for pattern, methods in ROUTES:
        match = pattern.match(path)
        if match:
            if method in methods:
                endpoint, handler = methods[method]
                return Resolved(endpoint, handler, list(methods), match.groupdict())
            first_endpoint = next(iter(methods.values()))[0]
            return Resolved(first_endpoint, None, list(methods), match.groupdict())
    return Resolved("unknown")
