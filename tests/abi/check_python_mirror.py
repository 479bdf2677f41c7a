#!/usr/bin/env python3
"""Checks Include/passauth.h, the library's exports and the Python mirror (bindings/python/passauth/_native.py)
against each other:

  - every prototype of the header is in ``_native.FUNCTIONS`` and nothing else is, with the same number of
    arguments and, argument by argument, the ctypes type the C type maps to (below), and the same result type;
  - every function of the header is exported by the library and the library exports no other passauth_*;
  - every struct of the header has a ctypes Structure with the same members, in order, of the mapped types;
    every opaque struct a ctypes class; every callback typedef a CFUNCTYPE of the same signature;
  - every enum constant and every value macro (#define PASSAUTH_X 42 / "text") has the same value.

The C -> ctypes mapping (pointers written POINTER(...)):
  void (result)            None              int / unsigned int       c_int / c_uint
  long long / unsigned …   c_longlong / …    size_t / double          c_size_t / c_double
  const char *             c_char_p          char ** / void **        POINTER(c_void_p)  (the address is freed)
  void *                   c_void_p          T * (T a scalar)         POINTER(T's ctypes type)
  passauth_x * (struct)    POINTER(PassauthX), one POINTER per '*'
  passauth_x_callback      X_CALLBACK, a CFUNCTYPE with the typedef's signature

    python3 tests/abi/check_python_mirror.py [--header Include/passauth.h] [--library build/lib/libpassauth.so.0]
                                             [--package bindings/python]

Prints one line per mismatch (those about the store API are tagged "[store API]") and exits 1 if there is any.
"""

from __future__ import annotations

import argparse
import ctypes
import importlib
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Dict, Iterable, List, Optional, Tuple

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


# Parsing the header -------------------------------------------------------------------------------

@dataclass
class Prototype:
    name: str
    result: str
    params: List[str]  # canonical C types, without names


@dataclass
class Header:
    functions: Dict[str, Prototype] = field(default_factory=dict)  # in header order
    structs: Dict[str, Optional[List[Tuple[str, Any]]]] = field(default_factory=dict)  # None = opaque
    callbacks: Dict[str, Prototype] = field(default_factory=dict)
    constants: Dict[str, Any] = field(default_factory=dict)


def _strip_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", " ", text)


def canonical(c_type: str) -> str:
    """'const  char*' -> 'const char *'; 'passauth_client **' stays."""
    stars = c_type.count("*")
    base = " ".join(c_type.replace("*", " ").split())
    return base + (" " + "*" * stars if stars else "")


def _param_type(param: str) -> str:
    param = param.strip()
    if param in ("", "void"):
        return ""
    match = re.match(r"^(.*?[\s*])(\w+)$", param)  # drop the parameter's name
    if not match or not match.group(1).strip():
        return canonical(param)
    return canonical(match.group(1))


def _params(text: str) -> List[str]:
    text = text.strip()
    if text in ("", "void"):
        return []
    return [_param_type(p) for p in text.split(",")]


def parse_header(path: str) -> Header:
    raw = open(path, encoding="utf-8").read()
    header = Header()
    for match in re.finditer(r"^#define\s+(PASSAUTH_\w+)[ \t]+(.+?)\s*$", raw, flags=re.M):
        name, value = match.group(1), match.group(2)
        if re.fullmatch(r"-?\d+", value):
            header.constants[name] = int(value)
        elif re.fullmatch(r'"[^"]*"', value):
            header.constants[name] = value[1:-1]
    text = _strip_comments(raw).replace("\\\n", " ")  # join continued preprocessor lines
    text = re.sub(r"^\s*#.*$", " ", text, flags=re.M)
    for match in re.finditer(r"typedef\s+enum\s+\w*\s*\{(.*?)\}\s*\w+\s*;", text, flags=re.S):
        for item in match.group(1).split(","):
            found = re.match(r"\s*(PASSAUTH_\w+)\s*=\s*(-?\d+)\s*$", item)
            if found:
                header.constants[found.group(1)] = int(found.group(2))
    for match in re.finditer(r"typedef\s+struct\s+(\w+)\s*\{(.*?)\}\s*\w+\s*;", text, flags=re.S):
        members: List[Tuple[str, Any]] = []
        for declaration in match.group(2).split(";"):
            declaration = " ".join(declaration.split())
            if not declaration:
                continue
            pointer = re.match(r"^(.+?)\(\s*\*\s*(\w+)\s*\)\s*\((.*)\)$", declaration)
            if pointer:
                members.append((pointer.group(2), Prototype(pointer.group(2), canonical(pointer.group(1)),
                                                            _params(pointer.group(3)))))
            else:
                plain = re.match(r"^(.*?[\s*])(\w+)$", declaration)
                if plain:
                    members.append((plain.group(2), canonical(plain.group(1))))
        header.structs[match.group(1)] = members
    for match in re.finditer(r"typedef\s+struct\s+(\w+)\s+(\w+)\s*;", text):
        header.structs.setdefault(match.group(1), None)
    for match in re.finditer(r"typedef\s+([\w\s\*]+?)\(\s*\*\s*(\w+)\s*\)\s*\(([^)]*)\)\s*;", text):
        header.callbacks[match.group(2)] = Prototype(match.group(2), canonical(match.group(1)), _params(match.group(3)))
    # Prototypes: what is left once the struct and enum bodies are gone, one statement per ';'.
    rest = re.sub(r"typedef\s+(?:struct|enum)\s+\w*\s*\{.*?\}\s*\w+\s*;", ";", text, flags=re.S)
    rest = re.sub(r'extern\s+"C"\s*\{|\}', ";", rest)
    for statement in rest.split(";"):
        statement = " ".join(statement.split())
        match = re.match(r"^([A-Za-z_][\w\s\*]*?)\b(passauth_\w+)\s*\((.*)\)$", statement)
        if not match or statement.startswith("typedef"):
            continue
        header.functions[match.group(2)] = Prototype(match.group(2), canonical(match.group(1)), _params(match.group(3)))
    return header


