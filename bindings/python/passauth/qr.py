"""QR codes for the second screen: ``passauth.qr_code(url)`` draws the login URL of a code so that a
phone can open it. The matrix comes from ``passauth_qr_code`` (libqrencode, generated locally: nothing
leaves the device); this module renders it as terminal text, SVG or PNG in pure Python (``zlib`` and
``struct``, no imaging library).
"""

from __future__ import annotations

import ctypes
import json
import struct
import zlib
from typing import List, Tuple

from . import _native
from .errors import check

#: The light margin a reader needs around the code, in modules (ISO/IEC 18004).
QUIET_ZONE = 4

# Two module rows per character: (upper is lit, lower is lit) -> character.
_HALF_BLOCKS = {(True, True): "\u2588", (True, False): "\u2580", (False, True): "\u2584", (False, False): " "}


class QRCode:
    """A QR code's module matrix: ``size`` x ``size`` modules, ``rows[y][x] == "1"`` for a dark module."""

    __slots__ = ("size", "version", "error_correction", "rows")

    def __init__(self, size: int, version: int, error_correction: str, rows: Tuple[str, ...]) -> None:
        #: Modules per side (17 + 4 * version).
        self.size = size
        #: The QR version, 1..40.
        self.version = version
        #: The error correction level ("M").
        self.error_correction = error_correction
        #: One string of "0"/"1" per row, top to bottom.
        self.rows = rows

    @property
    def matrix(self) -> List[List[bool]]:
        """The modules as booleans, ``matrix[y][x]`` True for dark."""
        return [[c == "1" for c in row] for row in self.rows]

    def dark(self, x: int, y: int) -> bool:
        """Whether the module at column ``x``, row ``y`` is dark (outside the code: light)."""
        return 0 <= x < self.size and 0 <= y < self.size and self.rows[y][x] == "1"

    def dark_modules(self) -> int:
        return sum(row.count("1") for row in self.rows)

    def to_text(self, quiet_zone: int = QUIET_ZONE, invert: bool = False) -> str:
        """The code as lines of half-block characters (two module rows per line), with a quiet zone.

        By default light modules are drawn (the character cells are filled), dark ones left blank: right
        for the usual light-on-dark terminal. ``invert=True`` draws the dark modules instead, for a
        dark-on-light terminal."""
        end = self.size + quiet_zone
        span = range(-quiet_zone, end)
        lines = []
        for y in range(-quiet_zone, end, 2):
            lines.append("".join(_HALF_BLOCKS[(self.dark(x, y) == invert, y + 1 < end and self.dark(x, y + 1) == invert)]
                                 for x in span))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()

    def to_svg(self, module_size: int = 8, quiet_zone: int = QUIET_ZONE, dark: str = "#000",
               light: str = "#fff") -> str:
        """The code as an SVG document: a light background and one ``M x,yh1v1h-1z`` square per dark module
        in a single path, in module units scaled by ``module_size`` pixels."""
        side = self.size + 2 * quiet_zone
        squares = "".join(f"M{x + quiet_zone},{y + quiet_zone}h1v1h-1z"
                          for y, row in enumerate(self.rows) for x, c in enumerate(row) if c == "1")
        pixels = side * module_size
        return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{pixels}" height="{pixels}" '
                f'viewBox="0 0 {side} {side}" shape-rendering="crispEdges">'
                f'<rect width="{side}" height="{side}" fill="{light}"/>'
                f'<path fill="{dark}" d="{squares}"/></svg>')

    def to_png(self, module_size: int = 8, quiet_zone: int = QUIET_ZONE) -> bytes:
        """The code as a PNG image (8-bit greyscale, ``module_size`` pixels per module, quiet zone included)."""
        side = (self.size + 2 * quiet_zone) * module_size
        light_row = b"\x00" + b"\xff" * side
        scanlines = [light_row] * (quiet_zone * module_size)
        margin = b"\xff" * (quiet_zone * module_size)
        dark_module, light_module = b"\x00" * module_size, b"\xff" * module_size
        for row in self.rows:
            line = b"\x00" + margin + b"".join(dark_module if c == "1" else light_module for c in row) + margin
            scanlines.extend([line] * module_size)
        scanlines.extend([light_row] * (quiet_zone * module_size))

        def chunk(kind: bytes, data: bytes) -> bytes:
            return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

        header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)  # 8-bit greyscale, no interlace
        return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"".join(scanlines), 9))
                + chunk(b"IEND", b""))

    def __repr__(self) -> str:
        return f"QRCode(version={self.version}, size={self.size}, error_correction={self.error_correction!r})"


def qr_code(text: str) -> QRCode:
    """The QR code of ``text`` (typically ``client.authenticate_url(code)``), generated locally.

    Raises :class:`passauth.InvalidArgumentError` for an empty text or one too long for a QR code
    (about 2,300 bytes)."""
    lib = _native.library()
    out = ctypes.c_void_p()
    status = lib.passauth_qr_code(text.encode("utf-8"), ctypes.byref(out))
    check(status)
    document = json.loads(_native.take_bytes(out.value) or b"{}")
    return QRCode(int(document["size"]), int(document["version"]), str(document["errorCorrection"]),
                  tuple(document["rows"]))
