"""Fixtures for the `passauth` command tests: the built binary, an emulator, and an environment that
points the command at it with a private store."""

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# The emulator package lives in emulator/ at the repository root (make test-cli also puts it on PYTHONPATH).
sys.path.insert(0, os.path.join(ROOT, "emulator"))

from passauth_emulator import Emulator  # noqa: E402
STATEMENT = "eyJhbGciOiJSUzI1NiJ9.eyJzb2Z0d2FyZV9pZCI6ImRlbW8ifQ.c2lnbmF0dXJl"


@pytest.fixture(scope="session")
def cli():
    path = os.environ.get("PASSAUTH_CLI", os.path.join(ROOT, "build", "bin", "passauth"))
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path} is missing: run make build")
    return path


@pytest.fixture(scope="session")
def emulator():
    with Emulator(throttle=False) as emu:
        yield emu


@pytest.fixture
def env(emulator, tmp_path):
    # No PASSAUTH_* setting and no proxy from the machine: the tests set what they test.
    proxies = {"http_proxy", "https_proxy", "all_proxy", "no_proxy"}
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PASSAUTH_") and k.lower() not in proxies}
    environment.update({
        "PASSAUTH_BASE_URL": emulator.base_url,
        "PASSAUTH_SERVICE_PROVIDER": "REF30",
        "PASSAUTH_SOFTWARE_STATEMENT": STATEMENT,
        "PASSAUTH_STORE": str(tmp_path / "store"),
        "PASSAUTH_DEVICE_ID": f"cli-test-{tmp_path.name}",
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "TERM": "xterm",
    })
    return environment


@pytest.fixture
def run(cli, env):
    def go(*args, extra_env=None, timeout=60):
        return subprocess.run([cli, *args], env={**env, **(extra_env or {})}, capture_output=True, text=True,
                              timeout=timeout)
    return go
