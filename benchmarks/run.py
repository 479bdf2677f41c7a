#!/usr/bin/env python3
"""`make bench`: runs every benchmark program, collects the rows they print

    BENCH|<name>|<figure with unit>|<baseline with unit>|<ratio>|<target>|<PASS/FAIL/INFO>

and prints one aligned table. Programs: the ones listed below, then any `benchmarks/s2s_*.py` program
and any `benchmarks/s2s_*.c` program (built into build/bench/ by `make bench`) that exists; S2S figures whose program is missing are printed as
"not measured yet". Each program's own notes (stderr) are shown as they come.

    python3 benchmarks/run.py [--quick]
"""

from __future__ import annotations

import argparse
import glob
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))

PROGRAMS = [
    ("traffic.py", ["--runs", "7"], ["--runs", "3", "--no-callgrind"]),
    ("python_authorize.py", ["--calls", "500", "--runs", "7"], ["--calls", "100", "--runs", "3", "--n2", "0"]),
    ("connections.py", [], []),
    ("api_calls.py", [], []),
    ("footprint.py", [], ["--runs", "5"]),
    ("poll_slices.py", [], []),
    # Built by `make bench` (a Swift program over the core): the state layer's cost per login.
    ("../build/bench/store_scale", ["--devices", "1000,1000000"], ["--devices", "1000,100000", "--writes", "101"]),
    # The same in a Redis store (the program starts its own redis-server).
    ("../build/bench/store_scale", ["--devices", "1000,1000000", "--store", "redis"],
     ["--devices", "1000,100000", "--writes", "101", "--store", "redis"]),
    # build/bench/engine (a Swift program over the core) against the traffic server: a blocking call handed to
    # the multi thread and waited for, against the same call on the caller's thread ("One engine").
    ("engine.py", [], ["--calls", "200", "--runs", "3", "--thread-calls", "50", "--thread-runs", "3"]),
]
# The S2S figures, measured by benchmarks/s2s_* programs (s2s_polls.py: 50,000 polls).
# A placeholder row is printed for a figure when no row of an s2s_* program names it (keywords).
S2S_FIGURES = [
    (("poll",), "S2S 50,000 concurrent polls (RSS, threads, gaps per code, login to callback, CPU/request)"),
    (("thread", "50 ms"), "S2S 32 threads against a 50 ms server"),
    (("fleet",), "S2S fleet: 3 instances x 10,000 polls on one Redis, one killed at half-time"),
]
COLUMNS = ["benchmark", "figure", "baseline", "ratio", "target", "result"]


def run(command, label):
    started = time.monotonic()
    print(f"== {label}", file=sys.stderr, flush=True)
    process = subprocess.run(command, stdout=subprocess.PIPE, text=True, cwd=os.path.dirname(HERE))
    rows = [line.split("|")[1:7] for line in process.stdout.splitlines() if line.startswith("BENCH|")]
    rows = [row + [""] * (6 - len(row)) for row in rows]
    if process.returncode != 0:
        rows.append([label, f"program failed (exit {process.returncode})", "-", "-", "-", "FAIL"])
    print(f"   {len(rows)} row(s) in {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
    return rows


def command_for(path):
    return [sys.executable, path] if path.endswith(".py") else [path]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer calls and runs (a smoke test, noisier)")
    args = parser.parse_args()
    started = time.monotonic()
    rows = []
    for name, arguments, quick in PROGRAMS:
        path = os.path.join(HERE, name)
        if not os.path.exists(path):
            rows.append([os.path.basename(name), "not built (make bench builds it)", "-", "-", "-", "FAIL"])
            continue
        rows += run(command_for(path) + (quick if args.quick else arguments), os.path.basename(name))
    # benchmarks/s2s_*.py run with Python; benchmarks/s2s_*.c are compiled by `make bench` into build/bench/.
    s2s = sorted(glob.glob(os.path.join(HERE, "s2s_*.py")))
    s2s += sorted(p for p in glob.glob(os.path.join(os.path.dirname(HERE), "build", "bench", "s2s_*"))
                  if os.access(p, os.X_OK) and "." not in os.path.basename(p))
    s2s_rows = []
    for path in s2s:
        s2s_rows += run(command_for(path), os.path.basename(path))
    rows += s2s_rows
    for keywords, figure in S2S_FIGURES:
        if not any(k in row[0].lower() for row in s2s_rows for k in keywords):
            rows.append([figure, "not measured yet", "-", "-", "-", "-"])
    widths = [max(len(COLUMNS[i]), *(len(row[i]) for row in rows)) for i in range(6)]
    line = "+-" + "-+-".join("-" * w for w in widths) + "-+"
    print(line)
    print("| " + " | ".join(COLUMNS[i].ljust(widths[i]) for i in range(6)) + " |")
    print(line)
    for row in rows:
        print("| " + " | ".join(row[i].ljust(widths[i]) for i in range(6)) + " |")
    print(line)
    failed = sum(row[5] == "FAIL" for row in rows)
    print(f"{len(rows)} figures, {failed} FAIL; medians of several runs, ratios measured in the same run; "
          f"{time.monotonic() - started:.0f} s on {os.cpu_count()} CPUs; callgrind profiles in build/bench/callgrind.*.out")
    return 0


if __name__ == "__main__":
    sys.exit(main())
