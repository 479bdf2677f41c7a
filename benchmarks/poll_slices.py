#!/usr/bin/env python3
"""A player's wait-in-slices loop: `passauth_poll_wait(poll, 100, NULL)` for 3 s on a poll that stays
pending, from C (`build/bench/poll_slices`, benchmarks/c/poll_slices.c). Counts the returns and the CPU
of the loop; with the 0.1 ABI the loop spun (572,950 returns in 3 s), with PASSAUTH_PENDING it waits
its slices (~30 returns).

    make bench            (or: python3 benchmarks/poll_slices.py [--seconds 3] [--slice-ms 100])

The emulator runs in its own process (its CPU is not counted); nobody completes the login, so the
poll stays pending for the whole run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import Emulator, config, program, temporary_store  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=3)
    parser.add_argument("--slice-ms", type=int, default=100)
    args = parser.parse_args()
    with Emulator() as emulator, temporary_store() as store:
        result = subprocess.run([program("poll_slices"), json.dumps(config(emulator, store)), str(args.seconds),
                                 str(args.slice_ms)], capture_output=True, text=True, timeout=120)
        sys.stderr.write(result.stderr)
        sys.stdout.write(result.stdout)
        return result.returncode


if __name__ == "__main__":
    sys.exit(main())
