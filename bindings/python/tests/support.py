"""Helpers shared by the library tests (imported by name; fixtures live in conftest.py)."""

from typing import Any, Set
from urllib.parse import parse_qsl


def requests_to(emu: Any, endpoint: str) -> int:
    """How many requests the emulator received for `endpoint` since its last reset."""
    return int(emu.control("stats")["requests"].get(endpoint, 0))


def issued_secrets(emu: Any) -> Set[str]:
    """The client secrets and access tokens the library sent to the emulator since its last reset (read
    from the emulator's request log: token request bodies, Authorization headers)."""
    secrets: Set[str] = set()
    for request in emu.control("requests")["requests"]:
        authorization = request["headers"].get("authorization", "")
        if authorization.startswith("Bearer "):
            secrets.add(authorization[len("Bearer "):])
        if request["endpoint"] == "token":
            secrets.update(value for key, value in parse_qsl(request["body"]) if key == "client_secret")
    return {secret for secret in secrets if len(secret) >= 8}
