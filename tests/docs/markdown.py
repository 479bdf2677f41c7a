"""The fenced code blocks of the repository's Markdown, with the marker comment written above each.

A marker is an HTML comment on the last non-blank line before the opening fence (invisible on GitHub):

    <!-- fragment: passauth_client *client; const char *device -->   C/C++: the names the fragment uses
    <!-- file -->          C/C++: a translation unit of its own (function definitions), compiled, not linked
    <!-- run -->           sh: executed (tests/docs/test_snippets.py says where and how)
    <!-- config -->        json: a passauth_client_new configuration the library must accept
    <!-- device -->        json: a device context (device_json) the library must accept
"""

import glob
import os
import re
from dataclasses import dataclass
from typing import List, Optional

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

# The documents whose snippets are checked: the README, the pages under docs/ and the Python README.
DOCUMENTS = [os.path.join(ROOT, "README.md"), *sorted(glob.glob(os.path.join(ROOT, "docs", "*.md"))),
             os.path.join(ROOT, "bindings", "python", "README.md")]

FENCE = re.compile(r"^(?P<indent> *)```(?P<language>[A-Za-z0-9_+-]*)[^\n]*\n(?P<body>.*?)^(?P=indent)```[ \t]*$", re.S | re.M)
MARKER = re.compile(r"<!--\s*(?P<kind>[a-z-]+)\s*(?::\s*(?P<argument>.*?))?\s*-->\s*$")


@dataclass
class Block:
    document: str       # path relative to the repository
    line: int           # line of the first line of code (1-based)
    language: str
    code: str
    marker: Optional[str] = None
    argument: Optional[str] = None

    @property
    def where(self) -> str:
        return f"{self.document}:{self.line}"


def blocks(documents: Optional[List[str]] = None) -> List[Block]:
    found = []
    for path in documents or DOCUMENTS:
        text = open(path, encoding="utf-8").read()
        relative = os.path.relpath(path, ROOT)
        for match in FENCE.finditer(text):
            before = text[:match.start()].rstrip("\n").split("\n")
            previous = next((line for line in reversed(before) if line.strip()), "")
            marker = MARKER.search(previous.strip())
            indent = len(match.group("indent"))
            code = "\n".join(line[indent:] for line in match.group("body").split("\n"))
            found.append(Block(relative, text[:match.start()].count("\n") + 2, match.group("language").lower(), code,
                               marker.group("kind") if marker else None,
                               marker.group("argument") if marker else None))
    return found


def of(language: str) -> List[Block]:
    return [b for b in blocks() if b.language == language]
