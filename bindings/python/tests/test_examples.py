"""Every example under examples/python/ passes mypy --strict, and the journey runs against the emulator
(the login is completed through the emulator's control API when the example prints its code)."""

import glob
import os
import re
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


def test_the_journey_example_runs(emu, tmp_path):
    env = dict(os.environ, PYTHONPATH=PACKAGE_ROOT)
    child = subprocess.Popen([sys.executable, os.path.join(EXAMPLES, "journey.py"), emu.base_url, str(tmp_path / "store")],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    lines = []
    try:
        for line in child.stdout:
            lines.append(line)
            found = re.search(r"code: ([A-Za-z0-9_-]+)", line)
            if found:
                emu.control("login", {"code": found.group(1)})
        assert child.wait(timeout=60) == 0, "".join(lines) + child.stderr.read()
    finally:
        if child.poll() is None:
            child.kill()
    output = "".join(lines)
    assert "[python] play REF30: authorized" in output and "\u2588" in output
