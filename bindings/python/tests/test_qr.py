"""QR codes for the second screen: the matrix from passauth_qr_code, and its terminal, SVG and PNG renderings."""

import re
import struct
import zlib

import pytest

import passauth

URL = "https://sp.auth.adobe.com/api/v2/authenticate/REF30/ABCDEF1"

# The format information's 15 bits around the top-left finder pattern (ISO/IEC 18004 7.9): bit i is
# read from these (x, y) modules, most significant first.
FORMAT_MODULES = [(8, 0), (8, 1), (8, 2), (8, 3), (8, 4), (8, 5), (8, 7), (8, 8), (7, 8), (5, 8), (4, 8), (3, 8),
                  (2, 8), (1, 8), (0, 8)]
FORMAT_MASK = 0b101010000010010
LEVELS = {0b01: "L", 0b00: "M", 0b11: "Q", 0b10: "H"}


def finder_at(code, x0, y0):
    """The 7x7 finder pattern: a dark ring, a light ring, a dark 3x3 centre."""
    for y in range(7):
        for x in range(7):
            ring = max(abs(x - 3), abs(y - 3))
            if code.dark(x0 + x, y0 + y) != (ring != 2):
                return False
    return True


def test_the_matrix_has_the_size_of_its_version_and_decodes():
    short = passauth.qr_code("HELLO")
    assert (short.version, short.size) == (1, 21)  # version 1 is 21 x 21
    code = passauth.qr_code(URL)
    assert code.size == 17 + 4 * code.version and code.version == 4  # 63 bytes at level M: version 4 (33 x 33)
    assert len(code.rows) == code.size and all(len(row) == code.size and set(row) <= {"0", "1"} for row in code.rows)
    assert finder_at(code, 0, 0) and finder_at(code, code.size - 7, 0) and finder_at(code, 0, code.size - 7)
    assert not finder_at(code, code.size - 7, code.size - 7)
    # Timing patterns: alternating modules on row 6 and column 6 between the finders.
    assert all(code.dark(x, 6) == (x % 2 == 0) for x in range(8, code.size - 8))
    assert all(code.dark(6, y) == (y % 2 == 0) for y in range(8, code.size - 8))
    bits = int("".join("1" if code.dark(x, y) else "0" for x, y in FORMAT_MODULES), 2) ^ FORMAT_MASK
    assert LEVELS[bits >> 13] == code.error_correction == "M"
    assert code.matrix[0][0] is True and len(code.matrix) == code.size


def test_terminal_text_uses_half_blocks_with_a_quiet_zone():
    code = passauth.qr_code(URL)
    lines = code.to_text().split("\n")
    side = code.size + 8
    assert len(lines) == (side + 1) // 2 and all(len(line) == side for line in lines)
    assert set("".join(lines)) <= {" ", "\u2580", "\u2584", "\u2588"}
    assert lines[0] == "\u2588" * side  # light quiet zone, drawn for a light-on-dark terminal
    inverted = code.to_text(invert=True).split("\n")
    assert inverted[0] == " " * side and str(code) == code.to_text()


def test_svg_has_one_square_per_dark_module():
    code = passauth.qr_code(URL)
    svg = code.to_svg(module_size=4)
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    side = code.size + 8
    assert f'viewBox="0 0 {side} {side}"' in svg and f'width="{side * 4}"' in svg
    squares = re.findall(r"M(\d+),(\d+)h1v1h-1z", svg)
    assert len(squares) == code.dark_modules() == sum(row.count("1") for row in code.rows)
    assert ("4", "4") in squares  # the top-left finder's corner, after the quiet zone


def test_png_is_a_valid_greyscale_image_of_the_code():
    code = passauth.qr_code(URL)
    png = code.to_png(module_size=3)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, offset = [], 8
    while offset < len(png):
        (length,) = struct.unpack(">I", png[offset:offset + 4])
        kind, data = png[offset + 4:offset + 8], png[offset + 8:offset + 8 + length]
        (crc,) = struct.unpack(">I", png[offset + 8 + length:offset + 12 + length])
        assert crc == zlib.crc32(kind + data) & 0xFFFFFFFF
        chunks.append((kind, data))
        offset += 12 + length
    assert [kind for kind, _ in chunks] == [b"IHDR", b"IDAT", b"IEND"]
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    side = (code.size + 8) * 3
    assert (width, height, depth, colour, interlace) == (side, side, 8, 0, 0)
    pixels = zlib.decompress(chunks[1][1])
    assert len(pixels) == side * (side + 1)
    rows = [pixels[y * (side + 1) + 1:(y + 1) * (side + 1)] for y in range(side)]
    assert all(pixels[y * (side + 1)] == 0 for y in range(side))  # filter type 0 on every scanline
    for y in range(code.size):
        for x in range(code.size):
            assert (rows[(y + 4) * 3 + 1][(x + 4) * 3 + 1] == 0) == code.dark(x, y)


def test_bad_texts_are_invalid_arguments():
    with pytest.raises(passauth.InvalidArgumentError) as caught:
        passauth.qr_code("")
    assert caught.value.key == "text"
    with pytest.raises(passauth.InvalidArgumentError):
        passauth.qr_code("x" * 3000)


def test_png_decodes_back_to_the_text_with_a_real_reader(tmp_path):
    import shutil
    import subprocess

    if shutil.which("zbarimg") is None:
        pytest.skip("zbarimg (zbar-tools) not installed: the structural checks above still ran")
    path = tmp_path / "code.png"
    path.write_bytes(passauth.qr_code(URL).to_png())
    done = subprocess.run(["zbarimg", "-q", "--raw", str(path)], capture_output=True, text=True, timeout=30)
    assert done.stdout.strip() == URL