# The mapping ----------------------------------------------------------------------------------------

_SCALARS = {
    "int": ctypes.c_int, "unsigned int": ctypes.c_uint, "long": ctypes.c_long, "unsigned long": ctypes.c_ulong,
    "long long": ctypes.c_longlong, "unsigned long long": ctypes.c_ulonglong, "size_t": ctypes.c_size_t,
    "double": ctypes.c_double,
}


def struct_class_name(c_name: str) -> str:
    """passauth_error -> PassauthError."""
    return "".join(part.capitalize() for part in c_name.split("_"))


def callback_name(c_name: str) -> str:
    """passauth_poll_callback -> POLL_CALLBACK."""
    return c_name[len("passauth_"):].upper() if c_name.startswith("passauth_") else c_name.upper()


class MappingError(Exception):
    pass


def expected_ctype(c_type: str, native: ModuleType, header: Header, result: bool = False) -> Any:
    stars = c_type.count("*")
    base = c_type.replace("*", "").strip()
    const = base.startswith("const ")
    base = base[len("const "):] if const else base
    if base == "void":
        if stars == 0:
            if result:
                return None
            raise MappingError("void parameter")
        return ctypes.c_void_p if stars == 1 else _pointer(ctypes.c_void_p, stars - 1)
    if base == "char":
        if stars == 1:
            return ctypes.c_char_p
        if stars == 2 and not const:
            return ctypes.POINTER(ctypes.c_void_p)
        raise MappingError(f"no mapping for '{c_type}'")
    if base in _SCALARS:
        return _pointer(_SCALARS[base], stars)
    if base in header.callbacks:
        if stars:
            raise MappingError(f"no mapping for a pointer to a callback '{c_type}'")
        name = callback_name(base)
        mirror = getattr(native, name, None)
        if mirror is None:
            raise MappingError(f"callback type {base} has no mirror {name}")
        return mirror
    if base in header.structs:
        name = struct_class_name(base)
        mirror = getattr(native, name, None)
        if mirror is None:
            raise MappingError(f"struct {base} has no mirror class {name}")
        return _pointer(mirror, stars)
    raise MappingError(f"no mapping for C type '{c_type}'")


def _pointer(target: Any, stars: int) -> Any:
    for _ in range(stars):
        target = ctypes.POINTER(target)
    return target


def describe(ctype: Any) -> str:
    if ctype is None:
        return "None"
    if isinstance(ctype, type) and issubclass(ctype, ctypes._CFuncPtr):  # type: ignore[attr-defined]
        args = ", ".join(describe(a) for a in ctype._argtypes_)
        return f"CFUNCTYPE({describe(ctype._restype_)}, {args})" if args else f"CFUNCTYPE({describe(ctype._restype_)})"
    if isinstance(ctype, type) and issubclass(ctype, ctypes._Pointer):  # type: ignore[attr-defined]
        return f"POINTER({describe(ctype._type_)})"
    return getattr(ctype, "__name__", repr(ctype))


def same(actual: Any, expected: Any) -> bool:
    if actual is expected:
        return True
    for kind in (ctypes._CFuncPtr,):  # type: ignore[attr-defined]
        if isinstance(actual, type) and isinstance(expected, type) and issubclass(actual, kind) and issubclass(expected, kind):
            return (same(actual._restype_, expected._restype_) and len(actual._argtypes_) == len(expected._argtypes_)
                    and all(same(a, e) for a, e in zip(actual._argtypes_, expected._argtypes_)))
    return False


def _signature(prototype: Prototype, native: ModuleType, header: Header) -> Any:
    return ctypes.CFUNCTYPE(expected_ctype(prototype.result, native, header, result=True),
                            *[expected_ctype(p, native, header) for p in prototype.params])


# The checks -----------------------------------------------------------------------------------------

def library_exports(library: str) -> List[str]:
    out = subprocess.run(["readelf", "-W", "--dyn-syms", library], capture_output=True, text=True, check=True).stdout
    names = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 8 and parts[4] == "GLOBAL" and parts[6] != "UND":
            names.add(parts[7].split("@")[0])
    return sorted(names)


