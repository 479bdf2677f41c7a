"""Dynamic Client Registration: client credentials and access tokens."""

from __future__ import annotations

import json
import uuid
from urllib.parse import parse_qsl, urlsplit

from .errors import DcrError
from .messages import Request, Response
from .state import State
from .validation import FORM, JSON, b64decode, b64json


def software_statement_valid(statement: str) -> bool:
    """A JWT shape: three base64url segments, the middle one a JSON object.
    The docs' sample wraps the statement over several lines, so whitespace
    inside it is ignored."""
    parts = "".join(statement.split()).split(".")
    return (len(parts) == 3 and all(parts) and b64json(parts[1]) is not None
            and b64decode(parts[0]) is not None)


def redirect_uri_valid(uri: str) -> bool:
    parts = urlsplit(uri)
    return bool(parts.scheme) and bool(parts.netloc or parts.path) and not any(c.isspace() for c in uri)


def device_info_valid(request: Request) -> bool:
    value = request.header("x-device-info")
    return value is None or b64decode(value) is not None


def handle_register(state: State, request: Request) -> Response:
    if request.content_type() != JSON or not device_info_valid(request):
        raise DcrError("invalid_request")
    try:
        # strict=False: the docs' sample wraps the statement over several
        # lines inside the JSON string.
        document = json.loads(request.body, strict=False)
    except ValueError:
        raise DcrError("invalid_request") from None
    if not isinstance(document, dict):
        raise DcrError("invalid_request")
    statement = document.get("software_statement")
    if not isinstance(statement, str) or not statement:
        raise DcrError("invalid_request")
    if not software_statement_valid(statement):
        raise DcrError("invalid_software_statement")
    if statement in state.settings.unapproved_statements:
        raise DcrError("unapproved_software_statement")
    redirect_uri = document.get("redirect_uri")
    if redirect_uri is not None and (not isinstance(redirect_uri, str)
                                     or not redirect_uri_valid(redirect_uri)):
        raise DcrError("invalid_redirect_uri")
    client = state.register_client(statement)
    return Response.json(201, {
        "client_id": client.client_id,
        "client_secret": client.client_secret,
        "redirect_uris": [redirect_uri] if redirect_uri else [],
        "grant_types": ["client_credentials"],
        "scopes": ["api:client:v2"],
        "client_id_issued_at": state.now() // 1000,
    })


def handle_token(state: State, request: Request) -> Response:
    if request.content_type() != FORM or not device_info_valid(request):
        raise DcrError("invalid_request")
    pairs = parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True)
    names = [k for k, _ in pairs]
    if len(names) != len(set(names)):  # "The request repeats a parameter."
        raise DcrError("invalid_request")
    form = dict(pairs)
    if not all(form.get(k) for k in ("client_id", "client_secret", "grant_type")):
        raise DcrError("invalid_request")
    if form["grant_type"] != "client_credentials":
        raise DcrError("unsupported_grant_type")
    client = state.clients.get(form["client_id"])
    if client is None or client.client_secret != form["client_secret"]:
        raise DcrError("invalid_client")
    created_at = state.now()
    token = state.issue_token(client)
    return Response.json(201, {
        "id": str(uuid.uuid4()),
        "access_token": token.value,
        "created_at": created_at,
        "expires_in": int(state.settings.token_ttl),
        "token_type": "bearer",
    })
