#!/usr/bin/env python3
"""API-call economy: requests the service receives to reach an authorization decision.

- cold first journey: empty store, a profile already present for the device (created with the emulator
  control `POST /_emulator/profiles`, as a finished MVPD login would): register -> token -> authorize.
  Baseline: the documented minimum, 3 (DCR register, DCR token, decisions/authorize). Counted up to the
  decision, in the emulator's request log; the profile refresh the library sends after a permit (in the
  background, at most once per `profileRefreshMs` per device and MVPD: the checklist's "query the
  Profiles APIs again after authorization") comes after the decision and is reported in the note.
- warm restart: a new process and client on the same store (credentials and token persisted).
  Target: 1 request (authorize only).

    python3 benchmarks/api_calls.py
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import Emulator, bench_row, config, run_passauth, temporary_store  # noqa: E402


def requests_during(emulator: Emulator, action) -> "tuple[int, str, str]":
    """(requests up to and including the decision, their endpoints, what came after it)."""
    before = len(emulator.control("requests")["requests"])
    action()
    sent = [r["endpoint"] for r in emulator.control("requests")["requests"][before:]]
    decided = sent.index("decisions.authorize") + 1 if "decisions.authorize" in sent else len(sent)
    return decided, " + ".join(sent[:decided]), " + ".join(sent[decided:]) or "nothing"


def main() -> int:
    with Emulator() as emulator, temporary_store() as store:
        emulator.add_profile()
        cfg = config(emulator, store)
        cold, cold_detail, cold_after = requests_during(emulator, lambda: run_passauth(cfg, 0))
        warm, warm_detail, warm_after = requests_during(emulator, lambda: run_passauth(cfg, 0))
    print(f"# cold: {cold_detail}, then in the background {cold_after}; warm: {warm_detail}, then {warm_after}",
          file=sys.stderr)
    bench_row("requests, cold journey to a decision", f"{cold} req", "3 req (documented minimum)", f"{cold / 3:.2f}x",
              "3 req", "PASS" if cold <= 3 else "FAIL")
    bench_row("requests, warm restart to a decision", f"{warm} req", "1 req (documented minimum)", f"{warm:.2f}x",
              "1 req", "PASS" if warm == 1 else "FAIL")
    return 0


if __name__ == "__main__":
    sys.exit(main())
