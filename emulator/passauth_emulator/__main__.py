"""python3 -m passauth_emulator [--host H] [--port P] [--tls] [--no-throttle] ..."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from typing import List, Optional

from .runtime import Emulator


def parse_args(argv: List[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python3 -m passauth_emulator",
                                     description="Local Adobe Pass Authentication emulator.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--tls", action="store_true", help="serve HTTPS with a generated certificate")
    parser.add_argument("--no-throttle", action="store_true", help="disable the 429 throttle")
    parser.add_argument("--token-ttl", type=float, default=3600, metavar="SECONDS")
    parser.add_argument("--code-ttl", type=float, default=1800, metavar="SECONDS")
    parser.add_argument("--profile-ttl", type=float, default=86400, metavar="SECONDS")
    parser.add_argument("--ready-file", metavar="PATH",
                        help="also write the ready line(s) to this file once listening")
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    emulator = Emulator(host=args.host, port=args.port, tls=args.tls,
                        throttle=not args.no_throttle, token_ttl=args.token_ttl,
                        code_ttl=args.code_ttl, profile_ttl=args.profile_ttl).start()
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    # A parent that spawns us from a thread with signals blocked (dispatch worker threads do) hands
    # that mask down; without this the emulator would never see the SIGTERM that stops it.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    lines = [f"PASSAUTH_EMULATOR_READY {emulator.base_url}"]
    if emulator.ca_file:
        lines.append(f"PASSAUTH_EMULATOR_CA {emulator.ca_file}")
    if args.ready_file:
        # Written atomically so a poller never reads half a line.
        temporary = args.ready_file + ".tmp"
        with open(temporary, "w") as handle:
            handle.write("\n".join(lines) + "\n")
        os.replace(temporary, args.ready_file)
    print("\n".join(lines), flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
