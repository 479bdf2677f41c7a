#!/usr/bin/env python3
"""Many concurrent polls in one process: N pending codes, each polled by the library's poller at its own
cadence (intervalMs, >= 3 s), against a fast canned server in a separate process. Target (issue #7):
10,000 polls with RSS <= 64 MB and <= 4 threads of the library, never two requests for one code < 3 s apart.

    make build bench-programs && python3 benchmarks/s2s_polls.py [--polls 10000] [--pending 30]
        [--interval 4] [--latency-ms 0]

The polls run in a C process (build/bench/poll_driver: one shared callback, the main thread only samples
/proc/self/status), so the figures are the library's, not a binding's. Every code stays pending for
--pending seconds, then the server answers its profile (each code at a random moment of the following
--spread seconds); every found profile is persisted in the client's file store. Reported:
  - peak RSS (VmHWM) of the polling process, and its RSS before the client and once the polls started;
  - the library's threads: the process's peak thread count minus its main thread;
  - per code, as recorded by the server: the minimum and the maximum gap between two requests (the
    minimum must be >= 3 s; the maximum shows whether the poller keeps each code's cadence);
  - how many polls ended OK, and the request rate the server saw.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from typing import Any, Dict

HERE = os.path.dirname(os.path.abspath(__file__))
STATEMENT = ("eyJhbGciOiJSUzI1NiJ9.eyJzb2Z0d2FyZV9pZCI6ImJlbmNoIiwiY2xpZW50X25hbWUiOiJiZW5jaCJ9."
             "c2lnbmF0dXJl")

SERVER = r'''
import asyncio, json, random, sys, time
PENDING, SPREAD, LATENCY = float(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]) / 1000
START = time.monotonic()
seen = {}        # code -> [count, last, min gap, max gap]
done_at = {}     # code -> monotonic time its login completes
total = [0]

def reply(status, body):
    data = json.dumps(body).encode()
    return (f"HTTP/1.1 {status} OK\r\nContent-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n").encode() + data

def stats():
    gaps = [v[2] for v in seen.values() if v[0] > 1]
    maxima = [v[3] for v in seen.values() if v[0] > 1]
    return {"codes": len(seen), "requests": total[0], "minGapS": min(gaps) if gaps else None,
            "maxGapS": max(maxima) if maxima else None,
            "meanMaxGapS": sum(maxima) / len(maxima) if maxima else None,
            "under3s": sum(1 for g in gaps if g < 3.0)}

async def handle(reader, writer):
    try:
        while True:
            line = await reader.readline()
            if not line:
                break
            method, path, _ = line.decode().split(" ", 2)
            length = 0
            while True:
                h = await reader.readline()
                if h in (b"\r\n", b"\n", b""):
                    break
                name, _, value = h.decode().partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            if length:
                await reader.readexactly(length)
            now_ms = int(time.time() * 1000)
            if path.startswith("/o/client/register"):
                out = reply(201, {"client_id": "bench", "client_secret": "bench-secret", "client_id_issued_at": now_ms // 1000})
            elif path.startswith("/o/client/token"):
                out = reply(201, {"access_token": "bench-token", "token_type": "bearer", "expires_in": 86400, "created_at": now_ms})
            elif "/profiles/code/" in path:
                total[0] += 1
                code = path.rsplit("/", 1)[1]
                t = time.monotonic()
                entry = seen.get(code)
                if entry is None:
                    seen[code] = [1, t, 1e9, 0.0]
                    done_at[code] = START + PENDING + random.random() * SPREAD
                else:
                    gap = t - entry[1]
                    entry[0] += 1; entry[1] = t; entry[2] = min(entry[2], gap); entry[3] = max(entry[3], gap)
                if LATENCY:
                    await asyncio.sleep(LATENCY)
                if t >= done_at[code]:
                    out = reply(200, {"profiles": {"Cablevision": {"notBefore": now_ms, "notAfter": now_ms + 86400000,
                        "issuer": "Cablevision", "type": "regular", "attributes": {}}}})
                else:
                    out = reply(200, {"profiles": {}})
            elif path.startswith("/_stats"):
                out = reply(200, stats())
            else:
                out = reply(404, {"error": "not found"})
            writer.write(out)
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()

async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=4096)
    print(f"READY http://127.0.0.1:{server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()

asyncio.run(main())
'''


DRIVER = os.path.join(HERE, "..", "build", "bench", "poll_driver")


def secs(value: Any) -> str:
    return "-" if value is None else f"{value:.2f} s"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--polls", type=int, default=10_000)
    parser.add_argument("--pending", type=float, default=30.0, help="seconds every code stays pending")
    parser.add_argument("--spread", type=float, default=10.0, help="logins complete over this many seconds after")
    parser.add_argument("--interval", type=float, default=4.0)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--no-pacing", action="store_true")
    args = parser.parse_args()
    if not os.path.exists(DRIVER):
        print(f"{DRIVER} is missing: run `make bench-programs`", file=sys.stderr)
        return 1

    server = subprocess.Popen([sys.executable, "-c", SERVER, str(args.pending), str(args.spread), str(args.latency_ms)],
                              stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None
    base_url = server.stdout.readline().split()[1]
    try:
        config = {"baseUrl": base_url, "serviceProvider": "REF30", "softwareStatement": STATEMENT,
                  "store": tempfile.mkdtemp(prefix="passauth-polls-"), "logLevel": "error",
                  "pacing": not args.no_pacing, "device": {"id": "bench-default"}}
        not_after = int(time.time() * 1000) + 3_600_000
        window_ms = int((args.pending + args.spread + 4 * args.interval + 60) * 1000)
        out = subprocess.run([DRIVER, json.dumps(config), str(args.polls), str(int(args.interval * 1000)),
                              str(not_after), str(window_ms)], stdout=subprocess.PIPE, text=True, check=True)
        run: Dict[str, Any] = json.loads(out.stdout)
        with urllib.request.urlopen(f"{base_url}/_stats") as response:
            seen: Dict[str, Any] = json.loads(response.read())
    finally:
        server.terminate()
        server.wait()
    elapsed = run["elapsedMs"] / 1000
    rss_mb = run["rssPeakKb"] / 1024
    threads = run["threads"] - 1
    ok = run["ok"]
    passed = rss_mb <= 64 and threads <= 4 and (seen["minGapS"] or 0) >= 3.0 and ok == args.polls
    print(f"s2s_polls {args.polls} polls (interval {args.interval} s, pending {args.pending} s): "
          f"started in {run['startMs'] / 1000:.1f} s, {ok}/{args.polls} ended OK after {elapsed:.1f} s; "
          f"peak RSS {rss_mb:.1f} MB (before the client {run['rssBeforeKb'] / 1024:.1f} MB, polls started "
          f"{run['rssStartedKb'] / 1024:.1f} MB), library threads {threads}; server: {seen['requests']} requests "
          f"({seen['requests'] / elapsed:.0f}/s, ideal {args.polls / args.interval:.0f}/s), "
          f"min gap {secs(seen['minGapS'])}, mean max gap {secs(seen['meanMaxGapS'])}, max gap {secs(seen['maxGapS'])}, "
          f"gaps < 3 s: {seen['under3s']}  {'PASS' if passed else 'FAIL'}", file=sys.stderr)
    stats = run["stats"] or {}
    print(f"  failures {run['failures']}; client stats: requestsTotal {stats.get('requestsTotal')}, retries "
          f"{stats.get('retries')}, connectionsOpened {stats.get('connectionsOpened')}", file=sys.stderr)
    print(f"BENCH|S2S {args.polls} concurrent polls (RSS, threads, min gap per code)|"
          f"{rss_mb:.0f} MB, {threads} threads, min gap {secs(seen['minGapS'])}, {ok}/{args.polls} done|"
          f"-|-|<= 64 MB, <= 4 threads, >= 3 s, all done|{'PASS' if passed else 'FAIL'}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
