#!/usr/bin/env python3
"""Connections: TCP connections the emulator accepted while one client made 1,000 sequential authorize
calls (after registration), over plain HTTP and over TLS (`--tls`, config `caFile`). Target: 1.
Baseline: the raw libcurl program (one reused easy handle) making the same 1,000 calls. The calls
themselves are measured with `profileRefreshMs: 0`; with the default, the profile refresh after a permit
runs in the background on the library's own connection, so a second row (information) shows the total.

    python3 benchmarks/connections.py [--calls 1000]
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import Emulator, RawRequest, bench_row, config, run_passauth, temporary_store  # noqa: E402


def connections_during(emulator: Emulator, action) -> int:
    # The control calls themselves use one connection each (urllib does not keep alive): subtract it.
    before = emulator.stats()["connections"]
    action()
    return emulator.stats()["connections"] - before - 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=1000)
    args = parser.parse_args()
    for tls in (False, True):
        with Emulator(tls=tls) as emulator, temporary_store() as store:
            emulator.add_profile()
            cfg = dict(config(emulator, store), profileRefreshMs=0)
            run_passauth(cfg, 0)  # register first: the figure is about the authorize calls
            raw = RawRequest(emulator, store)
            # One warm-up call and `calls` measured calls per process, on one client.
            ours = connections_during(emulator, lambda: run_passauth(cfg, args.calls - 1))
            theirs = connections_during(emulator, lambda: raw.run(args.calls - 1))
            with_refresh = connections_during(emulator, lambda: run_passauth(config(emulator, store), args.calls - 1))
            name = f"connections for {args.calls} calls ({'TLS' if tls else 'HTTP'})"
            bench_row(name, f"{ours} conn", f"{theirs} conn (libcurl, reused handle)", f"{ours / max(theirs, 1):.2f}x",
                      "1 conn", "PASS" if ours == 1 else "FAIL")
            bench_row(f"{name}, with the background profile refresh", f"{with_refresh} conn", "-", "-",
                      "calls' + 1 background", "PASS" if with_refresh <= ours + 1 else "FAIL")
    return 0


if __name__ == "__main__":
    sys.exit(main())
