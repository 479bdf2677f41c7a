"""`make demo`: starts the local emulator and runs the whole journey against it from the C example player
and from Python (each twice, to show the second run reusing the stored registration), then the C++
journey and the `passauth` command, with the second-screen login completed through the emulator's
control API as soon as each program prints its code."""

import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "bindings", "python"))
sys.path.insert(0, os.path.join(HERE, "..", "emulator"))
sys.path.insert(0, HERE)

from passauth_emulator import Emulator  # noqa: E402
import drive_login  # noqa: E402

ROOT = os.path.dirname(HERE)
STATEMENT = "eyJhbGciOiJSUzI1NiJ9.eyJzb2Z0d2FyZV9pZCI6ImRlbW8ifQ.c2lnbmF0dXJl"


def run(title, command, env=None):
    print(f"\n== {title}\n$ {' '.join(command)}", flush=True)
    subprocess.run(command, check=True, timeout=300, env=env)


def run_with_login(title, command, emulator, env=None):
    """Runs a program that waits for a second-screen login; completes it when the code is printed."""
    print(f"\n== {title}\n$ {' '.join(command)}", flush=True)
    if drive_login.run(emulator.base_url, command, env) != 0:
        raise SystemExit(f"{title} failed")


def main(examples, cli):
    with Emulator(throttle=False) as emulator, tempfile.TemporaryDirectory(prefix="passauth-demo-") as store:
        print(f"emulator listening on {emulator.base_url}")
        for attempt in ("first run", "second run (stored registration)"):
            run_with_login(f"C example player, {attempt}",
                           [os.path.join(examples, "player"), emulator.base_url, os.path.join(store, "player")], emulator)
            run_with_login(f"Python journey, {attempt}",
                           [sys.executable, os.path.join(ROOT, "examples", "python", "journey.py"), emulator.base_url,
                            os.path.join(store, "python")], emulator)
        run_with_login("C++ journey (bindings/cpp/passauth.hpp)",
                       [os.path.join(examples, "cpp-journey"), emulator.base_url, os.path.join(store, "cpp")], emulator)

        env = {**os.environ, "PASSAUTH_BASE_URL": emulator.base_url, "PASSAUTH_SERVICE_PROVIDER": "REF30",
               "PASSAUTH_SOFTWARE_STATEMENT": STATEMENT, "PASSAUTH_STORE": os.path.join(store, "cli"),
               "PASSAUTH_DEVICE_ID": "demo-terminal"}
        run("passauth register", [cli, "register"], env)
        run("passauth providers --no-temppass", [cli, "providers", "--no-temppass"], env)
        run_with_login("passauth login --mvpd Spectrum", [cli, "login", "--mvpd", "Spectrum"], emulator, env)
        run("passauth authorize REF30 (the media token is not shown)", [cli, "authorize", "REF30"], env)
        run("passauth logout", [cli, "logout"], env)

        stats = emulator.control("stats")
        print(f"\nemulator saw: {stats['requests']} over {stats['connections']} TCP connections")


if __name__ == "__main__":
    examples = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build", "examples")
    main(examples, sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, "build", "bin", "passauth"))
