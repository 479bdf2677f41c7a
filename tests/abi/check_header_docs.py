#!/usr/bin/env python3
"""The header is the reference: every function it declares is documented with its errors and its
thread-safety.

For each `passauth_*` function declared in Include/passauth.h, its documentation is the comments between
the previous declaration and its own. It must say
  - which statuses it returns: a line with "Errors:" (also "Errors (all four):") or the words "No errors";
  - whether it is thread-safe: "Thread-safe", "Not thread-safe", "safe from any thread" or
    "each thread has its own".
Prints one line per gap and exits 1 when there is any.

    check_header_docs.py [--header Include/passauth.h]
"""

import argparse
import os
import re
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

DECLARATION = re.compile(r"^[A-Za-z_][\w \t\*]*?\b(passauth_\w+)\s*\([^;{]*\)\s*;", re.M | re.S)
COMMENT = re.compile(r"/\*.*?\*/", re.S)
ERRORS = re.compile(r"\bErrors\b[^:\n.]*:|\bNo errors\b")
THREADS = re.compile(r"\b[Tt]hread-safe\b|\bsafe from any thread\b|\beach thread has its own\b", re.I)


def declarations(text):
    """(name, documentation) of every function declaration, in order."""
    # Blank out comments' contents for finding declarations (a comment may quote a prototype), keeping
    # offsets, then read the comments of each span from the original text.
    masked = COMMENT.sub(lambda m: "/*" + re.sub(r"[^\n]", " ", m.group(0)[2:-2]) + "*/", text)
    found, previous_end = [], 0
    for match in DECLARATION.finditer(masked):
        span = text[previous_end:match.start()]
        documentation = "\n".join(c.group(0) for c in COMMENT.finditer(span))
        found.append((match.group(1), documentation))
        previous_end = match.end()
    return found


def gaps(text):
    problems = []
    for name, documentation in declarations(text):
        if not documentation.strip():
            problems.append(f"{name}: no comment")
            continue
        if not ERRORS.search(documentation):
            problems.append(f"{name}: its comment has no 'Errors:' line (or 'No errors')")
        if not THREADS.search(documentation):
            problems.append(f"{name}: its comment says nothing of thread-safety ('Thread-safe', 'Not thread-safe', ...)")
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--header", default=os.path.join(ROOT, "Include", "passauth.h"))
    args = parser.parse_args()
    text = open(args.header, encoding="utf-8").read()
    names = [name for name, _ in declarations(text)]
    if len(names) < 40:
        print(f"{args.header}: only {len(names)} function declarations found; the parser is broken", file=sys.stderr)
        return 1
    problems = gaps(text)
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
