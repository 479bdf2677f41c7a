#!/usr/bin/env bash
# Installs what building and testing passauth needs, only when it is missing. Safe to run repeatedly.
set -euo pipefail

need_apt=()
for pkg in libjansson-dev libcurl4-openssl-dev pkg-config openssl python3-venv g++ binutils; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
    echo "bootstrap: installing ${need_apt[*]}"
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import pytest' 2>/dev/null; then
    echo "bootstrap: installing pytest"
    "$PYTHON" -m pip install -q pytest
fi

command -v swift >/dev/null || [ -x /opt/swift/usr/bin/swift ] || {
    echo "bootstrap: the Swift toolchain (6.0 or later) is required: put swift on PATH" >&2
    exit 1
}
