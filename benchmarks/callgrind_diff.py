#!/usr/bin/env python3
"""Callgrind helpers of the benchmarks, and a command to read two profiles side by side.

    python3 benchmarks/callgrind_diff.py build/bench/callgrind.authorize.passauth.out \
        build/bench/callgrind.authorize.raw.out [--calls N] [--top 10]

prints the functions whose self cost (instructions executed in the function itself, callees excluded)
per call is the most above the second profile's: (self(A) / calls(A)) - (self(B) / calls(B)), keyed by
function and shared object, Swift names demangled, each with the caller most of its excess comes through
("under ...", followed up to a function with a symbol). The calls of a profile written by
build/bench/traffic_bench are read from its command line (the last argument: CALLS); pass --calls
otherwise. The profiles the benchmarks keep hold the measured calls only (see benchmarks/README.md).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from typing import Dict, List, Optional, Tuple

_NAME = re.compile(r"^\((\d+)\)(?: (.*))?$")
_POSITION = re.compile(r"^(?:[+-]?\d+|\*)$")
_RECURSION = re.compile(r"'\d+$")


def totals(path: str) -> int:
    """The Ir total of a callgrind profile (its "totals:" or "summary:" line)."""
    with open(path) as data:
        for line in data:
            match = re.match(r"^(?:totals|summary):\s+(\d+)", line)
            if match:
                return int(match.group(1))
    raise SystemExit(f"no totals in {path}")


def measured_dump(prefix: str) -> str:
    """The dump a benchmark's CALLGRIND_DUMP_STATS_AT("measured") wrote (prefix.1, prefix.2 ...)."""
    for candidate in sorted(p for p in (f"{prefix}.{i}" for i in range(1, 10)) if os.path.exists(p)):
        with open(candidate) as data:
            head = data.read(4096)
        if "Trigger: Client Request: measured" in head:
            return candidate
    raise SystemExit(f"no 'measured' dump next to {prefix}: was the program run with the markers?")


def command_calls(path: str) -> Optional[int]:
    with open(path) as data:
        for line in data:
            if line.startswith("cmd:"):
                last = line.split()[-1]
                return int(last) if last.isdigit() else None
    return None


Key = Tuple[str, str]  # (function, object)


def parse(path: str) -> Tuple[Dict[Key, int], Dict[Key, Dict[Key, int]]]:
    """Self cost (Ir) per (function, object) of a callgrind profile (one event, Ir), and its callers:
    callee -> {caller: inclusive cost of the calls}."""
    names: Dict[str, Dict[str, str]] = {"ob": {}, "fn": {}}
    costs: Dict[Key, int] = {}
    callers: Dict[Key, Dict[Key, int]] = {}
    ob = fn = "???"
    callee_ob: Optional[str] = None
    callee_fn = "???"
    after_calls = False

    def resolve(kind: str, value: str) -> str:
        match = _NAME.match(value)
        if not match:
            return value
        number, name = match.groups()
        if name is not None:
            names[kind][number] = name
            return name
        return names[kind].get(number, value)

    with open(path) as data:
        for line in data:
            if not line or line[0] == "\n":
                continue
            head = line[0]
            if head.isdigit() or head in "+-*":
                parts = line.split()
                if len(parts) >= 2 and _POSITION.match(parts[0]):
                    if after_calls:  # the inclusive cost of a call, not self cost
                        after_calls = False
                        callee = (callee_fn, callee_ob or ob)
                        edges = callers.setdefault(callee, {})
                        edges[(fn, ob)] = edges.get((fn, ob), 0) + int(parts[1])
                        callee_ob = None
                    else:
                        key = (fn, ob)
                        costs[key] = costs.get(key, 0) + int(parts[1])
                continue
            key, _, value = line.rstrip("\n").partition("=")
            if key == "ob":
                ob = resolve("ob", value)
            elif key == "fn":
                fn = _RECURSION.sub("", resolve("fn", value))  # f'2: a recursion level of f, still f
            elif key == "cob":
                callee_ob = resolve("ob", value)
            elif key == "cfn":
                callee_fn = _RECURSION.sub("", resolve("fn", value))
            elif key == "calls":
                after_calls = True
    return costs, callers


