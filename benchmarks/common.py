"""Shared helpers of the benchmark programs: the emulator and the traffic server (benchmarks/traffic_server.py),
each in its own process, their control APIs, the built programs, and the BENCH row every program prints:

    BENCH|<name>|<figure with unit>|<baseline with unit>|<ratio>|<target>|<PASS/FAIL/INFO>

`benchmarks/run.py` collects these rows from every program and prints one table.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import urllib.request
import ssl
from typing import Any, Dict, List, Optional, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, ".."))
PACKAGE_ROOT = os.path.join(ROOT, "bindings", "python")
EMULATOR_ROOT = os.path.join(ROOT, "emulator")  # the passauth_emulator package
BUILD = os.path.join(ROOT, "build")
BENCH_BIN = os.path.join(BUILD, "bench")
LIBRARY = os.path.join(BUILD, "lib", "libpassauth.so.0")

STATEMENT = ("eyJhbGciOiJSUzI1NiJ9.eyJzb2Z0d2FyZV9pZCI6ImJlbmNoIiwiY2xpZW50X25hbWUiOiJiZW5jaCJ9."
             "c2lnbmF0dXJl")
DEVICE = {"id": "bench-device-1", "info": {"primaryHardwareType": "SetTopBox", "model": "Bench",
                                           "vendor": "passauth", "osName": "Linux", "osVersion": "1"}}
MVPD = "Cablevision"
RESOURCES = ["REF30"]
# Headers libcurl adds by itself, or that a keep-alive client sends anyway.
SKIPPED_HEADERS = {"host", "content-length", "connection", "accept-encoding", "expect"}


def bench_row(name: str, figure: str, baseline: str, ratio: str, target: str, verdict: str) -> None:
    print(f"BENCH|{name}|{figure}|{baseline}|{ratio}|{target}|{verdict}", flush=True)


def median(values: List[float]) -> float:
    return statistics.median(values)


class Emulator:
    """`python3 -m passauth_emulator --no-throttle` in a separate process (its CPU is not ours)."""

    def __init__(self, tls: bool = False) -> None:
        env = dict(os.environ, PYTHONPATH=EMULATOR_ROOT)
        command = [sys.executable, "-m", "passauth_emulator", "--no-throttle", "--port", "0"] + (["--tls"] if tls else [])
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
        assert self.process.stdout is not None
        line = self.process.stdout.readline().split()
        if len(line) != 2 or line[0] != "PASSAUTH_EMULATOR_READY":
            self.process.kill()
            raise SystemExit(f"the emulator did not start: {line}")
        self.base_url = line[1]
        self.ca_file: Optional[str] = None
        if tls:
            ca = self.process.stdout.readline().split()
            assert ca[0] == "PASSAUTH_EMULATOR_CA", ca
            self.ca_file = ca[1]
        self._context = ssl.create_default_context(cafile=self.ca_file) if tls else None

    def control(self, call: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.base_url}/_emulator/{call}", data=data,
                                         method="POST" if data else "GET",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30, context=self._context) as answer:
            return json.loads(answer.read())

    def stats(self) -> Dict[str, Any]:
        return self.control("stats")

    def add_profile(self, device_id: str = DEVICE["id"], mvpd: str = MVPD) -> None:
        self.control("profiles", {"deviceId": device_id, "mvpd": mvpd})

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)

    def __enter__(self) -> "Emulator":
        return self

    def __exit__(self, *_: Any) -> None:
        self.close()


# The traffic benchmarks (traffic.py, python_authorize.py): a software statement of a realistic length (a
# signed JWT: RS256 header, claims, a 2048-bit signature) and a device with a complete X-Device-Info.
TRAFFIC_STATEMENT = ("eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImJlbmNoLWtleS0xIn0."
                     "eyJqdGkiOiI0ZjJhOWMxZS03YjNkLTRlNWYtOGExYi0yYzNkNGU1ZjZhN2IiLCJzb2Z0d2FyZV9pZCI6ImJlbmNoLXBsYXllciIs"
                     "InNvZnR3YXJlX3ZlcnNpb24iOiIxLjAuMCIsImNsaWVudF9uYW1lIjoiQmVuY2ggUGxheWVyIiwiaXNzIjoiYXV0aC5hZG9iZS5j"
                     "b20iLCJpYXQiOjE3MDAwMDAwMDAsInJlZGlyZWN0X3VyaXMiOlsiaHR0cHM6Ly9leGFtcGxlLmNvbS9jYWxsYmFjayJdfQ."
                     + "c2lnbmF0dXJlLWJ5dGVzLW9mLWEtMjA0OC1iaXQtUlNBLWtleQ" * 7)
TRAFFIC_DEVICE = {"id": "bench-device-1",
                  "info": {"primaryHardwareType": "SetTopBox", "model": "Bench 4K", "version": "2.1",
                           "manufacturer": "passauth", "vendor": "passauth", "osName": "Linux", "osFamily": "Linux",
                           "osVersion": "6.1", "connectionType": "WiFi", "applicationId": "com.example.player"}}


class TrafficServer:
    """benchmarks/traffic_server.py in a separate process (its CPU is not ours)."""

    def __init__(self) -> None:
        self.process = subprocess.Popen([sys.executable, os.path.join(HERE, "traffic_server.py"), "--port", "0"],
                                        stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        line = self.process.stdout.readline().split()
        if len(line) != 2 or line[0] != "TRAFFIC_SERVER_READY":
            self.process.kill()
            raise SystemExit(f"the traffic server did not start: {line}")
        self.base_url = line[1]

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.base_url + path, timeout=30) as answer:
            return json.loads(answer.read())

    def last(self, endpoint: str) -> Dict[str, Any]:
        """The last request of `endpoint` ("authorize", "preauthorize", "profiles" ...): method, target,
        headers ([name, value] pairs as sent), body."""
        return self.get(f"/_traffic/last/{endpoint}")

    def config(self, store: str) -> Dict[str, Any]:
        return {"baseUrl": self.base_url, "serviceProvider": "REF30", "softwareStatement": TRAFFIC_STATEMENT,
                "store": store, "device": TRAFFIC_DEVICE, "pacing": False}

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)

    def __enter__(self) -> "TrafficServer":
        return self

    def __exit__(self, *_: Any) -> None:
        self.close()


def config(emulator: Emulator, store: str) -> Dict[str, Any]:
    result: Dict[str, Any] = {"baseUrl": emulator.base_url, "serviceProvider": "REF30", "softwareStatement": STATEMENT,
                              "store": store, "device": DEVICE, "pacing": False, "logLevel": "none"}
    if emulator.ca_file:
        result["caFile"] = emulator.ca_file
    return result


def last_request(emulator: Emulator, endpoint: str) -> Dict[str, Any]:
    return [r for r in emulator.control("requests")["requests"] if r["endpoint"] == endpoint][-1]


def program(name: str) -> str:
    path = os.path.join(BENCH_BIN, name)
    if not os.path.exists(path):
        raise SystemExit(f"{path} is missing: run `make bench` (it builds the benchmark programs)")
    return path


def run_passauth(cfg: Dict[str, Any], calls: int, wrapper: Optional[List[str]] = None) -> Dict[str, Any]:
    """One process of `authorize_bench passauth`; returns cpu_ns_per_call and the client's stats."""
    command = (wrapper or []) + [program("authorize_bench"), "passauth", json.dumps(cfg), MVPD,
                                 json.dumps(RESOURCES), str(calls)]
    return _parse(subprocess.run(command, check=True, capture_output=True, text=True).stdout)


