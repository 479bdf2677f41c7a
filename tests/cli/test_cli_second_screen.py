"""`passauth login` for the second screen, next to `gh auth login`: the provider list when --mvpd is
missing (typing filters, numbers and arrow keys move, Esc cancels; a clear error without a terminal),
the URL's QR code drawn beside the code (the library's own matrix, half blocks), and --open."""

import ctypes
import json
import os
import re
import signal
import stat
import subprocess
import time

from terminal import Screen

QR_CHARACTERS = "█▀▄"


def providers(run):
    return json.loads(run("providers", "--json").stdout)["mvpds"]


def last_render(screen, prompt="? TV provider:"):
    """What the provider list shows now: the text after its last redraw."""
    text = screen.text
    return text[text.rindex(prompt):]


def test_picker_filters_as_you_type(cli, env, emulator):
    screen = Screen([cli, "login"], env)
    screen.expect(r"\? TV provider: \[type to filter")
    first = last_render(screen)
    assert "Cablevision" in first and "Spectrum" in first
    screen.send("spec")
    shown = last_render(screen)
    assert shown.startswith("? TV provider: spec"), shown
    assert "Spectrum" in shown and "Cablevision" not in shown and "Dish" not in shown
    screen.send("\x7f\x7f\x7f\x7fxyz")  # backspace everything, then a filter nothing matches
    assert "no TV provider matches 'xyz'" in last_render(screen)
    screen.send("\x15SPEC")  # Ctrl-U clears; matching ignores case
    assert "Spectrum" in last_render(screen)
    screen.send("\r")
    screen.expect(r"✓ TV provider: Spectrum")
    code = screen.expect(r"one-time code: ([A-Z0-9]+)").group(1)
    screen.expect(r"sign in with your TV provider \(Spectrum\)")
    emulator.control("login", {"code": code})
    screen.expect(r"✓ Logged in with Spectrum")
    assert screen.finish() == 0
    # The choice is remembered: status names it.
    assert "Spectrum, chosen at the last login" in subprocess.run([cli, "status"], env=env, capture_output=True,
                                                                  text=True).stdout


def test_picker_numbers_and_arrow_keys(cli, env, run):
    listed = providers(run)
    label = lambda m: m.get("displayName") or m["id"]  # noqa: E731
    screen = Screen([cli, "login"], env)
    screen.expect(r"\? TV provider: \[type")
    screen.send("3")  # the third line, whatever its name
    shown = last_render(screen)
    assert re.search(r">\s*3\s+" + re.escape(label(listed[2])), shown), shown
    screen.send("\x7f\x1b[B\x1b[B\x1b[A\x1b[B")  # clear, then down, down, up, down: the third line again
    screen.send("\r")
    screen.expect(r"✓ TV provider: " + re.escape(label(listed[2])))
    screen.expect(r"one-time code: ([A-Z0-9]+)")
    os.killpg(screen.process.pid, signal.SIGINT)
    assert screen.finish() == 130


def test_picker_escape_cancels(cli, env):
    screen = Screen([cli, "login"], env)
    screen.expect(r"\? TV provider:")
    screen.send("\x1b", pause=0.3)
    assert screen.finish() == 130
    assert "cancelled" in screen.text and "one-time code" not in screen.text
    # The terminal is restored (echo and canonical mode back on) and the cursor shown again.
    assert screen.raw.rstrip().endswith(b"cancelled") or b"\x1b[?25h" in screen.raw


def test_login_without_mvpd_off_a_terminal_asks_for_it(run):
    result = run("login")
    assert result.returncode == 2, result.stderr
    assert "--mvpd" in result.stderr and "no terminal" in result.stderr
    assert "passauth providers" in result.stderr
    as_json = run("login", "--json")
    assert as_json.returncode == 2 and json.loads(as_json.stdout)["error"]["key"] == "mvpd"


def library_qr(text):
    """The matrix passauth_qr_code gives for `text` (rows of '0'/'1')."""
    library = ctypes.CDLL(os.environ.get("PASSAUTH_LIBRARY", "libpassauth.so.0"))
    out = ctypes.c_void_p()
    assert library.passauth_qr_code(text.encode(), ctypes.byref(out)) == 0
    document = json.loads(ctypes.string_at(out.value).decode())
    library.passauth_free(out)
    return document["rows"]


