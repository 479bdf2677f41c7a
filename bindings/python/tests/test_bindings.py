"""The ctypes layer mirrors Include/passauth.h one-to-one."""

import os
import re

from passauth import _native

HEADER = os.path.join(os.path.dirname(__file__), "..", "..", "..", "Include", "passauth.h")


def declared_functions():
    text = open(HEADER).read()
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    found = {}
    for match in re.finditer(r"^[\w\s\*]*?\b(passauth_\w+)\s*\(([^)]*)\)\s*;", text, flags=re.M):
        name, params = match.group(1), match.group(2).strip()
        found[name] = 0 if params in ("", "void") else len(params.split(","))
    return found


def test_every_header_function_has_a_binding_with_the_same_arity():
    declared = declared_functions()
    assert len(declared) > 10
    assert set(declared) == set(_native.FUNCTIONS), "bindings and header differ"
    for name, arity in declared.items():
        assert len(_native.FUNCTIONS[name][1]) == arity, name


def test_every_binding_resolves_in_the_library():
    lib = _native.library()
    for name in _native.FUNCTIONS:
        assert getattr(lib, name) is not None
