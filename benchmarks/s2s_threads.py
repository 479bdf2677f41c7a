#!/usr/bin/env python3
"""Server-to-server concurrency: T threads x N authorize calls on ONE client, each thread its own device,
against a service that adds 50 ms to every authorize answer. Target: 32 x 100 in <= 6 s (issue #7).

    make build && PYTHONPATH=bindings/python python3 benchmarks/s2s_threads.py [--threads 32] [--calls 100]
        [--server emulator|canned]

The library is driven through ctypes with the GIL released during each native call, so the threads
really run concurrently in the library. Pacing is off (one device per thread would otherwise allow
1 request/s). The ideal is calls x 50 ms = 5.0 s; the rest is client and server overhead.

--server emulator  the Python emulator in a separate process, with a `delay` fault (delayMs 50) queued
                   for every authorize answer (count = threads x calls).
--server canned    (default) a small asyncio server in a separate process answering DCR and authorize with
                   canned documents after 50 ms: the emulator (a thread per connection, full request
                   validation in Python) is itself the bottleneck at ~600 requests/s, see the closing note.
Prints one line: figure, target, PASS/FAIL, plus the client's stats.
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
from typing import Any, List

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "bindings", "python"))

import passauth  # noqa: E402

STATEMENT = ("eyJhbGciOiJSUzI1NiJ9.eyJzb2Z0d2FyZV9pZCI6ImJlbmNoIiwiY2xpZW50X25hbWUiOiJiZW5jaCJ9."
             "c2lnbmF0dXJl")
TARGET_S = 6.0
LATENCY_MS = 50

CANNED_SERVER = r'''
import asyncio, json, sys, time
LATENCY = float(sys.argv[1]) / 1000

def reply(status, body):
    data = json.dumps(body).encode()
    head = f"HTTP/1.1 {status} OK\r\nContent-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
    return head.encode() + data

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
            now = int(time.time() * 1000)
            if path.startswith("/o/client/register"):
                out = reply(201, {"client_id": "bench-client", "client_secret": "bench-secret",
                                  "client_id_issued_at": now // 1000, "redirect_uris": ["https://example.com"],
                                  "grant_types": ["client_credentials"]})
            elif path.startswith("/o/client/token"):
                out = reply(201, {"access_token": "bench-token", "token_type": "bearer", "expires_in": 86400,
                                  "created_at": now})
            elif "/decisions/authorize/" in path:
                await asyncio.sleep(LATENCY)
                mvpd = path.rsplit("/", 1)[1]
                out = reply(200, {"decisions": [{"resource": "REF30", "serviceProvider": "REF30", "mvpd": mvpd,
                    "source": "mvpd", "authorized": True, "notBefore": now, "notAfter": now + 600000,
                    "token": {"notBefore": now, "notAfter": now + 600000, "serializedToken": "bWVkaWE="}}]})
            else:
                out = reply(404, {"error": "not found"})
            writer.write(out)
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()

async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
    print(f"READY http://127.0.0.1:{server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()

asyncio.run(main())
'''


def start(kind: str) -> "tuple[subprocess.Popen[str], str]":
    env = dict(os.environ, PYTHONPATH=os.path.join(HERE, "..", "emulator"))
    if kind == "emulator":
        argv = [sys.executable, "-m", "passauth_emulator", "--no-throttle", "--port", "0"]
        prefix = "PASSAUTH_EMULATOR_READY "
    else:
        argv = [sys.executable, "-c", CANNED_SERVER, str(LATENCY_MS)]
        prefix = "READY "
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith(prefix):
            return proc, line[len(prefix):].strip()
    raise RuntimeError(f"{kind} did not start")


def control(base_url: str, call: str, body: Any) -> Any:
    request = urllib.request.Request(f"{base_url}/_emulator/{call}", data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=32)
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--server", choices=["emulator", "canned"], default="canned")
    args = parser.parse_args()

    proc, base_url = start(args.server)
    try:
        store = tempfile.mkdtemp(prefix="passauth-bench-")
        client = passauth.Client({"baseUrl": base_url, "serviceProvider": "REF30", "softwareStatement": STATEMENT,
                                  "store": store, "pacing": False, "logLevel": "error",
                                  "device": {"id": "bench-default"}})
        client.register()
        if args.server == "emulator":
            for t in range(args.threads):
                control(base_url, "profiles", {"deviceId": f"bench-device-{t}", "mvpd": "Cablevision"})
            control(base_url, "faults", {"faults": [{"kind": "delay", "delayMs": LATENCY_MS,
                                                       "endpoint": "decisions.authorize",
                                                       "count": args.threads * args.calls}]})
        failures: List[str] = []
        barrier = threading.Barrier(args.threads + 1)

        def worker(t: int) -> None:
            device = {"id": f"bench-device-{t}", "ip": f"198.51.100.{t % 250 + 1}"}
            barrier.wait()
            for _ in range(args.calls):
                try:
                    client.authorize("Cablevision", ["REF30"], device)
                except passauth.PassAuthError as error:
                    failures.append(str(error))

        threads = [threading.Thread(target=worker, args=(t,)) for t in range(args.threads)]
        for thread in threads:
            thread.start()
        barrier.wait()
        started = time.monotonic()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
        stats = client.stats()
        client.close()
        ok = elapsed <= TARGET_S and not failures
        ideal = args.calls * LATENCY_MS / 1000
        print(f"s2s_threads server={args.server} {args.threads} threads x {args.calls} authorize, +{LATENCY_MS} ms/answer: "
              f"{elapsed:.2f} s (ideal {ideal:.1f} s, target <= {TARGET_S} s, {args.threads * args.calls / elapsed:.0f} calls/s) "
              f"failures={len(failures)} connections={stats.get('connectionsOpened')} "
              f"{'PASS' if ok else 'FAIL'}")
        if failures:
            print("first failure:", failures[0])
        print(f"BENCH|S2S 32 threads x 100 authorize against a 50 ms server|{elapsed:.2f} s|{ideal:.1f} s (latency floor)|"
              f"{elapsed / ideal:.2f}x|<= {TARGET_S} s|{'PASS' if ok else 'FAIL'}", flush=True)
        return 0
    finally:
        proc.terminate()
        proc.wait()


if __name__ == "__main__":
    sys.exit(main())
