"""`make demo`: starts the local emulator, runs the journey from C and from Python against it, and
runs each twice to show the second run reusing the stored registration."""

import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bindings", "python"))

from passauth.emulator import Emulator  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(title, command):
    print(f"\n== {title}\n$ {' '.join(command)}", flush=True)
    subprocess.run(command, check=True, timeout=300)


def main(c_journey):
    with Emulator(throttle=False) as emulator, tempfile.TemporaryDirectory(prefix="passauth-demo-") as store:
        print(f"emulator listening on {emulator.base_url}")
        for attempt in ("first run", "second run (stored registration)"):
            run(f"C journey, {attempt}", [c_journey, emulator.base_url, os.path.join(store, "c")])
            run(f"Python journey, {attempt}",
                [sys.executable, os.path.join(ROOT, "examples", "python", "journey.py"), emulator.base_url,
                 os.path.join(store, "python")])
        stats = emulator.control("stats")
        print(f"\nemulator saw: {stats['requests']} over {stats['connections']} TCP connections")


if __name__ == "__main__":
    main(os.path.join(sys.argv[1], "journey") if len(sys.argv) > 1 else os.path.join(ROOT, "build", "examples", "journey"))
