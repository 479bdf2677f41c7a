"""python3 -m passauth_emulator [--host H] [--port P] [--tls] [--no-throttle] ..."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from typing import List, Optional

from .runtime import Emulator


DESCRIPTION = """\
A local emulator of Adobe Pass Authentication (REST API V2 and Dynamic Client Registration),
Python standard library only. Once listening it prints "PASSAUTH_EMULATOR_READY <base url>"
(and "PASSAUTH_EMULATOR_CA <cert file>" with --tls) and serves until SIGTERM or SIGINT."""

EPILOG = """\
control API: everything a test drives (complete a login, deny rules, TTLs, the clock, fault
injection, the request log) is under <base url>/_emulator/ - e.g.
  curl -XPOST -d '{"code": "8ER640M"}' http://127.0.0.1:PORT/_emulator/login
  curl -XPOST -d '{"maxResourcesAuthorize": 3}' http://127.0.0.1:PORT/_emulator/config
See the "Control API" section of emulator/README.md (in the passauth repository; also the
passauth-emulator package's description) for every call, config key and fault kind."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python3 -m passauth_emulator", description=DESCRIPTION,
                                     epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to listen on; 0 (the default) picks a free one")
    parser.add_argument("--tls", action="store_true",
                        help="serve HTTPS with a self-signed certificate generated at start (its path is printed)")
    parser.add_argument("--no-throttle", action="store_true",
                        help="disable the 429 throttle (1 request/s, burst 10, per device)")
    parser.add_argument("--token-ttl", type=float, default=3600, metavar="SECONDS",
                        help="access token lifetime (default 3600)")
    parser.add_argument("--code-ttl", type=float, default=1800, metavar="SECONDS",
                        help="authentication code / session lifetime (default 1800)")
    parser.add_argument("--profile-ttl", type=float, default=86400, metavar="SECONDS",
                        help="profile lifetime after an MVPD login (default 86400)")
    parser.add_argument("--max-resources-authorize", type=int, default=1, metavar="N",
                        help="resources one authorize request may name; more answer 403 too_many_resources "
                             "(default 1: \"usually up to 1\")")
    parser.add_argument("--max-resources-preauthorize", type=int, default=5, metavar="N",
                        help="resources one preauthorize request may name (default 5: \"usually up to 5\")")
    parser.add_argument("--auto-login", type=float, default=None, metavar="SECONDS",
                        help="each session's code finishes its MVPD login by itself SECONDS after the session "
                             "is created (no second screen needed); default: off")
    parser.add_argument("--clock-offset-ms", type=float, default=0, metavar="MS",
                        help="the emulated service's clock runs MS milliseconds ahead of real time "
                             "(negative: behind); it shows in the Date header and every timestamp")
    parser.add_argument("--ready-file", metavar="PATH",
                        help="also write the ready line(s) to this file (atomically) once listening")
    return parser


def parse_args(argv: List[str]) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.max_resources_authorize < 1 or args.max_resources_preauthorize < 1:
        parser.error("the resource limits must be at least 1")
    if args.auto_login is not None and args.auto_login < 0:
        parser.error("--auto-login must not be negative")
    return args


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    emulator = Emulator(host=args.host, port=args.port, tls=args.tls,
                        throttle=not args.no_throttle, token_ttl=args.token_ttl,
                        code_ttl=args.code_ttl, profile_ttl=args.profile_ttl,
                        max_resources_authorize=args.max_resources_authorize,
                        max_resources_preauthorize=args.max_resources_preauthorize,
                        auto_login=args.auto_login, clock_offset_ms=args.clock_offset_ms).start()
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
