#!/usr/bin/env bash
# Installs what building and testing passauth needs, only when it is missing. Safe to run repeatedly;
# prints nothing when nothing is missing.
#
# Python tools go into a project venv (VENV, default build/venv) made from the base interpreter PYTHON
# (default python3), never into the system's Python: a stock Debian/Ubuntu python3 refuses pip installs
# (PEP 668, EXTERNALLY-MANAGED). The Makefile runs every Python test, the demo and the benchmarks with
# $VENV/bin/python.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
# g++/binutils: the C++ wrapper test, the ABI checks and strip; python3-venv: the project venv;
# redis-server: the shared-store tests; cmake: the install test's find_package(passauth);
# patchelf: auditwheel (make wheel); valgrind: make memcheck/helgrind and the instruction counts of make bench; headers: sqlite3 (the default store), libssl (secrets at rest),
# hiredis (the Redis store), qrencode (QR codes).
for pkg in libjansson-dev libcurl4-openssl-dev pkg-config openssl python3-venv g++ binutils \
           libsqlite3-dev libssl-dev libhiredis-dev libqrencode-dev cmake redis-server patchelf valgrind; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
    echo "bootstrap: installing ${need_apt[*]}"
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# The base interpreter. When PATH already leads to the venv (the Makefile puts $VENV/bin first), the
# venv's python names its base through sys._base_executable.
PYTHON=${PYTHON:-python3}
VENV=${VENV:-build/venv}
base=$(command -v "$PYTHON") || { echo "bootstrap: $PYTHON not found (set PYTHON=/path/to/python3)" >&2; exit 1; }
base=$("$base" -c 'import sys; print(getattr(sys, "_base_executable", "") or sys.executable)')
identity='import sys; print(sys.base_prefix, *sys.version_info[:3])'

# (Re)create the venv when it is missing, broken, or made from another base interpreter.
if [ ! -x "$VENV/bin/python" ] || [ "$("$VENV/bin/python" -c "$identity" 2>/dev/null)" != "$("$base" -c "$identity")" ]; then
    echo "bootstrap: creating the Python venv $VENV from $base"
    rm -rf "$VENV"
    "$base" -m venv "$VENV" || {
        echo "bootstrap: '$base -m venv' failed: install python3-venv (apt) or choose another PYTHON" >&2
        exit 1
    }
fi

mapfile -t tools < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' -e 's/[[:space:]]//g' scripts/python-tools.txt)
mapfile -t need_pip < <("$VENV/bin/python" - "${tools[@]}" <<'PY'
import importlib.metadata, sys
for name in sys.argv[1:]:
    try:
        importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        print(name)
PY
)
if [ ${#need_pip[@]} -gt 0 ]; then
    echo "bootstrap: installing ${need_pip[*]} into $VENV"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check "${need_pip[@]}"
fi

command -v swift >/dev/null || [ -x /opt/swift/usr/bin/swift ] || {
    echo "bootstrap: the Swift toolchain (6.0 or later) is required: put swift on PATH" >&2
    exit 1
}
