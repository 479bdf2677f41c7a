"""Fixtures of the contract tests: the binding and the emulator from this tree, the contract."""

import base64
import os
import sys
import time
from pathlib import Path
from typing import Any, Dict, Iterator

import pytest

ROOT = Path(__file__).resolve().parents[2]
# `make test-contract` sets PYTHONPATH and PASSAUTH_LIBRARY (the Makefile's PYPATH); these make a bare
# `python -m pytest tests/contract` from the root work too.
for extra in (ROOT / "bindings" / "python", ROOT / "emulator", Path(__file__).resolve().parent):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))
if "PASSAUTH_LIBRARY" not in os.environ and (ROOT / "build" / "lib" / "libpassauth.so.0").exists():
    os.environ["PASSAUTH_LIBRARY"] = str(ROOT / "build" / "lib" / "libpassauth.so.0")

from contract import Contract, contract_specs  # noqa: E402
from passauth_emulator import Emulator  # noqa: E402

# The DCR "Retrieve client credentials" sample's software statement.
SOFTWARE_STATEMENT = (
    "eyJhbGciOiJSUzI1NiJ9."
    "eyJzb2Z0d2FyZV9pZCI6IjROUkIxLTBYWkFCWkk5RTYtNVNNM1IiLCJjbGllbnRfbmFtZSI6IkV4YW1wbGUgU3RhdGVtZW50"
    "LWJhc2VkIENsaWVudCIsImNsaWVudF91cmkiOiJodHRwczovL2NsaWVudC5leGFtcGxlLm5ldC8ifQ."
    "GHfL4QNIrQwL18BSRdE595T9jbzqa06R9BT8w409x9oIcKaZo")

# The X-Device-Info appendix's own example, with the fields its table marks required.
INFO = {"primaryHardwareType": "MobilePhone", "model": "SM-S901U", "vendor": "samsung", "version": "r0q",
        "manufacturer": "samsung", "osName": "Android", "osVersion": "14", "connectionType": "WiFi"}


def jwt(claims: str) -> str:
    return "eyJhbGciOiJSUzI1NiJ9." + base64.urlsafe_b64encode(claims.encode()).decode().rstrip("=") + ".c2ln"


def pfs(provider: str = "Cablevision") -> Dict[str, Any]:
    """An AP-Partner-Framework-Status whose access is granted, valid for ten years."""
    expires = str(int(time.time() * 1000) + 10 * 365 * 86400 * 1000)
    return {"frameworkPermissionInfo": {"accessStatus": "granted"},
            "frameworkProviderInfo": {"id": provider, "expirationDate": expires}}


@pytest.fixture(scope="session")
def contract() -> Contract:
    """The files with the documented exceptions: the library's requests, and what is fed to it."""
    return Contract()


@pytest.fixture(scope="session")
def answer_contract() -> Contract:
    """The same, plus the pages-over-files points (contract.PAGES_OVER_FILES): the emulator's answers only."""
    return Contract(contract_specs(answers=True))


@pytest.fixture(scope="module")
def service() -> Iterator[Emulator]:
    """One emulator per test module, throttle off (the library's own pacing stays on in the journey)."""
    with Emulator(throttle=False) as emulator:
        yield emulator
