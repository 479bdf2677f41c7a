#!/usr/bin/env python3
"""A fleet of instances sharing their polls through one Redis: 3 C processes (build/bench/fleet_driver) with
"store": "redis://..." against the canned service build/bench/poll_server (C, epoll, its own process) and a
redis-server of its own (tests/redis/redis-test-server.sh: loopback, no persistence).

    make build bench-programs && python3 benchmarks/s2s_fleet.py [--polls 10000] [--instances 3]
        [--interval 4] [--pending 16] [--spread 8] [--authorize 1500] [--threads 4]

Polls: instance k starts the polls of the codes n % 3 == k (device and IP of its own each, interval 4 s,
pacing on), 10,000 in all; every code stays pending --pending seconds after the first request of any
code, then completes at a random moment of the next --spread seconds (the server answers its profile).
At half-time (before any code completes) the last instance is SIGKILLed, with a mark in the server's
log. Reported:
  - polls ended OK: the callbacks of the surviving instances, plus, for the killed instance's codes, the
    profile stored in Redis for the device and the poll's record marked done (taken over);
  - takeover: from the kill to the last of the killed instance's pending codes asked again (every code of
    the fleet asked again within two intervals of the kill), and the longest gap between two requests of
    one code spanning the kill (a code the dead instance claimed just before dying waits its interval
    and then the claim's lease, 1.5 intervals: informational);
  - the minimum gap between two requests for one code, fleet-wide, as the server saw them (>= 3 s);
  - peak RSS (VmHWM) of each instance.
Authorize: then 3 new instances make --authorize passauth_authorize calls each on --threads threads at
once (a device and IP per call, so pacing never waits; each call takes its device's turn in Redis), and
one instance alone the same: calls/s of the fleet against one instance (informational: the 3 instances,
the server and Redis share the machine's cores).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from typing import Any, Dict, List, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from common import BENCH_BIN, ROOT, STATEMENT, bench_row  # noqa: E402

sys.path.insert(0, os.path.join(ROOT, "tests", "redis"))
from redis_server import RedisServer  # noqa: E402

DRIVER = os.path.join(BENCH_BIN, "fleet_driver")
SERVER = os.path.join(BENCH_BIN, "poll_server")
PREFIX = "fleetbench:"
RSS_TARGET_MB = 160


class Redis(RedisServer):
    """The run's redis-server (tests/redis/redis_server.py) and a raw RESP pipeline to it."""

    def pipeline(self, commands: List[List[str]]) -> List[Any]:
        payload = b"".join(b"*%d\r\n" % len(c) + b"".join(b"$%d\r\n%s\r\n" % (len(w.encode()), w.encode()) for w in c)
                           for c in commands)
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as s:
            s.sendall(payload)
            reader = s.makefile("rb")
            return [self._read(reader) for _ in commands]

    def _read(self, reader: Any) -> Any:
        line = reader.readline().rstrip(b"\r\n")
        kind, rest = line[:1], line[1:]
        if kind in (b"+", b"-"):
            return rest.decode()
        if kind == b":":
            return int(rest)
        if kind == b"$":
            size = int(rest)
            if size < 0:
                return None
            data = reader.read(size + 2)[:-2]
            return data.decode("utf-8", "replace")
        if kind == b"*":
            return [self._read(reader) for _ in range(int(rest))]
        raise ValueError(f"unexpected reply {line!r}")


def get(base_url: str, path: str) -> Any:
    with urllib.request.urlopen(f"{base_url}{path}", timeout=30) as response:
        return json.loads(response.read())


def config(base_url: str, redis: Redis) -> str:
    return json.dumps({"baseUrl": base_url, "serviceProvider": "REF30", "softwareStatement": STATEMENT,
                       "store": redis.url, "storeKeyPrefix": PREFIX, "logLevel": "error", "device": {"id": "bench-default"}})


def taken_over(redis: Redis, base_url: str, codes: List[int]) -> Tuple[int, int]:
    """Of the killed instance's codes: how many have their device's profile stored, and their record done."""
    scope = f"{PREFIX}{{{base_url}|REF30"
    commands: List[List[str]] = []
    for n in codes:
        commands.append(["EXISTS", f"{scope}|poll-device-{n}}}:profiles"])
        digest = hashlib.sha1(f"poll-device-{n}\0CODE{n:06d}".encode()).hexdigest()
        commands.append(["HGET", f"{scope}}}:poll:{digest}", "st"])
    replies = redis.pipeline(commands)
    stored = sum(1 for reply in replies[0::2] if reply == 1)
    done = sum(1 for reply in replies[1::2] if reply == "done")
    return stored, done


