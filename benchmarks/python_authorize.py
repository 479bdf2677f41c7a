#!/usr/bin/env python3
"""The cost of one authorize call through the passauth Python package versus `requests` doing the same
request, against the traffic server (benchmarks/traffic_server.py: a new ~350-character media token in
every answer): CPU per call, and instructions per call under callgrind.

    make build bench-programs && PYTHONPATH=bindings/python python3 benchmarks/python_authorize.py \
        [--calls 500] [--runs 7] [--n1 1100] [--n2 1300] [--package DIR] [--two-runs]

The server runs in a separate process, so only the client process is counted.

1. CPU: `time.process_time()` (user + sys of every thread of the process, the library's own threads
   included) around a batch of `--calls` calls; runs alternate between the two sides; medians. The package's
   client first makes --n1 unmeasured calls, so its window of 1,024 remembered media tokens is full and
   evicting during every measured batch. The ratio is the median of the per-pair ratios (batch i of each side,
   run back to back). Target >= 6x cheaper.
2. Instructions: a child process (`--child`) under `valgrind --tool=callgrind --instr-atstart=no` makes
   --n1 calls uninstrumented, starts instrumentation (build/bench/libcgmark.so through ctypes:
   CALLGRIND_START_INSTRUMENTATION + ZERO_STATS), makes calls n1+1 .. n2, and dumps: (I(n2) - I(n1)) /
   (n2 - n1), start-up, imports, registration and the first n1 calls excluded (1,100 and 1,300 by default:
   past 1,024 calls). The `requests` child does the same. `--two-runs`: two fully instrumented children of
   n1 and n2 calls instead, totals subtracted (the same figure, the long way). Target >= 8x fewer. The
   profiles of the measured calls stay in build/bench/callgrind.python-{package,requests}.out.

The baseline replays, byte for byte, the request the library sent (method, path, headers including the
bearer token, JSON body — read back from the traffic server) with a `requests.Session` (keep-alive, like the
library), and decodes the answer with `response.json()`. The package's figure includes everything a Python
caller pays: argument encoding, ctypes, the native call, JSON decoding and the `Decision` objects
(`authorized` and `token` are read on both sides).

`--package DIR` measures another copy of the package (e.g. an older commit's `bindings/python`) with the
same server and library.

Prints rows `BENCH|name|figure|baseline|ratio|target|PASS/FAIL` (see benchmarks/README.md).
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from callgrind_diff import measured_dump, totals  # noqa: E402
from common import BENCH_BIN, MVPD, PACKAGE_ROOT, SKIPPED_HEADERS, TrafficServer, bench_row  # noqa: E402

CPU_TARGET = 6.0
INSTRUCTIONS_TARGET = 8.0


def cpu_per_call(call: Callable[[], None], calls: int) -> float:
    """Seconds of process CPU (user + sys, all threads) per call."""
    start = time.process_time()
    for _ in range(calls):
        call()
    return (time.process_time() - start) / calls


def callers(setup: Dict[str, Any]) -> Tuple[Callable[[], None], Callable[[], None], Callable[[], None]]:
    """(with_package, with_requests, close) for a setup written by the parent."""
    import passauth
    import requests

    client = passauth.Client(setup["config"])
    session = requests.Session()
    sent = setup["request"]

    def with_package() -> None:
        (d,) = client.authorize(MVPD, ["REF30"])
        assert d.authorized and d.token is not None

    def with_requests() -> None:
        response = session.request(sent["method"], sent["url"], headers=sent["headers"], data=sent["body"])
        response.raise_for_status()
        d = response.json()["decisions"][0]
        assert d["authorized"] and d["token"]["serializedToken"]

    def close() -> None:
        session.close()
        client.close()

    return with_package, with_requests, close


def child(side: str, setup_file: str, n1: int, n2: int, marks: bool) -> int:
    """`--child`: n1 uninstrumented calls, then calls n1+1 .. n2 between the callgrind markers."""
    with open(setup_file) as handle:
        setup = json.load(handle)
    with_package, with_requests, close = callers(setup)
    call = with_package if side == "package" else with_requests
    marker: Optional[Any] = None
    if marks:
        marker = ctypes.CDLL(os.path.join(BENCH_BIN, "libcgmark.so"))
    for _ in range(n1):
        call()
    if marker is not None:
        marker.cgmark_start()
    for _ in range(n2 - n1):
        call()
    if marker is not None:
        marker.cgmark_dump()
    close()
    return 0


def instructions_per_call(side: str, setup_file: str, n1: int, n2: int, package: str, two_runs: bool) -> float:
    os.makedirs(BENCH_BIN, exist_ok=True)
    keep = os.path.join(BENCH_BIN, f"callgrind.python-{side}.out")

    def run(out: str, first: int, last: int, extra: List[str], marks: bool) -> None:
        command = (["valgrind", "--tool=callgrind", "--quiet", f"--callgrind-out-file={out}"] + extra +
                   [sys.executable, os.path.abspath(__file__), "--child", side, "--setup", setup_file,
                    "--n1", str(first), "--n2", str(last), "--package", package] + ([] if marks else ["--no-marks"]))
        done = subprocess.run(command, env=dict(os.environ, PYTHONPATH=package), capture_output=True, text=True)
        if done.returncode != 0:  # valgrind's own notes (DWARF forms it does not know) only matter then
            raise SystemExit(f"callgrind run failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")

    if two_runs:
        found = []
        for n in (n1, n2):
            out = os.path.join(BENCH_BIN, f"callgrind.python-{side}.total{n}.out")
            run(out, n, n, [], False)
            found.append(totals(out))
        return (found[1] - found[0]) / (n2 - n1)
    prefix = os.path.join(BENCH_BIN, f"callgrind.python-{side}.run")
    for stale in [p for p in os.listdir(BENCH_BIN) if p.startswith(os.path.basename(prefix))]:
        os.remove(os.path.join(BENCH_BIN, stale))
    run(prefix, n1, n2, ["--instr-atstart=no"], True)
    shutil.copy(measured_dump(prefix), keep)
    for stale in [p for p in os.listdir(BENCH_BIN) if p.startswith(os.path.basename(prefix))]:
        os.remove(os.path.join(BENCH_BIN, stale))
    return totals(keep) / (n2 - n1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=500, help="authorize calls per CPU run")
    parser.add_argument("--runs", type=int, default=7, help="CPU runs per side (median reported)")
    parser.add_argument("--n1", type=int, default=1100, help="unmeasured calls before the measured ones")
    parser.add_argument("--n2", type=int, default=1300, help="calls in all (instructions: calls n1+1 .. n2; 0: skip)")
    parser.add_argument("--two-runs", action="store_true", help="callgrind: two fully instrumented children (n1, n2 calls)")
    parser.add_argument("--package", default=PACKAGE_ROOT, help="the directory holding the passauth package to measure")
    parser.add_argument("--child", choices=["package", "requests"], help=argparse.SUPPRESS)
    parser.add_argument("--setup", help=argparse.SUPPRESS)
    parser.add_argument("--no-marks", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    package = os.path.abspath(args.package)
    sys.path.insert(0, package)
    if args.child:
        return child(args.child, args.setup, args.n1, args.n2, not args.no_marks)
    if args.n2 and not os.path.exists(os.path.join(BENCH_BIN, "libcgmark.so")):
        raise SystemExit(f"{BENCH_BIN}/libcgmark.so is missing: run `make bench-programs`")

    with TrafficServer() as server, tempfile.TemporaryDirectory(prefix="passauth-bench-") as directory:
        store = os.path.join(directory, "store")
        os.mkdir(store)
        config = server.config(store)
        import passauth

        with passauth.Client(config) as client:  # registers; later clients reuse the store
            (decision,) = client.authorize(MVPD, ["REF30"])
            assert decision.authorized and decision.token is not None
        sent = server.last("authorize")
        setup = {"config": config, "request": {
            "method": sent["method"], "body": sent["body"], "url": server.base_url + sent["target"],
            "headers": {k: v for k, v in sent["headers"] if k.lower() not in SKIPPED_HEADERS}}}
        setup_file = os.path.join(directory, "setup.json")
        with open(setup_file, "w") as handle:
            json.dump(setup, handle)

        with_package, with_requests, close = callers(setup)
        for _ in range(args.n1):  # the token window full: every measured call evicts
            with_package()
        with_requests()  # warm the connection
        package_cpu: List[float] = []
        baseline_cpu: List[float] = []
        for _ in range(args.runs):
            package_cpu.append(cpu_per_call(with_package, args.calls))
            baseline_cpu.append(cpu_per_call(with_requests, args.calls))
        close()

        instructions = None
        if args.n2 and shutil.which("valgrind"):
            instructions = (instructions_per_call("package", setup_file, args.n1, args.n2, package, args.two_runs),
                            instructions_per_call("requests", setup_file, args.n1, args.n2, package, args.two_runs))

    figure = statistics.median(package_cpu) * 1e6
    reference = statistics.median(baseline_cpu) * 1e6
    ratio = statistics.median([b / a for a, b in zip(package_cpu, baseline_cpu)])  # per pair: same machine state
    print(f"# {args.runs} runs x {args.calls} authorize calls each (after {args.n1} unmeasured); CPU per call of this "
          f"process (median); runs: package {[round(x * 1e6) for x in package_cpu]} µs, requests "
          f"{[round(x * 1e6) for x in baseline_cpu]} µs", file=sys.stderr)
    bench_row("Python authorize CPU/call (new media token every call)", f"{figure:.0f} µs",
              f"{reference:.0f} µs (requests.Session)", f"{ratio:.1f}x cheaper", f">= {CPU_TARGET:.0f}x cheaper",
              "PASS" if ratio >= CPU_TARGET else "FAIL")
    name = f"Python authorize instructions/call (calls {args.n1 + 1:,}-{args.n2:,})"
    if not args.n2:
        pass  # --n2 0: no callgrind run (run.py --quick)
    elif instructions is None:
        bench_row(name, "not measured (no valgrind)", "-", "-", f">= {INSTRUCTIONS_TARGET:.0f}x fewer", "FAIL")
    else:
        ours, theirs = instructions
        ratio = theirs / ours
        bench_row(name, f"{ours / 1000:.0f} k", f"{theirs / 1000:.0f} k (requests.Session)", f"{ratio:.1f}x fewer",
                  f">= {INSTRUCTIONS_TARGET:.0f}x fewer", "PASS" if ratio >= INSTRUCTIONS_TARGET else "FAIL")
    return 0


if __name__ == "__main__":
    sys.exit(main())