def drawn_qr(lines):
    """The module matrix back from half-block lines (dark on white: a block is a dark module)."""
    modules = []
    for line in lines:
        top = [c in "█▀" for c in line]
        bottom = [c in "█▄" for c in line]
        modules += [top, bottom]
    return modules


def test_login_draws_the_urls_qr_code_beside_the_code(cli, env):
    screen = Screen([cli, "login", "--mvpd", "Cablevision"], env, columns=140)
    code = screen.expect(r"one-time code: ([A-Z0-9]+)").group(1)
    url = screen.expect(r"(http://\S+/api/v2/authenticate/REF30/" + code + ")").group(1)
    screen.expect(r"Code: " + code)
    os.killpg(screen.process.pid, signal.SIGINT)
    assert screen.finish() == 130
    lines = screen.text.splitlines()
    rows = library_qr(url)
    size, span = len(rows), len(rows) + 8
    # Right after the code's line: the QR code with its quiet zone (4 light modules around), two module
    # rows per line, the text beside it.
    first = next(i for i, line in enumerate(lines) if "one-time code:" in line) + 1
    drawn = lines[first:first + (span + 1) // 2]
    assert all(line.startswith("  ") and len(line) >= 2 + span for line in drawn), drawn
    qr_lines = [line[2:2 + span] for line in drawn]
    assert all(set(line) <= set(QR_CHARACTERS + " ") for line in qr_lines), qr_lines
    beside = [line[2 + span:] for line in drawn]
    assert any(("Code: " + code) in text for text in beside), "the code is printed beside the QR code"
    assert any(url in text for text in beside)
    modules = drawn_qr(qr_lines)
    for y in range(size):
        assert "".join("1" if dark else "0" for dark in modules[y + 4][4:4 + size]) == rows[y], f"row {y}"
    assert not any(modules[1]) and not any(row[0] for row in modules), "the quiet zone is light"


def test_no_qr_and_narrow_terminals(cli, env):
    screen = Screen([cli, "login", "--mvpd", "Cablevision", "--no-qr"], env)
    screen.expect(r"one-time code: ([A-Z0-9]+)")
    screen.expect(r"Waiting for you to log in")
    os.killpg(screen.process.pid, signal.SIGINT)
    assert screen.finish() == 130
    assert not any(c in screen.text for c in QR_CHARACTERS)
    # Too narrow for both side by side: the text first, the code below it.
    narrow = Screen([cli, "login", "--mvpd", "Cablevision"], env, columns=60)
    code = narrow.expect(r"one-time code: ([A-Z0-9]+)").group(1)
    narrow.expect(r"Waiting for you to log in")
    os.killpg(narrow.process.pid, signal.SIGINT)
    assert narrow.finish() == 130
    line = [line for line in narrow.text.splitlines() if "Code: " + code in line][0]
    assert not any(c in QR_CHARACTERS for c in line)
    assert any(c in QR_CHARACTERS for c in narrow.text)


def test_open_starts_the_browser_with_the_url(cli, env, tmp_path):
    opened = tmp_path / "opened.txt"
    browser = tmp_path / "browser.sh"
    browser.write_text(f"#!/bin/sh\nprintf '%s' \"$1\" > '{opened}'\n")
    browser.chmod(browser.stat().st_mode | stat.S_IEXEC)
    result = subprocess.run([cli, "login", "--mvpd", "Cablevision", "--open", "--timeout", "1"],
                            env={**env, "BROWSER": str(browser)}, capture_output=True, text=True, timeout=30)
    assert result.returncode == 4, result.stderr
    url = re.search(r"(http://\S+/api/v2/authenticate/REF30/[A-Z0-9]+)", result.stdout).group(1)
    assert f"Opened the URL with {browser}" in result.stdout
    deadline = time.monotonic() + 5
    while not opened.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert opened.read_text() == url


def test_open_without_a_browser_says_so(cli, env, tmp_path):
    result = subprocess.run([cli, "login", "--mvpd", "Cablevision", "--open", "--timeout", "1"],
                            env={**env, "BROWSER": str(tmp_path / "no-such-browser")}, capture_output=True,
                            text=True, timeout=30)
    assert result.returncode == 4
    assert "could not open a browser" in result.stderr and "open the URL yourself" in result.stderr
