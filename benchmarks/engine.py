#!/usr/bin/env python3
""""One engine": a blocking call handed to the CurlMulti thread and waited for (submit+wait) against the
same call made on the caller's thread with a pooled easy handle (send, what passauth does), through one
CurlTransport, against the traffic server (benchmarks/traffic_server.py, its own process: its CPU is not
counted).

    make bench-programs && python3 benchmarks/engine.py [--calls 400] [--runs 9] [--threads 8]
        [--thread-calls 100] [--thread-runs 5]

The request is the library's own authorize request (POST /decisions/authorize/Cablevision, one resource:
bearer token, X-Device-Info, ~1.5 KB out; a permit with a new 352-char media token, ~0.6 KB of JSON back),
made once through the Python package and read back from the traffic server, then replayed by
build/bench/engine (benchmarks/engine.swift: the core compiled with the program, CurlTransport as Client
builds it). Per mode, per run: user+sys CPU of the process (getrusage RUSAGE_SELF: the caller, the multi
thread, every thread), wall time and context switches (voluntary + involuntary), per call; the modes
alternate run by run (the first of each pair alternating too). Rows: the median of the runs per mode, the
send figure as baseline, the ratio the median of the per-pair ratios. Then the same with --threads
threads each making blocking calls at once (a back-end calling from many threads).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from typing import Dict, List, Tuple

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import BENCH_BIN, MVPD, PACKAGE_ROOT, SKIPPED_HEADERS, TrafficServer, bench_row, median  # noqa: E402

MODES = ("send", "submit+wait")


def capture_request(server: TrafficServer, directory: str) -> str:
    """One authorize through the package; its request (as the server received it) into a file."""
    sys.path.insert(0, PACKAGE_ROOT)
    import passauth

    store = os.path.join(directory, "store")
    os.mkdir(store)
    with passauth.Client(server.config(store)) as client:
        (decision,) = client.authorize(MVPD, ["REF30"])
        assert decision.authorized and decision.token is not None
    sent = server.last("authorize")
    path = os.path.join(directory, "request.txt")
    with open(path, "w") as out:
        out.write(f"{sent['method']}\n{server.base_url}{sent['target']}\n")
        for name, value in sent["headers"]:
            if name.lower() not in SKIPPED_HEADERS:
                out.write(f"{name}: {value}\n")
        out.write("\n" + sent["body"])
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=1000, help="calls per run, one thread")
    parser.add_argument("--runs", type=int, default=9, help="runs per mode, one thread")
    parser.add_argument("--warmup", type=int, default=200, help="unmeasured calls per mode first")
    parser.add_argument("--threads", type=int, default=8, help="threads of the concurrent case (0: skip it)")
    parser.add_argument("--thread-calls", type=int, default=250, help="calls per thread per run, concurrent case")
    parser.add_argument("--thread-runs", type=int, default=7, help="runs per mode, concurrent case")
    args = parser.parse_args()
    program = os.path.join(BENCH_BIN, "engine")
    if not os.path.exists(program):
        raise SystemExit(f"{program} is missing: run `make bench-programs`")

    with TrafficServer() as server, tempfile.TemporaryDirectory(prefix="passauth-bench-") as directory:
        request = capture_request(server, directory)
        command = [program, "--request", request, "--calls", str(args.calls), "--runs", str(args.runs),
                   "--warmup", str(args.warmup), "--threads", str(args.threads), "--thread-calls",
                   str(args.thread_calls), "--thread-runs", str(args.thread_runs)]
        process = subprocess.run(command, stdout=subprocess.PIPE, text=True)
        seen = server.get("/_traffic/stats")
        print(f"# traffic server: {seen['requests']}, {seen['connections']} connections; request "
              f"{os.path.getsize(request)} bytes as replayed (without Host, Content-Length, Accept-Encoding)",
              file=sys.stderr)

    # (threads, mode) -> runs of (cpu, wall, switches) per call, in run order.
    runs: Dict[Tuple[int, str], List[Tuple[float, float, float]]] = {}
    failed = process.returncode != 0
    body = 0
    for line in process.stdout.splitlines():
        fields = line.split()
        if fields and fields[0] == "failed":
            failed = True
        elif fields and fields[0] == "run":
            mode, threads, calls = fields[1], int(fields[2]), int(fields[3])
            cpu, wall, voluntary, involuntary = (int(x) for x in fields[4:8])
            body = int(fields[8])
            runs.setdefault((threads, mode), []).append((cpu / calls / 1000, wall / calls / 1000,
                                                         (voluntary + involuntary) / calls))
    if failed or not runs:
        bench_row("engine: blocking call, submit+wait vs send", f"failed (exit {process.returncode}; see the notes)",
                  "-", "-", "-", "FAIL")
        return 1

    for threads in sorted({t for t, _ in runs}):
        send, other = runs[(threads, "send")], runs[(threads, "submit+wait")]
        what = "1 thread" if threads == 1 else f"{threads} threads at once"
        for index, (figure, unit, digits) in enumerate((("CPU/call", "µs", 1), ("wall/call", "µs", 1),
                                                        ("context switches/call", "", 2))):
            mine = median([run[index] for run in other])
            base = median([run[index] for run in send])
            ratio = median([b[index] / a[index] for a, b in zip(send, other) if a[index] > 0])
            suffix = f" {unit}" if unit else ""
            bench_row(f"engine: blocking authorize, submit+wait to the multi thread, {what}, {figure}",
                      f"{mine:.{digits}f}{suffix}", f"{base:.{digits}f}{suffix} (send: curl_easy_perform on the caller)",
                      f"{ratio:.2f}x", "informational", "INFO")
        cpu_send, cpu_other = median([r[0] for r in send]), median([r[0] for r in other])
        wall_send, wall_other = median([r[1] for r in send]), median([r[1] for r in other])
        print(f"# engine, {what}: the handoff adds {cpu_other - cpu_send:+.1f} µs CPU and {wall_other - wall_send:+.1f} µs wall "
              f"per call; {len(send)} runs per mode; CPU/call per run: send {', '.join(f'{r[0]:.1f}' for r in send)}; "
              f"submit+wait {', '.join(f'{r[0]:.1f}' for r in other)}", file=sys.stderr)
    print(f"# engine: answer body {body} bytes", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
