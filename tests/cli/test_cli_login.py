"""`passauth login` on a real terminal (a pty): the code, the URL, the spinner with its countdown, the
profile once the emulator completes the MVPD login, and a clean Ctrl-C."""

import os
import re
import signal
import subprocess

from terminal import SPINNER, Screen


def finish(process):
    """The rest of a piped command's output. (Not communicate(): it reads the file descriptors directly
    and would miss what readline() already buffered.)"""
    out = process.stdout.read()
    err = process.stderr.read()
    process.wait(timeout=30)
    return out, err


def test_login_shows_code_spinner_and_profile(cli, env, emulator):
    screen = Screen([cli, "login", "--mvpd", "Cablevision"], env)
    code = screen.expect(r"one-time code: ([A-Z0-9]+)").group(1)
    screen.expect(re.escape(f"{emulator.base_url}/api/v2/authenticate/REF30/{code}"))
    spinner = screen.expect(f"[{SPINNER}] Waiting for you to log in… code expires in (\\d+:\\d\\d)")
    minutes, seconds = map(int, spinner.group(1).split(":"))
    assert 25 * 60 < minutes * 60 + seconds <= 30 * 60

    emulator.control("login", {"code": code, "userId": "pty-user"})
    screen.expect(r"✓ Logged in with Cablevision", timeout=20)
    assert screen.finish() == 0
    assert "userID: pty-user" in screen.text
    assert "valid until:" in screen.text
    frames = {ch for ch in screen.text if ch in SPINNER}
    assert frames, screen.text


def test_ctrl_c_cancels_cleanly(cli, env):
    screen = Screen([cli, "login", "--mvpd", "Cablevision"], env)
    screen.expect(r"one-time code: ([A-Z0-9]+)")
    screen.expect(f"[{SPINNER}] Waiting")
    os.killpg(screen.process.pid, signal.SIGINT)  # what the terminal sends on Ctrl-C
    assert screen.finish() == 130
    assert "cancelled" in screen.text
    assert "Traceback" not in screen.text and "Fatal error" not in screen.text


def test_login_through_a_pipe_prints_plain_lines(cli, env, emulator):
    process = subprocess.Popen([cli, "login", "--mvpd", "Spectrum"], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    first = process.stdout.readline()
    code = re.search(r"one-time code: ([A-Z0-9]+)", first).group(1)
    emulator.control("login", {"code": code})
    out, err = finish(process)
    assert process.returncode == 0, err
    assert "Waiting for the login (code expires in" in out
    assert not any(ch in out for ch in SPINNER) and "\r" not in out
    assert not any(ch in out for ch in "█▀▄"), "no QR code through a pipe"
    assert "✓ Logged in with Spectrum" in out


def test_login_json_lines(cli, env, emulator):
    import json
    process = subprocess.Popen([cli, "--json", "login", "--mvpd", "Cablevision"], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    event = json.loads(process.stdout.readline())
    assert event["event"] == "code" and event["url"].endswith("/" + event["code"]) and event["notAfter"] > 0
    emulator.control("login", {"code": event["code"]})
    out, err = finish(process)
    assert process.returncode == 0, err
    final = json.loads(out)
    assert final["event"] == "authenticated" and "Cablevision" in final["profiles"]["profiles"]


def test_login_timeout_is_the_wait_limit_not_the_code_expiry(cli, env):
    result = subprocess.run([cli, "login", "--mvpd", "Dish", "--timeout", "1"], env=env, capture_output=True,
                            text=True, timeout=30)
    assert result.returncode == 4, result.stderr
    assert "PASSAUTH_E_TIMEOUT" in result.stderr and "--timeout" in result.stderr
    # The announcement and the failure both say --timeout limits the wait; the code lives on.
    assert "This command waits at most 1 s (--timeout); the code stays valid longer." in result.stdout
    assert re.search(r"The code expires in (29|30) min \(\d\d:\d\d \w+\)", result.stdout), result.stdout
    assert "stopped waiting after --timeout 1 s" in result.stderr
    assert "stays valid until" in result.stderr and "not the code's expiry" in result.stderr


def test_login_spinner_separates_timeout_from_expiry(cli, env):
    screen = Screen([cli, "login", "--mvpd", "Cablevision", "--timeout", "60"], env)
    screen.expect(r"code expires in (29|30):\d\d; stops waiting in (0:5\d|1:00) \(--timeout\)")
    os.killpg(screen.process.pid, signal.SIGINT)
    assert screen.finish() == 130
