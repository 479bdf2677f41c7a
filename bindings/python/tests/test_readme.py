"""The documentation's Python is real: every ```python block of README.md, bindings/python/README.md and
docs/*.md passes `mypy --strict` against the package (each block is a complete module: it imports and
defines what it uses), and the complete script of bindings/python/README.md runs, as written, against the
emulator (the login is finished by the emulator's control API when the script prints the URL, as a user
would in a browser)."""

import glob
import os
import re
import subprocess
import sys

PACKAGE_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
REPOSITORY = os.path.abspath(os.path.join(PACKAGE_ROOT, "..", ".."))
DOCUMENTS = [os.path.join(REPOSITORY, "README.md"), os.path.join(PACKAGE_ROOT, "README.md"),
             *sorted(glob.glob(os.path.join(REPOSITORY, "docs", "*.md")))]


def python_blocks():
    """(document, first line, code) of every ```python block."""
    blocks = []
    for document in DOCUMENTS:
        text = open(document, encoding="utf-8").read()
        for match in re.finditer(r"^```python\n(.*?)^```", text, flags=re.S | re.M):
            blocks.append((document, text[:match.start()].count("\n") + 2, match.group(1)))
    return blocks


def readme_script():
    text = open(os.path.join(PACKAGE_ROOT, "README.md"), encoding="utf-8").read()
    section = text.split("## A complete script", 1)[1]
    return re.search(r"```python\n(.*?)```", section, flags=re.S).group(1)


def test_every_python_block_of_the_docs_passes_mypy_strict(tmp_path):
    blocks = python_blocks()
    assert len(blocks) >= 7
    names = {}
    for index, (document, line, code) in enumerate(blocks):
        stem = re.sub(r"\W", "_", os.path.relpath(document, REPOSITORY)[:-3]).lower()
        path = tmp_path / f"snippet_{stem}_line{line}.py"
        path.write_text(code)
        names[path.name] = f"{os.path.relpath(document, REPOSITORY)}:{line}"
    run = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--cache-dir", str(tmp_path / ".cache"),
                          *sorted(str(p) for p in tmp_path.glob("snippet_*.py"))],
                         cwd=str(tmp_path), capture_output=True, text=True, timeout=300,
                         env=dict(os.environ, MYPYPATH=PACKAGE_ROOT))
    report = run.stdout
    for name, where in names.items():
        report = report.replace(str(tmp_path / name), where).replace(name, where)
    assert run.returncode == 0, f"mypy --strict failed on the docs' Python:\n{report}\n{run.stderr}"


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
    assert "\u2588" in output  # the QR code of the login URL, for a phone
    # Logout urls come back absolute, like session urls, ready for a user agent.
    assert f"finish the logout at {emu.base_url}/" in output