class RawRequest:
    """The request passauth sent for its last authorize call, replayed by the raw libcurl + jansson floor."""

    def __init__(self, emulator: Emulator, directory: str) -> None:
        sent = last_request(emulator, "decisions.authorize")
        self.url = emulator.base_url + sent["path"] + (f"?{sent['query']}" if sent.get("query") else "")
        self.headers_file = os.path.join(directory, "headers.txt")
        with open(self.headers_file, "w") as out:
            for name, value in sent["headers"].items():
                if name not in SKIPPED_HEADERS:
                    out.write(f"{name}: {value}\n")
        self.body = sent["body"]
        self.ca_file = emulator.ca_file

    def run(self, calls: int, wrapper: Optional[List[str]] = None) -> Dict[str, Any]:
        command = (wrapper or []) + [program("authorize_bench"), "raw", self.url, self.headers_file, self.body,
                                     str(calls)] + ([self.ca_file] if self.ca_file else [])
        return _parse(subprocess.run(command, check=True, capture_output=True, text=True).stdout)


def _parse(output: str) -> Dict[str, Any]:
    result: Dict[str, Any] = {}
    for line in output.splitlines():
        key, _, value = line.partition(" ")
        if key == "cpu_ns_per_call":
            result["cpu_ns_per_call"] = int(value)
        elif key == "stats":
            result["stats"] = json.loads(value)
    return result


def temporary_store() -> "tempfile.TemporaryDirectory[str]":
    return tempfile.TemporaryDirectory(prefix="passauth-bench-")
