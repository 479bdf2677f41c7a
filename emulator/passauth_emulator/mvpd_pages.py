"""The emulated MVPD web pages a user agent reaches from the authenticate
and logout URLs: a login form that completes the login for a code."""

from __future__ import annotations

import html
from typing import Dict, Optional
from urllib.parse import parse_qsl

from . import sessions
from .catalog import MVPDS
from .messages import Request, Response
from .state import Session, State

LOGIN_FORM = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Emulated MVPD login</title></head>
<body><h1>Sign in with your TV provider</h1>
<form method="post" action="/_emulator/mvpd/login">
<input type="hidden" name="code" value="{code}">
<label>TV provider {mvpd_field}</label><br>
<label>User id <input name="userId" value="emulated-user"></label><br>
<label>Password <input name="password" type="password" value="secret"></label><br>
<button type="submit">Sign in</button>
</form></body></html>"""


def handle(state: State, request: Request, page: str) -> Response:
    if page == "login" and request.method == "GET":
        return login_form(state, dict(parse_qsl(request.query)).get("code", ""))
    if page == "login" and request.method == "POST":
        form = dict(parse_qsl(request.body.decode("utf-8", "replace")))
        return login_submit(state, form)
    if page == "logout" and request.method == "GET":
        target = dict(parse_qsl(request.query)).get("redirect_url")
        return Response.redirect(target) if target else Response.html(200, "<p>Logged out.</p>")
    return Response.html(404, "<p>No such page.</p>")


def open_session(state: State, code: str) -> Optional[Session]:
    session = state.sessions.get(code)
    if session is None or session.not_after <= state.now():
        return None
    return session


def login_form(state: State, code: str) -> Response:
    session = open_session(state, code)
    if session is None:
        return Response.html(400, "<p>Unknown or expired authentication code.</p>")
    chosen = session.params.get("mvpd")
    if chosen:
        field = f'<b>{html.escape(chosen)}</b>'
    else:
        options = "".join(f'<option value="{html.escape(m)}">{html.escape(m)}</option>'
                          for m, mvpd in MVPDS.items() if not mvpd.temp_pass)
        field = f'<select name="mvpd">{options}</select>'
    return Response.html(200, LOGIN_FORM.format(code=html.escape(code), mvpd_field=field))


def login_submit(state: State, form: Dict[str, str]) -> Response:
    session = open_session(state, form.get("code", ""))
    if session is None:
        return Response.html(400, "<p>Unknown or expired authentication code.</p>")
    profile = sessions.complete_login(state, session, form.get("mvpd"), form.get("userId"))
    if profile is None:
        return Response.html(400, "<p>Choose a TV provider.</p>")
    target = session.params.get("redirectUrl")
    if target:
        return Response.redirect(target)
    return Response.html(200, "<p>You are signed in. You can return to your device.</p>")
