"""`passauth login` on a real terminal (a pty): the code, the URL, the spinner with its countdown, the
profile once the emulator completes the MVPD login, and a clean Ctrl-C."""

import os
import pty
import re
import select
import signal
import subprocess
import time

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class Screen:
    """A command running on a pseudo-terminal, with everything it printed so far."""

    def __init__(self, command, env):
        self.master, slave = pty.openpty()
        self.process = subprocess.Popen(command, stdin=slave, stdout=slave, stderr=slave, env=env,
                                        start_new_session=True)
        os.close(slave)
        self.raw = b""

    @property
    def text(self):
        return ANSI.sub("", self.raw.decode("utf-8", "replace"))

    def pump(self, seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.master], [], [], max(0.0, min(0.1, deadline - time.monotonic())))
            if ready:
                try:
                    chunk = os.read(self.master, 4096)
                except OSError:  # EIO: the command exited and closed the terminal
                    return
                if not chunk:
                    return
                self.raw += chunk

    def expect(self, pattern, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = re.search(pattern, self.text)
            if match:
                return match
            if self.process.poll() is not None:
                self.pump(0.2)
                match = re.search(pattern, self.text)
                if match:
                    return match
                break
            self.pump(0.2)
        raise AssertionError(f"{pattern!r} not seen on the terminal:\n{self.text}")

    def finish(self, timeout=20):
        deadline = time.monotonic() + timeout
        while self.process.poll() is None and time.monotonic() < deadline:
            self.pump(0.2)
        self.pump(0.3)
        status = self.process.wait(timeout=1)
        os.close(self.master)
        return status


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


def test_login_timeout_exit_4(cli, env):
    result = subprocess.run([cli, "login", "--mvpd", "Dish", "--timeout", "1"], env=env, capture_output=True,
                            text=True, timeout=30)
    assert result.returncode == 4, result.stderr
    assert "PASSAUTH_E_TIMEOUT" in result.stderr and "--timeout" in result.stderr
