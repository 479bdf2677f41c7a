#!/usr/bin/env python3
"""C path: the cost of one `passauth_authorize` call versus the raw floor (libcurl, one reused easy
handle, + jansson parsing the answer), on the same request against the emulator.

    make bench            (or: python3 benchmarks/c_authorize.py [--calls 2000] [--runs 5] [--callgrind-calls 200])

1. CPU (user + sys, every thread of the client process, getrusage) per call, over `--calls` calls after
   one unmeasured warm-up call; `--runs` fresh processes per side, alternating; medians. Target <= 1.15x.
2. User-space instructions per call under `valgrind --tool=callgrind`: a run of N calls minus a run of
   0 calls (same start-up, same warm-up call), divided by N. Repeatable. Target <= 1.3x.
   The passauth profile is kept in build/bench/callgrind.passauth.out (`callgrind_annotate --inclusive=yes`).

The raw program replays, byte for byte, the request passauth sent (method, URL, headers with the bearer
token, JSON body — read back from the emulator's request log). The emulator runs in its own process,
so its CPU is not counted.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (BENCH_BIN, Emulator, RawRequest, bench_row, config, median, run_passauth,  # noqa: E402
                    temporary_store)

CPU_TARGET = 1.15
INSTRUCTIONS_TARGET = 1.3


def callgrind_total(out_file: str) -> int:
    with open(out_file) as data:
        for line in data:
            match = re.match(r"^(?:summary|totals):\s+(\d+)", line)
            if match:
                return int(match.group(1))
    raise SystemExit(f"no totals in {out_file}")


def callgrind(name: str, run, calls: int) -> float:
    totals = []
    for n in (0, calls):
        out = os.path.join(BENCH_BIN, f"callgrind.{name}.{n}.out")
        run(n, ["valgrind", "--tool=callgrind", "--quiet", f"--callgrind-out-file={out}"])
        totals.append(callgrind_total(out))
    shutil.copy(os.path.join(BENCH_BIN, f"callgrind.{name}.{calls}.out"), os.path.join(BENCH_BIN, f"callgrind.{name}.out"))
    return (totals[1] - totals[0]) / calls


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--callgrind-calls", type=int, default=200)
    args = parser.parse_args()

    with Emulator() as emulator, temporary_store() as store:
        emulator.add_profile()
        cfg = config(emulator, store)
        run_passauth(cfg, 0)  # registers; the store now holds credentials and a token
        raw = RawRequest(emulator, store)

        package, floor = [], []
        for _ in range(args.runs):
            package.append(run_passauth(cfg, args.calls)["cpu_ns_per_call"] / 1000)
            floor.append(raw.run(args.calls)["cpu_ns_per_call"] / 1000)
        figure, baseline = median(package), median(floor)
        ratio = figure / baseline
        print(f"# CPU/call runs: passauth {[round(x, 1) for x in package]} µs, raw {[round(x, 1) for x in floor]} µs",
              file=sys.stderr)
        bench_row("C authorize CPU/call", f"{figure:.1f} µs", f"{baseline:.1f} µs (libcurl+jansson)", f"{ratio:.2f}x",
                  f"<= {CPU_TARGET}x", "PASS" if ratio <= CPU_TARGET else "FAIL")

        if shutil.which("valgrind") is None:
            bench_row("C authorize instructions/call", "not measured (no valgrind)", "-", "-", f"<= {INSTRUCTIONS_TARGET}x", "FAIL")
            return 0
        n = args.callgrind_calls
        ours = callgrind("passauth", lambda calls, wrapper: run_passauth(cfg, calls, wrapper), n)
        theirs = callgrind("raw", lambda calls, wrapper: raw.run(calls, wrapper), n)
        ratio = ours / theirs
        bench_row("C authorize instructions/call (callgrind)", f"{ours / 1000:.1f} k", f"{theirs / 1000:.1f} k (libcurl+jansson)",
                  f"{ratio:.2f}x", f"<= {INSTRUCTIONS_TARGET}x", "PASS" if ratio <= INSTRUCTIONS_TARGET else "FAIL")
    return 0


if __name__ == "__main__":
    sys.exit(main())
