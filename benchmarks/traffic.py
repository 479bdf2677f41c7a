#!/usr/bin/env python3
"""A player's hot calls under real traffic: authorize (a new media token in every answer), preauthorize
(new resource ids every call, and cached), profiles, configuration (cache hit) and stats, each through
libpassauth and, where there is one, through the raw floor (libcurl with one reused easy handle + jansson)
sending the same bytes, against the same fixed local server (benchmarks/traffic_server.py, its own
process: its CPU is not counted).

    make bench-programs && python3 benchmarks/traffic.py [--runs 3] [--only authorize,profiles] [--no-callgrind]
        [--two-runs]

Per scenario, two rows:
  CPU/call            user+sys CPU of the client process (getrusage, every thread) over the measured calls
                      after the unmeasured ones, / calls; median of --runs processes per side, the sides
                      alternating (passauth, raw, passauth, raw ...); the ratio is the median of the per-pair
                      ratios (passauth run i / raw run i), which a busy neighbour moves less.
  instructions/call   user-space instructions under `valgrind --tool=callgrind`, differenced over two run
                      lengths: (I(N2) - I(N1)) / (N2 - N1), I(n) the instructions the process executed up to
                      the end of its n-th call. The driver instruments only calls N1+1 .. N2 (valgrind
                      --instr-atstart=no, CALLGRIND_START_INSTRUMENTATION + ZERO_STATS after call N1, a dump
                      after call N2), so start-up, registration, the warm-up and exit are left out by
                      construction. `--two-runs` measures the same figure the long way (two processes of N1
                      and N2 calls, fully instrumented, totals subtracted) as a cross-check.
                      The profiles of the measured calls stay in build/bench/callgrind.<scenario>.{passauth,raw}.out
                      (`python3 benchmarks/callgrind_diff.py A B` lists the functions that cost more per call).
Scenarios (N1 -> N2 for callgrind; the CPU runs measure calls N1+1 .. N1+CPU_CALLS):
  authorize            N1 = 1,100, N2 = 1,300: past 1,024 calls, so the library's window of remembered media
                       tokens is full and evicting. Targets: instructions <= 1.3x raw, CPU <= 1.15x raw.
  preauthorize-miss    5 resources a call, new ids every call (the permit cache never answers but fills):
                       N1 = 2,100 (the 10,000-permit cache is full and evicting a tenth every 200 calls),
                       N2 = 2,500. Target: instructions <= 1.3x raw.
  preauthorize-cached  5 resources answered by the permit cache: <= 20k instructions.
  profiles             passauth_profiles vs a raw GET + parse: instructions <= 1.3x raw.
  configuration-hit    passauth_configuration from its cache (a ~3.5 KB document of 10 MVPDs): <= 20k.
  stats                passauth_stats on a client that made each call above once: <= 10k.
Config: "pacing": false, a fresh store directory (registration happens in the first process's warm-up).
If the traffic server or a driver fails, the rows say so (FAIL) and the driver's stderr is shown.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from typing import Any, Dict, List, Optional

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from callgrind_diff import format_excess, measured_dump, top_excess, totals  # noqa: E402
from common import BENCH_BIN, TrafficServer, bench_row, median  # noqa: E402

# Headers libcurl writes by itself: the raw program must not send them twice.
SKIPPED_HEADERS = {"host", "content-length", "expect"}


class Scenario:
    def __init__(self, name: str, endpoint: Optional[str], n1: int, n2: int, cpu_calls: int, cpu_target: Optional[float],
                 instructions_target: float, absolute: bool, what: str) -> None:
        self.name, self.endpoint, self.n1, self.n2, self.cpu_calls = name, endpoint, n1, n2, cpu_calls
        self.cpu_target, self.instructions_target, self.absolute, self.what = cpu_target, instructions_target, absolute, what


SCENARIOS = [
    Scenario("authorize", "authorize", 1100, 1300, 1000, 1.15, 1.3, False, "new media token every call"),
    Scenario("preauthorize-miss", "preauthorize", 2100, 2500, 1000, None, 1.3, False, "5 new resource ids every call"),
    Scenario("preauthorize-cached", None, 100, 1100, 5000, None, 20_000, True, "5 cached permits"),
    Scenario("profiles", "profiles", 100, 400, 1000, None, 1.3, False, "GET /profiles, 1 profile with attributes"),
    Scenario("configuration-hit", None, 100, 2100, 10000, None, 20_000, True, "10 MVPDs, from the cache"),
    Scenario("stats", None, 100, 2100, 10000, None, 10_000, True, "after one call of each kind"),
]


class DriverError(Exception):
    pass


def driver(side: str, scenario: str, argument: str, skip: int, calls: int, wrapper: Optional[List[str]] = None,
           env: Optional[Dict[str, str]] = None) -> Dict[str, Any]:
    command = (wrapper or []) + [os.path.join(BENCH_BIN, "traffic_bench"), side, scenario, argument, str(skip), str(calls)]
    done = subprocess.run(command, capture_output=True, text=True, env=dict(os.environ, **(env or {})))
    if done.returncode != 0:
        raise DriverError(f"traffic_bench {side} {scenario} failed (exit {done.returncode}): {done.stderr.strip()[-2000:]}")
    result: Dict[str, Any] = {}
    for line in done.stdout.splitlines():
        key, _, value = line.partition(" ")
        if key == "cpu_ns_per_call":
            result["cpu_ns"] = int(value)
        elif key == "stats":
            result["stats"] = json.loads(value)
    return result


def raw_request(server: TrafficServer, endpoint: str, scenario: str, directory: str) -> str:
    """The request passauth sent last for `endpoint` (its warm-up call 0), as the raw program's request file."""
    sent = server.last(endpoint)
    request: Dict[str, Any] = {"method": sent["method"], "url": server.base_url + sent["target"],
                               "headers": [f"{n}: {v}" for n, v in sent["headers"] if n.lower() not in SKIPPED_HEADERS]}
    if sent["method"] == "POST":
        body = sent["body"]
        if scenario == "preauthorize-miss":  # split around call 0's ids: the raw program writes call k's ids there
            pieces = []
            for i in range(5):
                before, found, body = body.partition(f"asset-{0:08d}-{i}")
                if not found:
                    raise DriverError(f"resource id {i} of call 0 not found in the preauthorize body {sent['body']!r}")
                pieces.append(before)
            request["body"] = pieces + [body]
        else:
            request["body"] = [body]
    path = os.path.join(directory, f"{scenario}.request.json")
    with open(path, "w") as out:
        json.dump(request, out)
    return path