def run_polls(args: argparse.Namespace, redis: Redis) -> List[str]:
    """The poll phase; returns the notes' lines."""
    server = subprocess.Popen([SERVER, str(args.polls), str(args.pending), str(args.spread), str(args.latency_ms)],
                              stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None
    base_url = server.stdout.readline().split()[1]
    killed = args.instances - 1
    polls = f"{args.polls:,}"
    name = f"S2S fleet: {args.instances} instances x {polls} polls in all, one SIGKILLed at half-time"
    try:
        not_after = int(time.time() * 1000) + 3_600_000
        window_ms = int((args.pending + args.spread + 6 * args.interval + 30) * 1000)
        drivers = [subprocess.Popen([DRIVER, "polls", config(base_url, redis), str(args.polls), str(k), str(args.instances),
                                     str(int(args.interval * 1000)), str(not_after), str(window_ms)],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    text=True)
                   for k in range(args.instances)]
        for driver in drivers:
            assert driver.stdout is not None
            line = driver.stdout.readline()
            if not line.startswith("STARTED"):
                raise RuntimeError(f"a driver did not start: {line!r} {driver.stderr.read() if driver.stderr else ''}")
        started = time.monotonic()
        # Half-time: halfway to the first logins (codes complete from --pending s after the first request).
        time.sleep(max(0.0, args.pending / 2 - (time.monotonic() - started)))
        get(base_url, "/_mark")
        if not args.no_kill:
            drivers[killed].send_signal(signal.SIGKILL)
            drivers[killed].wait()
        killed_after = time.monotonic() - started
        results: List[Dict[str, Any]] = []
        for driver in (drivers if args.no_kill else drivers[:killed]):
            out, err = driver.communicate(timeout=window_ms / 1000 + 30)
            if driver.returncode != 0:
                raise RuntimeError(f"fleet_driver failed (exit {driver.returncode}): {err.strip()[-1500:]}")
            results.append(json.loads(out.strip().splitlines()[-1]))
        # The killed instance's codes: taken over by the others (their profile stored, their record done).
        mine = [n for n in range(args.polls) if n % args.instances == killed]
        deadline = time.monotonic() + 4 * args.interval
        stored, done = taken_over(redis, base_url, mine)
        while (stored < len(mine) or done < len(mine)) and time.monotonic() < deadline:
            time.sleep(0.5)
            stored, done = taken_over(redis, base_url, mine)
        elapsed = time.monotonic() - started
        seen = get(base_url, "/_stats")
        theirs = get(base_url, f"/_takeover?mod={args.instances}&rem={killed}&limit={2 * args.interval}")
        everyone = get(base_url, f"/_takeover?mod=1&rem=0&limit={2 * args.interval}")
    finally:
        server.terminate()
        server.wait()
    ok = sum(r["ok"] for r in results)
    survivors = sum(r["polls"] for r in results)
    all_ok = ok == survivors and stored == len(mine) and done == len(mine)
    rss = [r["rssPeakKb"] / 1024 for r in results]
    threads = [r["threads"] - 1 for r in results]
    interval = args.interval
    first_after, across, across_all = theirs["firstAfterS"], theirs["maxGapAcrossS"], everyone["maxGapAcrossS"]
    # Within two intervals of the death: the claims the dead instance held end with their lease (the
    # interval and half an interval after the claim), so a code it had claimed just before dying waits
    # its interval plus the lease between two requests: informational.
    takeover_ok = (0 <= theirs["maxFirstAfterS"] <= 2 * interval and everyone["overLimit"] == 0
                   and theirs["requestedAfter"] == theirs["codes"])
    min_gap = seen["minGapS"]
    failures = {k: v for r in results for k, v in r["failures"].items()}
    notes = [
        f"s2s_fleet {polls} polls on {args.instances} instances (interval {interval} s, pending {args.pending} s + up to "
        f"{args.spread} s), instance {killed} SIGKILLed {killed_after:.1f} s after the starts; {elapsed:.1f} s in all",
        f"  survivors: {ok}/{survivors} polls ended OK (failures {failures or 'none'}); killed instance's {len(mine)} codes: "
        f"profile stored for {stored}, record done for {done}; server: {seen['requests']} poll requests, {seen['found']} "
        f"profiles found, gaps per code min {min_gap:.3f} s, max {seen['maxGapS']:.3f} s, < 3 s: {seen['under3s']}; "
        f"{seen['connections']} connections",
        f"  takeover: the killed instance's {theirs['codes']} pending codes were asked again from {first_after:.2f} s after the "
        f"kill (the last one {theirs['maxFirstAfterS']:.2f} s after; {everyone['overLimit']} codes of all first asked more than "
        f"{2 * interval:g} s after it); longest gap spanning the kill: its codes {across:.2f} s, all codes {across_all:.2f} s; "
        f"mean of the codes' longest gaps {seen['meanMaxGapS']:.2f} s",
        "  instances: " + ", ".join(f"#{r['instance']} {r['polls']} polls, {r['stats'].get('requests', {}).get('profiles.code', 0)} "
                                   f"requests made, RSS {r['rssPeakKb'] / 1024:.1f} MB (polls started {r['rssStartedKb'] / 1024:.1f}), "
                                   f"{r['threads'] - 1} library threads" for r in results),
    ]
    bench_row(f"{name}: polls ended OK (killed instance's taken over)",
              f"{ok + min(stored, done):,}/{polls} ({min(stored, done):,} taken over)", "-", "-", "all OK",
              "PASS" if all_ok else "FAIL")
    bench_row(f"{name}: takeover (kill to the last of its codes asked again; longest gap across the kill)",
              f"{theirs['maxFirstAfterS']:.1f} s; gap {across_all:.1f} s", "-", "-", f"<= {2 * interval:g} s (2 intervals)", "PASS" if takeover_ok else "FAIL")
    bench_row(f"{name}: minimum gap per code, fleet-wide", f"{min_gap:.2f} s ({seen['under3s']} codes < 3 s)", "-", "-", ">= 3 s",
              "PASS" if min_gap >= 3.0 and seen["under3s"] == 0 else "FAIL")
    bench_row(f"{name}: RSS per instance (survivors), library threads",
              ", ".join(f"{m:.0f} MB" for m in rss) + f"; {max(threads)} threads", "-", "-",
              f"<= {RSS_TARGET_MB} MB, <= 4 threads", "PASS" if max(rss) <= RSS_TARGET_MB and max(threads) <= 4 else "FAIL")
    return notes


def authorize_run(base_url: str, redis: Redis, instances: int, calls: int, threads: int) -> Tuple[float, int]:
    """`instances` processes making `calls` authorize calls each at once: calls/s in all, failures."""
    drivers = [subprocess.Popen([DRIVER, "authorize", config(base_url, redis), str(calls), str(threads), str(k)],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for k in range(instances)]
    for driver in drivers:
        assert driver.stdout is not None
        if driver.stdout.readline().strip() != "READY":
            raise RuntimeError(f"an authorize driver did not start: {driver.stderr.read() if driver.stderr else ''}")
    started = time.monotonic()
    for driver in drivers:
        assert driver.stdin is not None
        driver.stdin.write("go\n")
        driver.stdin.flush()
    results = []
    for driver in drivers:
        out, err = driver.communicate(timeout=120)
        if driver.returncode != 0:
            raise RuntimeError(f"fleet_driver authorize failed: {err.strip()[-1500:]}")
        results.append(json.loads(out.strip().splitlines()[-1]))
    wall = time.monotonic() - started
    return sum(r["calls"] for r in results) / wall, sum(r["failures"] for r in results)


def run_authorize(args: argparse.Namespace, redis: Redis) -> List[str]:
    server = subprocess.Popen([SERVER, "1", "1000", "0"], stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None
    base_url = server.stdout.readline().split()[1]
    try:
        one, one_failures = authorize_run(base_url, redis, 1, args.authorize, args.threads)
        fleet, fleet_failures = authorize_run(base_url, redis, args.instances, args.authorize, args.threads)
        served = get(base_url, "/_stats")["authorizations"]
    finally:
        server.terminate()
        server.wait()
    ratio = fleet / one
    bench_row(f"S2S fleet: authorize throughput, {args.instances} instances x {args.authorize:,} calls ({args.threads} threads each)",
              f"{fleet:,.0f} calls/s", f"{one:,.0f} calls/s (1 instance)", f"{ratio:.2f}x", "informational",
              "INFO" if fleet_failures + one_failures == 0 else "FAIL")
    return [f"  authorize: {args.instances} instances {fleet:,.0f} calls/s, one instance {one:,.0f} calls/s ({ratio:.2f}x); "
            f"failures {fleet_failures} / {one_failures}; the server answered {served} authorizations (warm-ups included); "
            f"{os.cpu_count()} CPUs for the instances, redis-server and the server"]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--polls", type=int, default=10_000)
    parser.add_argument("--instances", type=int, default=3)
    parser.add_argument("--interval", type=float, default=4.0)
    parser.add_argument("--pending", type=float, default=16.0)
    parser.add_argument("--spread", type=float, default=8.0)
    parser.add_argument("--authorize", type=int, default=1500, help="authorize calls per instance (0: skip)")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--no-kill", action="store_true", help="kill no instance (the fleet's cadence alone)")
    parser.add_argument("--latency-ms", type=float, default=20.0,
                        help="the server answers each poll request this late (claims are in flight when the instance dies)")
    args = parser.parse_args()
    for path in (DRIVER, SERVER):
        if not os.path.exists(path):
            print(f"{path} is missing: run `make bench-programs`", file=sys.stderr)
            return 1
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="passauth-fleet-") as workdir:
        redis = Redis(workdir)
        try:
            redis.start()
        except RuntimeError as failure:
            raise SystemExit(str(failure)) from None
        notes: List[str] = []
        try:
            notes += run_polls(args, redis)
            if args.authorize > 0:
                notes += run_authorize(args, redis)
        except (RuntimeError, OSError, ValueError, subprocess.TimeoutExpired) as failure:
            print(f"s2s_fleet failed: {failure}", file=sys.stderr)
            bench_row("S2S fleet: 3 instances sharing polls on one Redis", f"failed ({str(failure)[:80]})", "-", "-", "-", "FAIL")
        finally:
            redis.stop()
    for line in notes:
        print(line, file=sys.stderr)
    print(f"  s2s_fleet took {time.monotonic() - started:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
