"""The complete script of README.md runs, as written, against the emulator (the login is finished by
the emulator's control API when the script prints the URL, as a user would in a browser)."""

import os
import re
import subprocess
import sys

PACKAGE_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))


def readme_script():
    text = open(os.path.join(PACKAGE_ROOT, "README.md"), encoding="utf-8").read()
    section = text.split("## A complete script", 1)[1]
    return re.search(r"```python\n(.*?)```", section, flags=re.S).group(1)


def test_readme_script_runs_the_journey(emu, tmp_path):
    script = tmp_path / "journey.py"
    script.write_text(readme_script())
    env = dict(os.environ, PASSAUTH_BASE_URL=emu.base_url, PASSAUTH_STORE=str(tmp_path / "store"),
               PYTHONPATH=PACKAGE_ROOT)
    child = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, env=env, cwd=str(tmp_path))
    lines = []
    try:
        for line in child.stdout:
            lines.append(line)
            found = re.search(r"\(code (\S+), valid until", line)
            if found:
                emu.control("login", {"code": found.group(1)})
        assert child.wait(timeout=60) == 0, "".join(lines) + child.stderr.read()
    finally:
        if child.poll() is None:
            child.kill()
    output = "".join(lines)
    assert "logged in with Cablevision" in output
    assert "preauthorized REF30 True" in output
    assert "play; media token valid until" in output
    # Logout urls come back absolute, like session urls, ready for a user agent.
    assert f"finish the logout at {emu.base_url}/" in output
