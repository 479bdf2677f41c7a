"""Helpers shared by the library tests (imported by name; fixtures live in conftest.py)."""

from typing import Any


def requests_to(emu: Any, endpoint: str) -> int:
    """How many requests the emulator received for `endpoint` since its last reset."""
    return int(emu.control("stats")["requests"].get(endpoint, 0))