def callgrind(scenario: Scenario, side: str, argument: str, two_runs: bool) -> float:
    """Instructions per call over calls N1+1 .. N2; keeps the profile in build/bench/callgrind.<scenario>.<side>.out."""
    keep = os.path.join(BENCH_BIN, f"callgrind.{scenario.name}.{side}.out")
    calls = scenario.n2 - scenario.n1
    if two_runs:  # two processes, everything instrumented, totals subtracted
        found = []
        for n in (scenario.n1, scenario.n2):
            out = os.path.join(BENCH_BIN, f"callgrind.{scenario.name}.{side}.total{n}.out")
            driver(side, scenario.name, argument, n, 0, ["valgrind", "--tool=callgrind", "--quiet",
                                                          f"--callgrind-out-file={out}"], {"TRAFFIC_BENCH_NO_MARKS": "1"})
            found.append(totals(out))
        return (found[1] - found[0]) / calls
    prefix = os.path.join(BENCH_BIN, f"callgrind.{scenario.name}.{side}.run")
    for stale in [p for p in os.listdir(BENCH_BIN) if p.startswith(os.path.basename(prefix))]:
        os.remove(os.path.join(BENCH_BIN, stale))
    driver(side, scenario.name, argument, scenario.n1, calls,
           ["valgrind", "--tool=callgrind", "--quiet", "--instr-atstart=no", f"--callgrind-out-file={prefix}"])
    shutil.copy(measured_dump(prefix), keep)
    for stale in [p for p in os.listdir(BENCH_BIN) if p.startswith(os.path.basename(prefix))]:
        os.remove(os.path.join(BENCH_BIN, stale))
    return totals(keep) / calls


def k(value: float) -> str:
    return f"{value / 1000:.1f} k"


