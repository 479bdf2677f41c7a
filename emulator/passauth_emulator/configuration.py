"""Configuration API."""

from . import catalog, validation
from .messages import Response


def handle(state, request):
    validation.require_access_token(state, request)
    sp = validation.service_provider(state, request)
    validation.device_identifier(request, required=False)
    validation.device_info(request)
    return Response.json(200, catalog.configuration(sp))
