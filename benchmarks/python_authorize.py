#!/usr/bin/env python3
"""CPU per authorize call: the passauth Python package versus `requests` doing the same request.

    make build && PYTHONPATH=bindings/python python3 benchmarks/python_authorize.py [--calls 300] [--runs 7]

The emulator runs in a separate process (`python3 -m passauth_emulator --no-throttle --port 0`), so only
this process's CPU is counted: `time.process_time()` (user + sys of every thread of the process, the
library's own threads included) around a batch of calls.

The baseline replays, byte for byte, the request the library sent for its first authorize call (method,
path, headers including the bearer token, JSON body — read back from the emulator's request log) with a
`requests.Session` (keep-alive, like the library), and decodes the answer with `response.json()`. The
package's figure includes everything a Python caller pays: ctypes, the native call, JSON decoding and
the `Decision`/`MediaToken` dataclasses.

Prints one row `BENCH|name|figure|baseline|ratio|target|PASS/FAIL` (see benchmarks/README.md).
Machines are shared and noisy: runs alternate between the two sides and the median is reported.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from typing import Any, Callable, Dict, List

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE_ROOT = os.path.join(HERE, "..", "bindings", "python")
EMULATOR_ROOT = os.path.join(HERE, "..", "emulator")  # the passauth_emulator package
sys.path.insert(0, PACKAGE_ROOT)

import passauth  # noqa: E402
import requests  # noqa: E402

TARGET_RATIO = 6.0
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


def start_emulator() -> "tuple[subprocess.Popen[str], str]":
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=300, help="authorize calls per run")
    parser.add_argument("--runs", type=int, default=7, help="runs per side (median reported)")
    args = parser.parse_args()

    emulator, base_url = start_emulator()
    try:
        with tempfile.TemporaryDirectory() as store:
            control(base_url, "profiles", {"deviceId": DEVICE["id"], "mvpd": "Cablevision"})
            config: Dict[str, Any] = {"baseUrl": base_url, "serviceProvider": "REF30", "softwareStatement": STATEMENT,
                                      "store": store, "device": DEVICE, "pacing": False, "logLevel": "none"}
            with passauth.Client(config) as client:
                (decision,) = client.authorize("Cablevision", ["REF30"])
                assert decision.authorized and decision.token is not None

                sent = [r for r in control(base_url, "requests")["requests"] if r["endpoint"] == "decisions.authorize"][-1]
                url = base_url + sent["path"] + (f"?{sent['query']}" if sent.get("query") else "")
                headers = {k: v for k, v in sent["headers"].items() if k not in SKIPPED_HEADERS}
                body = sent["body"].encode()
                session = requests.Session()

                def with_package() -> None:
                    (d,) = client.authorize("Cablevision", ["REF30"])
                    assert d.authorized and d.token is not None

                def with_requests() -> None:
                    response = session.request(sent["method"], url, headers=headers, data=body)
                    response.raise_for_status()
                    d = response.json()["decisions"][0]
                    assert d["authorized"] and d["token"]["serializedToken"]

                with_requests()  # warm the connection
                package: List[float] = []
                baseline: List[float] = []
                for run in range(args.runs):
                    package.append(cpu_per_call(with_package, args.calls))
                    baseline.append(cpu_per_call(with_requests, args.calls))
                stats = client.stats()
    finally:
        emulator.terminate()
        emulator.wait(timeout=10)

    figure = statistics.median(package) * 1e6
    reference = statistics.median(baseline) * 1e6
    ratio = reference / figure
    verdict = "PASS" if ratio >= TARGET_RATIO else "FAIL"
    print(f"# {args.runs} runs x {args.calls} authorize calls each; CPU per call of this process (median); "
          f"passauth opened {stats['connectionsOpened']} TCP connection(s) for {stats['requestsTotal']} requests",
          file=sys.stderr)
    # The row format every benchmark prints; benchmarks/run.py collects them into one table.
    print(f"BENCH|Python authorize CPU/call|{figure:.0f} µs|{reference:.0f} µs (requests.Session)|{ratio:.1f}x cheaper|"
          f">= {TARGET_RATIO:.0f}x cheaper|{verdict}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
