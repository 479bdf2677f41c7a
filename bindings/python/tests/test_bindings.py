"""The ctypes layer mirrors Include/passauth.h one-to-one: the checker of tests/abi compares the header,
the library's exports and ``passauth._native`` (names, argument counts, argument and result types,
struct members, callbacks, constants), and catches a doctored header or mirror."""

import ctypes
import os
import sys

import pytest

from passauth import _native

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
HEADER = os.path.join(ROOT, "Include", "passauth.h")
sys.path.insert(0, os.path.join(ROOT, "tests", "abi"))

import check_python_mirror as mirror  # noqa: E402


@pytest.fixture(scope="module")
def problems():
    header = mirror.parse_header(HEADER)
    return mirror.check(header, _native, exports=mirror.library_exports(_native.library()._name))


def test_the_header_is_parsed_whole():
    header = mirror.parse_header(HEADER)
    assert len(header.functions) >= 40
    assert header.functions["passauth_poll_start"].params == [
        "passauth_client *", "const char *", "const char *", "const char *", "passauth_poll_callback", "void *",
        "passauth_poll **"]
    assert header.functions["passauth_error_last"].result == "const passauth_error *"
    assert header.functions["passauth_json_count"].params[-1] == "size_t *"
    assert [m[0] for m in header.structs["passauth_error"]][-3:] == ["http_status", "retry_after_ms", "json"]
    assert header.structs["passauth_client"] is None  # opaque
    assert header.constants["PASSAUTH_PENDING"] == 1 and header.constants["PASSAUTH_VERSION_STRING"] == "0.2.0"
    assert header.constants["PASSAUTH_LOG_TRACE"] == 5


def test_header_exports_and_mirror_agree(problems):
    assert [p for p in problems if not mirror.owner(p)] == []


def test_store_api_entries_agree(problems):
    assert [p for p in problems if mirror.owner(p)] == []


def test_a_doctored_header_is_caught(tmp_path):
    text = open(HEADER, encoding="utf-8").read()
    doctored = {
        "int passauth_poll_wait(passauth_poll *poll, int timeout_ms":
            ("int passauth_poll_wait(passauth_poll *poll, long long timeout_ms", "passauth_poll_wait: argument 2"),
        "int passauth_qr_code(const char *text, char **out_json)":
            ("int passauth_qr_code(const char *text, int level, char **out_json)",
             "passauth_qr_code: the header has 3 argument(s), _native 2"),
        "    const char *trace; ": ("    const char *trace_id; ", "passauth_error: members"),
        "PASSAUTH_E_NOT_FOUND = -14": ("PASSAUTH_E_NOT_FOUND = -15", "PASSAUTH_E_NOT_FOUND: -15"),
        "typedef void (*passauth_log_callback)(void *user_data, int level, const char *message);":
            ("typedef void (*passauth_log_callback)(void *user_data, const char *message);", "passauth_log_callback"),
        "int passauth_version_number(void);": ("int passauth_version_number(void);\nint passauth_extra(int x);",
                                               "passauth_extra: declared in the header, missing"),
    }
    for original, (replacement, expected) in doctored.items():
        assert original in text, original
        path = tmp_path / "passauth.h"
        path.write_text(text.replace(original, replacement))
        found = mirror.check(mirror.parse_header(str(path)), _native)
        assert any(expected in p for p in found), (expected, found)


def test_a_doctored_mirror_is_caught():
    header = mirror.parse_header(HEADER)
    functions = dict(_native.FUNCTIONS)
    functions["passauth_poll_wait"] = (ctypes.c_int, [_native.poll_p, ctypes.c_char_p, _native.c_char_p_p])
    functions["passauth_authorize"] = (ctypes.c_int, [_native.client_p, ctypes.c_char_p, ctypes.c_char_p,
                                                      _native.c_char_p_p])
    functions["passauth_version"] = (ctypes.c_void_p, [])
    del functions["passauth_qr_code"]
    found = mirror.check(header, _native, functions=functions)
    assert any("passauth_poll_wait: argument 2 'int' should be c_int, _native has c_char_p" in p for p in found)
    assert any("passauth_authorize: the header has 5 argument(s), _native 4" in p for p in found)
    assert any("passauth_version: result 'const char *' should be c_char_p" in p for p in found)
    assert any("passauth_qr_code: declared in the header, missing" in p for p in found)


def test_the_error_struct_reads_before_and_after_a_failure():
    lib = _native.library()
    out = ctypes.c_void_p()
    status = lib.passauth_json_get_string(b'{"a": 1}', b"/a", ctypes.byref(out))
    assert status == _native.PASSAUTH_E_INVALID_ARGUMENT and out.value is None
    error = lib.passauth_error_last().contents
    assert error.status == status and error.name == b"PASSAUTH_E_INVALID_ARGUMENT"
    assert error.message and error.http_status == 0 and error.retry_after_ms == -1
    assert error.json and b'"statusName"' in error.json


def test_json_getters_and_version_number():
    lib = _native.library()
    document = b'{"decisions": [{"authorized": true, "n": 42, "token": {"serializedToken": "abc"}}]}'
    out = ctypes.c_void_p()
    assert lib.passauth_json_get_string(document, b"/decisions/0/token/serializedToken", ctypes.byref(out)) == 0
    assert _native.take_bytes(out.value) == b"abc"
    flag = ctypes.c_int()
    assert lib.passauth_json_get_bool(document, b"/decisions/0/authorized", ctypes.byref(flag)) == 0 and flag.value == 1
    number = ctypes.c_longlong()
    assert lib.passauth_json_get_int64(document, b"/decisions/0/n", ctypes.byref(number)) == 0 and number.value == 42
    count = ctypes.c_size_t()
    assert lib.passauth_json_count(document, b"/decisions", ctypes.byref(count)) == 0 and count.value == 1
    assert lib.passauth_json_count(document, b"/nothing", ctypes.byref(count)) == _native.PASSAUTH_E_NOT_FOUND
    assert lib.passauth_version_number() == _native.PASSAUTH_VERSION_NUMBER
