"""Every example under examples/python/ passes mypy --strict (tests/docs/test_examples.py runs them against
the emulator)."""

import glob
import os
import subprocess
import sys

PACKAGE_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
EXAMPLES = os.path.abspath(os.path.join(PACKAGE_ROOT, "..", "..", "examples", "python"))


def test_the_examples_pass_mypy_strict(tmp_path):
    files = sorted(glob.glob(os.path.join(EXAMPLES, "*.py")))
    assert files
    run = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--cache-dir",
                          str(tmp_path / ".cache"), *files], capture_output=True, text=True, timeout=300,
                         cwd=str(tmp_path), env=dict(os.environ, MYPYPATH=PACKAGE_ROOT))
    assert run.returncode == 0, run.stdout + run.stderr

