"""A redis-server for a Python test: a free loopback port, no persistence unless asked, a temporary
directory, supervised by tests/redis/redis-test-server.sh (gone when the test process is). Standard
library only (the native store needs no redis-py)."""

import os
import socket
import subprocess
import time
from typing import List, Optional

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "redis-test-server.sh")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    def __init__(self, workdir: str, extra: Optional[List[str]] = None) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.extra = extra or []
        self.process: "Optional[subprocess.Popen[bytes]]" = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "RedisServer":
        self.process = subprocess.Popen([SCRIPT, str(os.getpid()), self.workdir, "--port", str(self.port), *self.extra],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while self.command("PING") != "+PONG":
            if time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start on port {self.port}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None

    def command(self, *words: str) -> Optional[str]:
        """One command in RESP; the raw answer (first line for simple replies), None when unreachable."""
        payload = f"*{len(words)}\r\n" + "".join(f"${len(w.encode())}\r\n{w}\r\n" for w in words)
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
                s.sendall(payload.encode())
                time.sleep(0.01)
                data = b""
                s.settimeout(0.5)
                try:
                    while True:
                        chunk = s.recv(65536)
                        if not chunk:
                            break
                        data += chunk
                        if data.startswith((b"+", b"-", b":")) and data.endswith(b"\r\n"):
                            break
                except socket.timeout:
                    pass
                text = data.decode("utf-8", "replace")
                return text.split("\r\n")[0] if text[:1] in "+-:" else text
        except OSError:
            return None
