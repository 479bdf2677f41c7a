"""Fixtures for the library tests: the in-process emulator and client configs pointing at it."""

import os
import sys
from typing import Any, Callable, Dict, Iterator

import pytest

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))
# The emulator is its own package, at the repository root (emulator/passauth_emulator).
sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "emulator")))

from passauth_emulator import Emulator  # noqa: E402

SOFTWARE_STATEMENT = (
    "eyJhbGciOiJSUzI1NiJ9."
    "eyJzb2Z0d2FyZV9pZCI6IjROUkIxLTBYWkFCWkk5RTYtNVNNM1IiLCJjbGllbnRfbmFtZSI6IkV4YW1wbGUgU3RhdGVtZW50"
    "LWJhc2VkIENsaWVudCIsImNsaWVudF91cmkiOiJodHRwczovL2NsaWVudC5leGFtcGxlLm5ldC8ifQ."
    "GHfL4QNIrQwL18BSRdE595T9jbzqa06R9BT8w409x9oIcKaZo")

DEVICE = {"id": "py-device-1", "info": {"primaryHardwareType": "SetTopBox", "model": "Test", "vendor": "passauth",
                                         "osName": "Linux", "osVendor": "Google", "osVersion": "1"}}


@pytest.fixture(scope="session")
def service() -> Iterator[Emulator]:
    """One emulator for the library tests (not the emulator's own suite), throttle off."""
    with Emulator(throttle=False) as emulator:
        yield emulator


@pytest.fixture
def emu(service: Emulator) -> Emulator:
    service.control("reset", {})
    return service


@pytest.fixture
def make_config(emu: Emulator, tmp_path: Any) -> Callable[..., Dict[str, Any]]:
    def make(**overrides: Any) -> Dict[str, Any]:
        config: Dict[str, Any] = {"baseUrl": emu.base_url, "serviceProvider": "REF30",
                                  "softwareStatement": SOFTWARE_STATEMENT, "store": str(tmp_path / "store"),
                                  "device": DEVICE}
        config.update(overrides)
        return config
    return make
