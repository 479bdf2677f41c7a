#!/usr/bin/env python3
"""Library footprint: size of a stripped copy of libpassauth.so (`strip --strip-unneeded`, what ships),
target <= 7 MiB (7,340,032 bytes), and the wall time of dlopen + passauth_client_new in a fresh process
(median of 20 processes; informational). Baselines: libcurl.so.4 as installed (Debian ships it stripped)
and dlopen(libcurl.so.4) + curl_easy_init, measured in the same run.

    python3 benchmarks/footprint.py [--runs 20]
"""

from __future__ import annotations

import argparse
import ctypes.util
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import DEVICE, LIBRARY, STATEMENT, bench_row, median, program  # noqa: E402


MIB = 1024 * 1024
SIZE_TARGET = 7 * MIB


def libcurl_path() -> str:
    for line in subprocess.run(["ldconfig", "-p"], capture_output=True, text=True).stdout.splitlines():
        if "libcurl.so.4 " in line and "=>" in line:
            return os.path.realpath(line.split("=>")[1].strip())
    raise SystemExit("libcurl.so.4 not found")


def timed(command) -> int:
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout.split()
    return int(output[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    curl = libcurl_path()
    with tempfile.TemporaryDirectory(prefix="passauth-bench-") as directory:
        stripped = os.path.join(directory, "libpassauth.so")
        shutil.copy(os.path.realpath(LIBRARY), stripped)
        subprocess.run(["strip", "--strip-unneeded", stripped], check=True)
        ours, theirs = os.path.getsize(stripped), os.path.getsize(curl)
        bench_row("stripped .so size", f"{ours / MIB:.2f} MiB ({ours:,} bytes)", f"{theirs / 1024:.0f} KiB (libcurl.so.4)",
                  f"{ours / theirs:.2f}x", f"<= {SIZE_TARGET / MIB:.0f} MiB", "PASS" if ours <= SIZE_TARGET else "FAIL")
        cfg = json.dumps({"baseUrl": "http://127.0.0.1:9", "serviceProvider": "REF30", "softwareStatement": STATEMENT,
                          "store": directory, "device": DEVICE, "logLevel": "none"})
        loads, floor = [], []
        for _ in range(args.runs):
            loads.append(timed([program("footprint"), "passauth", stripped, cfg]) / 1e6)
            floor.append(timed([program("footprint"), "curl"]) / 1e6)
        figure, baseline = median(loads), median(floor)
        bench_row("dlopen + client_new (wall)", f"{figure:.2f} ms", f"{baseline:.2f} ms (dlopen libcurl + easy_init)",
                  f"{figure / baseline:.2f}x", "-", "INFO")
    return 0


if __name__ == "__main__":
    sys.exit(main())
