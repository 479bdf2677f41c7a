"""The package is fully typed: ``mypy --strict`` passes on it (configuration in ../pyproject.toml).

Not skipped when mypy is missing: scripts/bootstrap.sh installs it, and a missing mypy is a failure."""

import os
import subprocess
import sys

PACKAGE_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))


def test_mypy_strict_passes_on_the_package():
    run = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-incremental", "-p", "passauth_emulator"],
                         cwd=PACKAGE_ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, f"mypy --strict failed:\n{run.stdout}\n{run.stderr}"
    assert "Success" in run.stdout


def test_the_package_is_marked_typed():
    assert os.path.isfile(os.path.join(PACKAGE_ROOT, "passauth_emulator", "py.typed"))