def check(header: Header, native: ModuleType, functions: Optional[Dict[str, Tuple[Any, List[Any]]]] = None,
          exports: Optional[Iterable[str]] = None) -> List[str]:
    """Every mismatch as one line (empty: all agree)."""
    functions = native.FUNCTIONS if functions is None else functions
    problems: List[str] = []
    if len(header.functions) < 10:
        problems.append(f"header: only {len(header.functions)} prototypes found (parser broken?)")

    for name in header.functions:
        if name not in functions:
            problems.append(f"{name}: declared in the header, missing from _native.FUNCTIONS")
    for name in functions:
        if name not in header.functions:
            problems.append(f"{name}: in _native.FUNCTIONS, not declared in the header")
    for name, prototype in header.functions.items():
        if name not in functions:
            continue
        restype, argtypes = functions[name]
        if len(argtypes) != len(prototype.params):
            problems.append(f"{name}: the header has {len(prototype.params)} argument(s), _native {len(argtypes)}")
            continue
        try:
            expected_result = expected_ctype(prototype.result, native, header, result=True)
            if not same(restype, expected_result):
                problems.append(f"{name}: result '{prototype.result}' should be {describe(expected_result)}, "
                                f"_native has {describe(restype)}")
        except MappingError as error:
            problems.append(f"{name}: result: {error}")
        for index, (c_type, actual) in enumerate(zip(prototype.params, argtypes)):
            try:
                wanted = expected_ctype(c_type, native, header)
            except MappingError as error:
                problems.append(f"{name}: argument {index + 1}: {error}")
                continue
            if not same(actual, wanted):
                problems.append(f"{name}: argument {index + 1} '{c_type}' should be {describe(wanted)}, "
                                f"_native has {describe(actual)}")

    for c_name, members in header.structs.items():
        mirror = getattr(native, struct_class_name(c_name), None)
        if mirror is None or not (isinstance(mirror, type) and issubclass(mirror, ctypes.Structure)):
            problems.append(f"{c_name}: no ctypes Structure {struct_class_name(c_name)} in _native")
            continue
        if members is None:
            continue
        fields = list(getattr(mirror, "_fields_", []))
        names = [f[0] for f in fields]
        if names != [m[0] for m in members]:
            problems.append(f"{c_name}: members {[m[0] for m in members]} in the header, {names} in "
                            f"{struct_class_name(c_name)}")
            continue
        for (member, c_type), (_, actual) in zip(members, fields):
            try:
                wanted = (_signature(c_type, native, header) if isinstance(c_type, Prototype)
                          else expected_ctype(c_type, native, header))
            except MappingError as error:
                problems.append(f"{c_name}.{member}: {error}")
                continue
            if not same(actual, wanted):
                shown = c_type.result + " (*)(" + ", ".join(c_type.params) + ")" if isinstance(c_type, Prototype) else c_type
                problems.append(f"{c_name}.{member}: '{shown}' should be {describe(wanted)}, "
                                f"{struct_class_name(c_name)} has {describe(actual)}")

    for c_name, prototype in header.callbacks.items():
        mirror = getattr(native, callback_name(c_name), None)
        try:
            wanted = _signature(prototype, native, header)
        except MappingError as error:
            problems.append(f"{c_name}: {error}")
            continue
        if mirror is None or not same(mirror, wanted):
            problems.append(f"{c_name}: should be {callback_name(c_name)} = {describe(wanted)}, _native has "
                            f"{describe(mirror) if mirror is not None else 'nothing'}")

    for name, value in header.constants.items():
        if name == "PASSAUTH_H":
            continue
        if not hasattr(native, name):
            problems.append(f"{name}: {value!r} in the header, missing from _native")
        elif getattr(native, name) != value:
            problems.append(f"{name}: {value!r} in the header, {getattr(native, name)!r} in _native")

    if exports is not None:
        exported = set(exports)
        for name in header.functions:
            if name not in exported:
                problems.append(f"{name}: declared in the header, not exported by the library")
        for name in sorted(exported - set(header.functions)):
            problems.append(f"{name}: exported by the library, not declared in the header")
    return problems


def owner(problem: str) -> str:
    """Who fixes a mismatch: the store API has its own engineer."""
    subject = problem.split(":", 1)[0]
    return "store API" if "store" in subject.lower() else ""


def load_native(package: str) -> ModuleType:
    sys.path.insert(0, os.path.abspath(package))
    return importlib.import_module("passauth._native")


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--header", default=os.path.join(ROOT, "Include", "passauth.h"))
    parser.add_argument("--library", help="also compare with this shared object's exports")
    parser.add_argument("--package", default=os.path.join(ROOT, "bindings", "python"))
    args = parser.parse_args(argv)
    header = parse_header(args.header)
    native = load_native(args.package)
    problems = check(header, native, exports=library_exports(args.library) if args.library else None)
    for problem in problems:
        tag = owner(problem)
        print(f"mirror: {problem}" + (f"  [{tag}]" if tag else ""))
    print(f"mirror: {len(header.functions)} functions, {len(header.structs)} structs, {len(header.callbacks)} "
          f"callbacks, {len(header.constants)} constants compared; {len(problems)} mismatch(es)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
