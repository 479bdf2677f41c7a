"""A command on a pseudo-terminal, for the `passauth` tests that need a real terminal (the spinner,
the provider list, the QR code)."""

import os
import pty
import re
import select
import struct
import subprocess
import time

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class Screen:
    """A command running on a pseudo-terminal (stdin, stdout and stderr), with everything it printed."""

    def __init__(self, command, env, columns=120, rows=40):
        self.master, slave = pty.openpty()
        import fcntl
        import termios
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        self.process = subprocess.Popen(command, stdin=slave, stdout=slave, stderr=slave, env=env,
                                        start_new_session=True)
        os.close(slave)
        self.raw = b""

    @property
    def text(self):
        return ANSI.sub("", self.raw.decode("utf-8", "replace"))

    def send(self, keys, pause=0.15):
        os.write(self.master, keys.encode() if isinstance(keys, str) else keys)
        self.pump(pause)

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
