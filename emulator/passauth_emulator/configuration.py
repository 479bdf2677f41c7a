"""Configuration API."""

from __future__ import annotations

from . import catalog, validation
from .messages import Request, Response
from .state import State


def handle(state: State, request: Request) -> Response:
    validation.require_access_token(state, request)
    sp = validation.service_provider(state, request)
    validation.device_identifier(request, required=False)
    validation.device_info(request)
    return Response.json(200, catalog.configuration(sp))
