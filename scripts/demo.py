"""`make demo`: starts the local emulator, runs the whole journey from C and from Python against it
(the emulator plays the user: it completes the MVPD login as soon as a program prints its code), and
runs each twice to show the second run reusing the stored registration."""

import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bindings", "python"))

from passauth.emulator import Emulator  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CODE = re.compile(r"\(code ([A-Za-z0-9_-]+)\)")


def run(emulator, title, command):
    """Runs a journey program, echoing its output; logs the user in when it shows a code."""
    print(f"\n== {title}\n$ {' '.join(command)}", flush=True)
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    for line in process.stdout:
        print(line, end="", flush=True)
        found = CODE.search(line)
        if found:
            print(f"   (the user logs in on a second screen with code {found.group(1)})", flush=True)
            emulator.control("login", {"code": found.group(1)})
    if process.wait(timeout=300) != 0:
        sys.exit(f"{title} failed")


def main(examples):
    with Emulator(throttle=False) as emulator, tempfile.TemporaryDirectory(prefix="passauth-demo-") as store:
        print(f"emulator listening on {emulator.base_url}")
        for attempt in ("first run", "second run (stored registration)"):
            run(emulator, f"C journey, {attempt}", [os.path.join(examples, "journey"), emulator.base_url, os.path.join(store, "c")])
            run(emulator, f"Python journey, {attempt}",
                [sys.executable, os.path.join(ROOT, "examples", "python", "journey.py"), emulator.base_url,
                 os.path.join(store, "python")])
        stats = emulator.control("stats")
        print(f"\nemulator saw: {stats['requests']} over {stats['connections']} TCP connections")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build", "examples"))
