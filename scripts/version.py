#!/usr/bin/env python3
"""The version is written in one place, the top-level VERSION file; this script copies it everywhere else.

    scripts/version.py            write VERSION into the files below (only the version lines change)
    scripts/version.py --set X.Y.Z  write X.Y.Z into VERSION, then into the files below
    scripts/version.py --check    exit 1, naming each file, when any of them disagrees with VERSION

The files: Include/passauth.h (PASSAUTH_VERSION_MAJOR/MINOR/PATCH, and PASSAUTH_VERSION_NUMBER =
major*1000000 + minor*1000 + patch when the header has that line), Sources/PassAuthCore/Support/Version.swift
(`static let string`, `static let number`), Package.swift (the SONAME's major, `-soname=libpassauth.so.MAJOR`),
bindings/python/passauth/_version.py (read by pyproject.toml through setuptools'
dynamic version). The Makefile reads VERSION itself and writes it into passauth.pc and the CMake
package at build and install time. Standard library only: runs with any Python 3.
"""

import os
import re
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
VERSION_FILE = os.path.join(ROOT, "VERSION")
SEMVER = re.compile(r"^(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})$")


def read_version():
    with open(VERSION_FILE) as handle:
        text = handle.read().strip()
    if not SEMVER.match(text):
        sys.exit(f"VERSION: {text!r} is not MAJOR.MINOR.PATCH (each 0-999)")
    return text


def header_edit(text, version):
    major, minor, patch = (int(part) for part in version.split("."))
    values = {"MAJOR": major, "MINOR": minor, "PATCH": patch, "NUMBER": major * 1000000 + minor * 1000 + patch,
              "STRING": f'"{version}"'}
    for name, value in values.items():
        pattern = re.compile(rf"^(#define[ \t]+PASSAUTH_VERSION_{name}[ \t]+)\S+", re.M)
        if not pattern.search(text):
            raise ValueError(f"no '#define PASSAUTH_VERSION_{name}' line")
        text = pattern.sub(lambda match: f"{match.group(1)}{value}", text)
    return text


def swift_edit(text, version):
    major, minor, patch = (int(part) for part in version.split("."))
    string = re.compile(r'^([ \t]*package static let string = )"[^"]*"', re.M)
    number = re.compile(r'^([ \t]*package static let number: Int32 = )[0-9_]+', re.M)
    if not string.search(text) or not number.search(text):
        raise ValueError("no 'package static let string = \"...\"' / 'package static let number: Int32 = N' line")
    text = string.sub(lambda match: f'{match.group(1)}"{version}"', text)
    return number.sub(lambda match: f"{match.group(1)}{major * 1000000 + minor * 1000 + patch}", text)


def package_edit(text, version):
    """Package.swift's -soname=libpassauth.so.MAJOR: the SONAME changes with the major version only."""
    pattern = re.compile(r"(-soname=libpassauth\.so\.)[0-9]+")
    if not pattern.search(text):
        raise ValueError("no '-soname=libpassauth.so.N' flag")
    return pattern.sub(lambda match: f"{match.group(1)}{version.split('.')[0]}", text)


def python_edit(text, version):
    return ('"""The package version, written by scripts/version.py from the top-level VERSION file: do not edit."""\n'
            f'\n__version__ = "{version}"\n')


TARGETS = [
    ("Include/passauth.h", header_edit),
    ("Sources/PassAuthCore/Support/Version.swift", swift_edit),
    ("Package.swift", package_edit),
    ("bindings/python/passauth/_version.py", python_edit),
]


def main(argv):
    check = "--check" in argv
    if "--set" in argv:
        new = argv[argv.index("--set") + 1] if argv.index("--set") + 1 < len(argv) else ""
        if not SEMVER.match(new):
            sys.exit(f"--set: {new!r} is not MAJOR.MINOR.PATCH")
        with open(VERSION_FILE, "w") as handle:
            handle.write(new + "\n")
    version = read_version()
    stale = []
    for path, edit in TARGETS:
        full = os.path.join(ROOT, path)
        old = open(full).read() if os.path.exists(full) else ""
        try:
            new = edit(old, version)
        except ValueError as error:
            sys.exit(f"{path}: {error}")
        if new == old:
            continue
        if check:
            stale.append(path)
        else:
            with open(full + ".tmp", "w") as handle:
                handle.write(new)
            os.replace(full + ".tmp", full)
            print(f"version: wrote {version} into {path}")
    if stale:
        print(f"version: VERSION says {version}, but these files disagree: {', '.join(stale)}\n"
              "  run scripts/version.py (or make version) to write VERSION into them", file=sys.stderr)
        return 1
    if check:
        print(f"version: {version} everywhere")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
