#!/usr/bin/env python3
"""Many concurrent polls in one process: N pending codes, each polled by the library's poller at its own
cadence (intervalMs, >= 3 s), against a fast canned server in a separate process. Target (issue #7):
10,000 polls with RSS <= 64 MB and <= 4 threads of the library, never two requests for one code < 3 s apart.

    make build && PYTHONPATH=bindings/python python3 benchmarks/s2s_polls.py [--polls 10000] [--pending 30]
        [--interval 4] [--latency-ms 0]

Every code stays pending for --pending seconds, then the server answers its profile (each code at a random
moment of the following --spread seconds). Reported:
  - peak RSS and peak thread count of this process (/proc/self/status; the Python interpreter's own
    ~10 MB and 1 thread included; the benchmark's main thread only sleeps and samples);
  - per code, as recorded by the server: the minimum and the maximum gap between two requests (the
    minimum must be >= 3 s; the maximum shows whether the poller keeps each code's cadence);
  - how many polls ended OK, and the request rate the server saw.

What the current design (Poller.swift: 2 worker threads, one blocking request each, a timer heap) reaches
on the development VM, 10,000 polls at 4 s: while codes are pending, ~2,000 requests/s of the 2,500/s the
cadence asks (each code is polled every ~5 s instead of 4 s), 3 threads in the process, peak RSS ~53 MB,
never two requests for one code < 3 s apart (min gap 4.00 s). When the logins complete, every success
persists the profile through the store (lock, read, rewrite and fsync of the one state document, which
holds every device's profiles): that O(devices) write per success, on the poller's 2 threads, collapses
the rate to ~650/s and most polls time out in the benchmark's window (RSS peaks ~70 MB). The fixes this
points to: a curl-multi poller (requests of all codes in flight at once, not 2) and profile writes taken
off the poller threads and batched (one store write for many successes) — not done yet (issue #7).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from typing import Any, Dict, List

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "bindings", "python"))

import passauth  # noqa: E402

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


def proc_status() -> Dict[str, int]:
    values = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM", "Threads"):
                values[key] = int(rest.split()[0])
    return values


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--polls", type=int, default=10_000)
    parser.add_argument("--pending", type=float, default=30.0, help="seconds every code stays pending")
    parser.add_argument("--spread", type=float, default=10.0, help="logins complete over this many seconds after")
    parser.add_argument("--interval", type=float, default=4.0)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--no-pacing", action="store_true")
    args = parser.parse_args()

    server = subprocess.Popen([sys.executable, "-c", SERVER, str(args.pending), str(args.spread), str(args.latency_ms)],
                              stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None
    base_url = server.stdout.readline().split()[1]
    try:
        before = proc_status()
        client = passauth.Client({"baseUrl": base_url, "serviceProvider": "REF30", "softwareStatement": STATEMENT,
                                  "store": tempfile.mkdtemp(prefix="passauth-polls-"), "logLevel": "error",
                                  "pacing": not args.no_pacing, "device": {"id": "bench-default"}})
        client.register()
        not_after = int(time.time() * 1000) + 3_600_000
        started = time.monotonic()
        polls = []
        for i in range(args.polls):
            device = {"id": f"poll-device-{i}", "ip": f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}"}
            polls.append(client.poll(f"CODE{i:06d}", interval=args.interval, not_after_ms=not_after, device=device))
        start_seconds = time.monotonic() - started
        peak = proc_status()
        deadline = started + args.pending + args.spread + 4 * args.interval + 60
        while time.monotonic() < deadline:
            now = proc_status()
            peak = {k: max(peak[k], now[k]) for k in peak}
            time.sleep(0.5)
            if time.monotonic() > started + args.pending + args.spread + 2 * args.interval:
                break
        ok = 0
        failures: Dict[str, int] = {}
        for p in polls:
            try:
                p.wait(timeout=max(0.0, deadline - time.monotonic()))
                ok += 1
            except passauth.PassAuthError as error:
                name = type(error).__name__
                failures[name] = failures.get(name, 0) + 1
        stats = client.stats()
        elapsed = time.monotonic() - started
        now = proc_status()
        peak = {k: max(peak[k], now[k]) for k in peak}
        with urllib.request.urlopen(f"{base_url}/_stats") as response:
            seen: Dict[str, Any] = json.loads(response.read())
        for p in polls:
            p.close()
        client.close()
        rss_mb = peak["VmHWM"] / 1024
        threads = peak["Threads"]
        passed = (rss_mb <= 64 and threads - before["Threads"] <= 4 and (seen["minGapS"] or 99) >= 3.0
                  and ok == args.polls)
        print(f"s2s_polls {args.polls} polls (interval {args.interval} s, pending {args.pending} s): "
              f"started in {start_seconds:.1f} s, {ok}/{args.polls} ended OK after {elapsed:.1f} s; "
              f"peak RSS {rss_mb:.1f} MB (before client {before['VmRSS'] / 1024:.1f} MB), "
              f"peak threads {threads} (interpreter {before['Threads']}); server: {seen['requests']} requests "
              f"({seen['requests'] / elapsed:.0f}/s, ideal {args.polls / args.interval:.0f}/s), "
              f"min gap {seen['minGapS']:.2f} s, mean max gap {seen['meanMaxGapS']:.2f} s, max gap {seen['maxGapS']:.2f} s, "
              f"gaps < 3 s: {seen['under3s']}  {'PASS' if passed else 'FAIL'}")
        print(f"  failures {failures}; client stats: requestsTotal {stats.get('requestsTotal')}, retries "
              f"{stats.get('retries')}, connectionsOpened {stats.get('connectionsOpened')}")
        print(f"BENCH|S2S {args.polls} concurrent polls (RSS, threads, min gap per code)|"
              f"{rss_mb:.0f} MB, {threads - before['Threads']} threads, min gap {seen['minGapS']:.2f} s, {ok}/{args.polls} done|"
              f"-|-|<= 64 MB, <= 4 threads, >= 3 s, all done|{'PASS' if passed else 'FAIL'}", flush=True)
        return 0
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    sys.exit(main())
