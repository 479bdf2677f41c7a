#!/usr/bin/env bash
# Installs what building and testing passauth needs, only when it is missing. Safe to run repeatedly.
set -euo pipefail

need_apt=()
# g++/binutils: the C++ wrapper test and the ABI checks; redis-server: the shared-store tests;
# libsqlite3-dev, libssl-dev: the default store and the encryption of secrets at rest.
for pkg in libjansson-dev libcurl4-openssl-dev libsqlite3-dev libssl-dev pkg-config openssl python3-venv g++ binutils redis-server; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
    echo "bootstrap: installing ${need_apt[*]}"
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

PYTHON=${PYTHON:-python3}
need_pip=()
"$PYTHON" -c 'import pytest' 2>/dev/null || need_pip+=(pytest)
"$PYTHON" -c 'import mypy' 2>/dev/null || need_pip+=(mypy)          # the package's mypy --strict test
"$PYTHON" -c 'import requests' 2>/dev/null || need_pip+=(requests)  # benchmarks/python_authorize.py baseline
"$PYTHON" -c 'import redis' 2>/dev/null || need_pip+=(redis)        # passauth.stores.RedisStore and its tests
"$PYTHON" -c 'import setuptools' 2>/dev/null || need_pip+=(setuptools)
"$PYTHON" -c 'import wheel' 2>/dev/null || need_pip+=(wheel)        # tests/test_install.py builds the wheel offline
if [ ${#need_pip[@]} -gt 0 ]; then
    echo "bootstrap: installing ${need_pip[*]}"
    "$PYTHON" -m pip install -q --disable-pip-version-check "${need_pip[@]}"
fi

command -v swift >/dev/null || [ -x /opt/swift/usr/bin/swift ] || {
    echo "bootstrap: the Swift toolchain (6.0 or later) is required: put swift on PATH" >&2
    exit 1
}