def self_costs(path: str) -> Dict[Key, int]:
    return parse(path)[0]


def named_caller(key: Key, callers: Dict[Key, Dict[Key, int]], depth: int = 12) -> Optional[str]:
    """For a function without a symbol (an address): the first caller up its heaviest call path that has one."""
    seen = {key}
    for _ in range(depth):
        edges = {k: v for k, v in callers.get(key, {}).items() if k not in seen}
        if not edges:
            return None
        key = max(edges, key=lambda k: edges[k])
        if not key[0].startswith("0x"):
            return key[0]
        seen.add(key)
    return None


def demangle(names: List[str]) -> List[str]:
    tool = shutil.which("swift-demangle") or ("/opt/swift/usr/bin/swift-demangle"
                                              if os.path.exists("/opt/swift/usr/bin/swift-demangle") else None)
    if tool is None or not names:
        return names
    done = subprocess.run([tool, "--simplified"], input="\n".join(names) + "\n", capture_output=True, text=True)
    out = done.stdout.rstrip("\n").split("\n")
    return out if done.returncode == 0 and len(out) == len(names) else names


def top_excess(ours: str, theirs: Optional[str], ours_calls: int, theirs_calls: int = 1,
               top: int = 10) -> List[Tuple[float, float, float, str]]:
    """[(excess per call, ours per call, theirs per call, "function [object]")], largest excess first. A
    function is labelled with the caller most of its excess comes through (up to the first one with a symbol:
    libcurl and jansson are stripped here)."""
    a, a_callers = parse(ours)
    b, b_callers = parse(theirs) if theirs else ({}, {})
    rows = []
    for key in set(a) | set(b):
        mine, other = a.get(key, 0) / ours_calls, b.get(key, 0) / theirs_calls
        rows.append((mine - other, mine, other, key))
    rows.sort(key=lambda row: row[0], reverse=True)
    rows = rows[:top]
    names = [fn for _, _, _, (fn, _) in rows]

    def excess_caller(key: Key) -> Optional[str]:
        """The caller through which most of the excess comes (by inclusive cost per call, ours minus theirs),
        followed up to the first one with a symbol."""
        mine, other = a_callers.get(key, {}), b_callers.get(key, {})
        if not mine and not other:
            return None
        delta = {c: mine.get(c, 0) / ours_calls - other.get(c, 0) / theirs_calls for c in set(mine) | set(other)}
        caller = max(delta, key=lambda c: delta[c])
        if not caller[0].startswith("0x"):
            return caller[0]
        return named_caller(caller, a_callers) or named_caller(caller, b_callers)

    callers = [excess_caller(key) for _, _, _, key in rows]
    labels = demangle(names + [c for c in callers if c])
    caller_labels = iter(labels[len(names):])
    out = []
    for (d, m, o, (_, obj)), label, caller in zip(rows, labels, callers):
        text = f"{label} [{os.path.basename(obj)}]" + (f" (under {next(caller_labels)})" if caller else "")
        out.append((d, m, o, text))
    return out


def format_excess(rows: List[Tuple[float, float, float, str]], indent: str = "   ") -> str:
    lines = [f"{indent}{'excess/call':>11} {'passauth':>9} {'raw':>9}  function [object]"]
    for excess, mine, other, label in rows:
        lines.append(f"{indent}{excess:11.0f} {mine:9.0f} {other:9.0f}  {label[:200]}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("ours")
    parser.add_argument("theirs", nargs="?")
    parser.add_argument("--calls", type=int, help="calls in both profiles (default: from traffic_bench's command line)")
    parser.add_argument("--top", type=int, default=10)
    args = parser.parse_args()
    ours_calls = args.calls or command_calls(args.ours)
    theirs_calls = args.calls or (command_calls(args.theirs) if args.theirs else 1)
    if not ours_calls or not theirs_calls:
        raise SystemExit("how many calls? pass --calls")
    print(f"{args.ours}: {totals(args.ours) / ours_calls:.0f} instructions/call"
          + (f"; {args.theirs}: {totals(args.theirs) / theirs_calls:.0f}" if args.theirs else ""))
    print(format_excess(top_excess(args.ours, args.theirs, ours_calls, theirs_calls, args.top), indent=""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