def measure(scenario: Scenario, server: TrafficServer, config: str, directory: str, runs: int, use_callgrind: bool,
            two_runs: bool) -> None:
    label = f"C {scenario.name}"
    raw_file = None
    if scenario.endpoint:
        driver("passauth", scenario.name, config, 1, 0)  # call 0 only: the request the raw program replays
        raw_file = raw_request(server, scenario.endpoint, scenario.name, directory)

    ours: List[float] = []
    theirs: List[float] = []
    stats: Dict[str, Any] = {}
    for _ in range(runs):
        result = driver("passauth", scenario.name, config, scenario.n1, scenario.cpu_calls)
        ours.append(result["cpu_ns"] / 1000)
        stats = result.get("stats", {})
        if raw_file:
            theirs.append(driver("raw", scenario.name, raw_file, scenario.n1, scenario.cpu_calls)["cpu_ns"] / 1000)
    print(f"# {scenario.name}: CPU/call over calls {scenario.n1 + 1:,}..{scenario.n1 + scenario.cpu_calls:,}: passauth "
          f"{[round(x, 2) for x in ours]} µs" + (f", raw {[round(x, 2) for x in theirs]} µs" if theirs else "")
          + f"; client stats: requestsTotal {stats.get('requestsTotal')}, cacheHits {stats.get('cacheHits')}, "
          f"connectionsOpened {stats.get('connectionsOpened')}", file=sys.stderr, flush=True)
    figure = median(ours)
    cpu_name = f"{label} CPU/call ({scenario.what})"
    if theirs:
        baseline = median(theirs)
        # The ratio is the median of the per-pair ratios (each passauth run over the raw run right after it):
        # a pair sees the same machine, so a busy neighbour moves both sides of it.
        ratio = median([a / b for a, b in zip(ours, theirs)])
        target = f"<= {scenario.cpu_target}x" if scenario.cpu_target else "-"
        verdict = ("PASS" if ratio <= scenario.cpu_target else "FAIL") if scenario.cpu_target else "INFO"
        bench_row(cpu_name, f"{figure:.1f} µs", f"{baseline:.1f} µs (libcurl+jansson)", f"{ratio:.2f}x", target, verdict)
    else:
        bench_row(cpu_name, f"{figure:.2f} µs", "-", "-", "-", "INFO")

    instructions_name = f"{label} instructions/call (calls {scenario.n1 + 1:,}-{scenario.n2:,})"
    if not use_callgrind:
        return
    if shutil.which("valgrind") is None:
        bench_row(instructions_name, "not measured (no valgrind)", "-", "-", "-", "FAIL")
        return
    mine = callgrind(scenario, "passauth", config, two_runs)
    if raw_file:
        other = callgrind(scenario, "raw", raw_file, two_runs)
        ratio = mine / other
        passed = ratio <= scenario.instructions_target
        bench_row(instructions_name, k(mine), f"{k(other)} (libcurl+jansson)", f"{ratio:.3f}x",
                  f"<= {scenario.instructions_target}x", "PASS" if passed else "FAIL")
    else:
        passed = mine <= scenario.instructions_target
        bench_row(instructions_name, k(mine), "-", "-", f"<= {scenario.instructions_target / 1000:.0f} k",
                  "PASS" if passed else "FAIL")
    if not passed and not two_runs:
        ours_file = os.path.join(BENCH_BIN, f"callgrind.{scenario.name}.passauth.out")
        theirs_file = os.path.join(BENCH_BIN, f"callgrind.{scenario.name}.raw.out") if raw_file else None
        calls = scenario.n2 - scenario.n1
        print(f"# {scenario.name}: self cost per call, passauth" + (" minus raw" if raw_file else "") + ", top 10:\n"
              + format_excess(top_excess(ours_file, theirs_file, calls, calls, 10)), file=sys.stderr, flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="CPU runs per side (median)")
    parser.add_argument("--only", help="comma-separated scenarios (default: all)")
    parser.add_argument("--no-callgrind", action="store_true")
    parser.add_argument("--two-runs", action="store_true", help="callgrind: two fully instrumented processes (N1, N2 calls)")
    args = parser.parse_args()
    if not os.path.exists(os.path.join(BENCH_BIN, "traffic_bench")):
        raise SystemExit(f"{BENCH_BIN}/traffic_bench is missing: run `make bench-programs`")
    chosen = [s for s in SCENARIOS if not args.only or s.name in args.only.split(",")]
    server = TrafficServer()
    try:
        with tempfile.TemporaryDirectory(prefix="passauth-traffic-") as directory:
            store = os.path.join(directory, "store")
            os.mkdir(store)
            config = json.dumps(server.config(store))
            for scenario in chosen:
                try:
                    measure(scenario, server, config, directory, args.runs, not args.no_callgrind, args.two_runs)
                except DriverError as error:
                    print(f"# {error}", file=sys.stderr, flush=True)
                    bench_row(f"C {scenario.name}", "the driver failed (see the notes)", "-", "-", "-", "FAIL")
        seen = server.get("/_traffic/stats")
        print(f"# traffic server: {seen['requests']}, {seen['connections']} connections", file=sys.stderr)
    finally:
        server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
