#!/usr/bin/env python3
"""The cost of one authorize call through the passauth Python package versus `requests` doing the same
request: CPU per call, and instructions per call under callgrind.

    make build && PYTHONPATH=bindings/python python3 benchmarks/python_authorize.py \
        [--calls 300] [--runs 7] [--callgrind-calls 200] [--package DIR]

The emulator runs in a separate process (`python3 -m passauth_emulator --no-throttle --port 0`), so only
the client process is counted.

1. CPU: `time.process_time()` (user + sys of every thread of the process, the library's own threads
   included) around a batch of calls; runs alternate between the two sides; medians. Target >= 6x cheaper.
2. Instructions: a child process (`--child`) makes one unmeasured warm-up call, then N calls, under
   `valgrind --tool=callgrind`; its total minus the same child's with 0 calls, divided by N (start-up,
   imports and the warm-up cancel out; repeatable). Target >= 8x fewer. The profiles stay in
   build/bench/callgrind.python-*.out (`callgrind_annotate --inclusive=yes`).

The baseline replays, byte for byte, the request the library sent for its first authorize call (method,
path, headers including the bearer token, JSON body — read back from the emulator's request log) with a
`requests.Session` (keep-alive, like the library), and decodes the answer with `response.json()`. The
package's figure includes everything a Python caller pays: argument encoding, ctypes, the native call,
JSON decoding and the `Decision` objects (`authorized` and `token` are read on both sides).

`--package DIR` measures another copy of the package (e.g. an older commit's `bindings/python`) with
the same emulator and library.

Prints rows `BENCH|name|figure|baseline|ratio|target|PASS/FAIL` (see benchmarks/README.md).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from typing import Any, Callable, Dict, List, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, ".."))
PACKAGE_ROOT = os.path.join(ROOT, "bindings", "python")
EMULATOR_ROOT = os.path.join(ROOT, "emulator")  # the passauth_emulator package
BENCH_BIN = os.path.join(ROOT, "build", "bench")

CPU_TARGET = 6.0
INSTRUCTIONS_TARGET = 8.0
STATEMENT = ("eyJhbGciOiJSUzI1NiJ9.eyJzb2Z0d2FyZV9pZCI6ImJlbmNoIiwiY2xpZW50X25hbWUiOiJiZW5jaCJ9."
             "c2lnbmF0dXJl")
DEVICE = {"id": "bench-device-1", "info": {"primaryHardwareType": "SetTopBox", "model": "Bench",
                                           "vendor": "passauth", "osName": "Linux", "osVersion": "1"}}
SKIPPED_HEADERS = {"host", "content-length", "connection", "accept-encoding"}


def control(base_url: str, call: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{base_url}/_emulator/{call}", data=data, method="POST" if data else "GET",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())


def start_emulator() -> "Tuple[subprocess.Popen[str], str]":
    env = dict(os.environ, PYTHONPATH=os.path.abspath(EMULATOR_ROOT))
    process = subprocess.Popen([sys.executable, "-m", "passauth_emulator", "--no-throttle", "--port", "0"],
                               stdout=subprocess.PIPE, text=True, env=env)
    assert process.stdout is not None
    line = process.stdout.readline().split()
    if len(line) != 2 or line[0] != "PASSAUTH_EMULATOR_READY":
        process.kill()
        raise SystemExit(f"the emulator did not start: {line}")
    return process, line[1]


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
        (d,) = client.authorize("Cablevision", ["REF30"])
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


def child(side: str, setup_file: str, calls: int, warmup: int = 1) -> int:
    """`--child`: `warmup` calls, then `calls` calls (the process callgrind measures)."""
    with open(setup_file) as handle:
        setup = json.load(handle)
    with_package, with_requests, close = callers(setup)
    call = with_package if side == "package" else with_requests
    for _ in range(warmup):
        call()
    for _ in range(calls):
        call()
    close()
    return 0


def callgrind_total(out_file: str) -> int:
    with open(out_file) as data:
        for line in data:
            match = re.match(r"^(?:summary|totals):\s+(\d+)", line)
            if match:
                return int(match.group(1))
    raise SystemExit(f"no totals in {out_file}")


def instructions_per_call(side: str, setup_file: str, calls: int, package: str, warmup: int = 1) -> float:
    os.makedirs(BENCH_BIN, exist_ok=True)
    totals = []
    for n in (0, calls):
        out = os.path.join(BENCH_BIN, f"callgrind.python-{side}.{n}.out")
        command = ["valgrind", "--tool=callgrind", "--quiet", f"--callgrind-out-file={out}", sys.executable,
                   os.path.abspath(__file__), "--child", side, "--setup", setup_file, "--calls", str(n),
                   "--package", package, "--warmup", str(warmup)]
        done = subprocess.run(command, env=dict(os.environ, PYTHONPATH=package), capture_output=True, text=True)
        if done.returncode != 0:  # valgrind's own notes (DWARF forms it does not know) only matter then
            raise SystemExit(f"callgrind run failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
        totals.append(callgrind_total(out))
    shutil.copy(os.path.join(BENCH_BIN, f"callgrind.python-{side}.{calls}.out"),
                os.path.join(BENCH_BIN, f"callgrind.python-{side}.out"))
    return (totals[1] - totals[0]) / calls


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=300, help="authorize calls per CPU run")
    parser.add_argument("--runs", type=int, default=7, help="CPU runs per side (median reported)")
    parser.add_argument("--callgrind-calls", type=int, default=200, help="calls of the longer callgrind run (0: skip)")
    parser.add_argument("--package", default=PACKAGE_ROOT, help="the directory holding the passauth package to measure")
    parser.add_argument("--warmup", type=int, default=1,
                        help="unmeasured calls before the measured ones in the callgrind children (default 1)")
    parser.add_argument("--child", choices=["package", "requests"], help=argparse.SUPPRESS)
    parser.add_argument("--setup", help=argparse.SUPPRESS)
    args = parser.parse_args()
    package = os.path.abspath(args.package)
    sys.path.insert(0, package)
    if args.child:
        return child(args.child, args.setup, args.calls, args.warmup)

    emulator, base_url = start_emulator()
    try:
        with tempfile.TemporaryDirectory() as store:
            control(base_url, "profiles", {"deviceId": DEVICE["id"], "mvpd": "Cablevision"})
            config: Dict[str, Any] = {"baseUrl": base_url, "serviceProvider": "REF30", "softwareStatement": STATEMENT,
                                      "store": store, "device": DEVICE, "pacing": False, "logLevel": "none"}
            import passauth

            with passauth.Client(config) as client:  # registers; later clients reuse the store
                (decision,) = client.authorize("Cablevision", ["REF30"])
                assert decision.authorized and decision.token is not None
            sent = [r for r in control(base_url, "requests")["requests"] if r["endpoint"] == "decisions.authorize"][-1]
            setup = {"config": config, "request": {
                "method": sent["method"], "body": sent["body"],
                "url": base_url + sent["path"] + (f"?{sent['query']}" if sent.get("query") else ""),
                "headers": {k: v for k, v in sent["headers"].items() if k not in SKIPPED_HEADERS}}}
            setup_file = os.path.join(store, "setup.json")
            with open(setup_file, "w") as handle:
                json.dump(setup, handle)

            with_package, with_requests, close = callers(setup)
            with_package()
            with_requests()  # warm the connections
            package_cpu: List[float] = []
            baseline_cpu: List[float] = []
            for _ in range(args.runs):
                package_cpu.append(cpu_per_call(with_package, args.calls))
                baseline_cpu.append(cpu_per_call(with_requests, args.calls))
            close()

            instructions = None
            if args.callgrind_calls and shutil.which("valgrind"):
                instructions = (instructions_per_call("package", setup_file, args.callgrind_calls, package, args.warmup),
                                instructions_per_call("requests", setup_file, args.callgrind_calls, package, args.warmup))
    finally:
        emulator.terminate()
        emulator.wait(timeout=10)

    figure = statistics.median(package_cpu) * 1e6
    reference = statistics.median(baseline_cpu) * 1e6
    ratio = reference / figure
    print(f"# {args.runs} runs x {args.calls} authorize calls each; CPU per call of this process (median); "
          f"runs: package {[round(x * 1e6) for x in package_cpu]} µs, requests "
          f"{[round(x * 1e6) for x in baseline_cpu]} µs", file=sys.stderr)
    # The row format every benchmark prints; benchmarks/run.py collects them into one table.
    print(f"BENCH|Python authorize CPU/call|{figure:.0f} µs|{reference:.0f} µs (requests.Session)|{ratio:.1f}x cheaper|"
          f">= {CPU_TARGET:.0f}x cheaper|{'PASS' if ratio >= CPU_TARGET else 'FAIL'}", flush=True)
    if instructions is None:
        print(f"BENCH|Python authorize instructions/call (callgrind)|not measured (no valgrind)|-|-|"
              f">= {INSTRUCTIONS_TARGET:.0f}x fewer|FAIL", flush=True)
    else:
        ours, theirs = instructions
        ratio = theirs / ours
        print(f"BENCH|Python authorize instructions/call (callgrind)|{ours / 1000:.0f} k|{theirs / 1000:.0f} k "
              f"(requests.Session)|{ratio:.1f}x fewer|>= {INSTRUCTIONS_TARGET:.0f}x fewer|"
              f"{'PASS' if ratio >= INSTRUCTIONS_TARGET else 'FAIL'}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
