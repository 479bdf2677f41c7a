#!/usr/bin/env bash
# The wheel from `make wheel` on its own: a fresh venv with only that wheel installed runs the journey
# against the emulator, with no build tree on any path (no PASSAUTH_LIBRARY, no PYTHONPATH, cwd outside
# the repository, LD_LIBRARY_PATH empty), and its library resolves every dependency from inside the wheel
# or from the base system's glibc/libstdc++. Prints "N passed, N failed".
#
#   tests/install/test_wheel.sh [dist dir, default build/dist]      (PYTHON: the project venv's python)
set -uo pipefail
cd "$(dirname "$0")/../.."
PYTHON=$(realpath -s "$(command -v "${PYTHON:-python3}")")   # absolute: the checks run from another directory
dist=$(cd "${1:-build/dist}" && pwd)
version=$(cat VERSION)
source tests/install/emulator.sh
work=$(mktemp -d /tmp/passauth-wheel-XXXXXX)
emulator_pid=""
cleanup() {
    [ -n "$emulator_pid" ] && kill "$emulator_pid" 2>/dev/null && wait "$emulator_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

passed=0 failed=0
check() {  # check <name> <command...>
    local name=$1; shift
    if "$@" >"$work/last.log" 2>&1; then
        echo "wheel/$name: ok"; passed=$((passed + 1))
    else
        echo "wheel/$name: FAILED ($*)"; sed 's/^/    /' "$work/last.log" | tail -20; failed=$((failed + 1))
    fi
}
# A bare environment outside the repository: what a user's shell would have, and nothing of the build.
bare() { (cd "$work" && env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$work" LANG=C.UTF-8 LD_LIBRARY_PATH= "$@"); }

wheels=("$dist"/passauth-*.whl)
check one_wheel [ ${#wheels[@]} -eq 1 -a -f "${wheels[0]}" ]
wheel=${wheels[0]}
echo "wheel: $(basename "$wheel"), $(stat -c %s "$wheel") bytes"
check platform_tag bash -c "[[ '$(basename "$wheel")' =~ ^passauth-${version//./\\.}-py3-none-manylinux_2_[0-9]+_$(uname -m)\.whl$ ]]"
check auditwheel_agrees bash -c "'$PYTHON' -m auditwheel show '$wheel' | tr '\n' ' ' | grep -q 'consistent with the following platform tag: \"manylinux_2_'"

# The wheel's contents: the stripped library, libcurl and jansson vendored beside it.
"$PYTHON" -c "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])" "$wheel" "$work/unpacked"
check library_stripped bash -c "! readelf -S '$work/unpacked/passauth/lib/libpassauth.so.0' | grep -qE '\.symtab|\.debug_'"
check vendors_curl_and_jansson bash -c "ls '$work/unpacked/passauth.libs/' | grep -q '^libcurl-' && ls '$work/unpacked/passauth.libs/' | grep -q '^libjansson-'"

# A fresh venv with only the wheel.
check fresh_venv bare "$PYTHON" -m venv "$work/venv"
check install_wheel bare "$work/venv/bin/python" -m pip install -q --disable-pip-version-check --no-index --no-deps "$wheel"
check only_passauth_installed bash -c "[ \"\$(cd '$work' && env -i '$work/venv/bin/python' -m pip list --format=freeze --disable-pip-version-check --exclude pip --exclude setuptools)\" = 'passauth==$version' ]"
installed=$(bare "$work/venv/bin/python" -c "import os, passauth; print(os.path.dirname(passauth.__file__))")
library=$installed/lib/libpassauth.so.0
check library_installed test -f "$library"

# ldd with an empty LD_LIBRARY_PATH: everything resolves; libcurl, jansson and the TLS stack from the
# wheel's passauth.libs/; from the system only what every manylinux system has (glibc, libgcc_s,
# libstdc++, zlib).
bare ldd "$library" >"$work/ldd.txt" 2>&1
check ldd_resolves_everything bash -c "grep -q '=>' '$work/ldd.txt' && ! grep -q 'not found' '$work/ldd.txt'"
check ldd_curl_jansson_from_wheel bash -c "grep -E '^\s*libcurl|^\s*libjansson' '$work/ldd.txt' | awk '{print \$3}' | grep -q . && \
    ! grep -E '^\s*libcurl|^\s*libjansson' '$work/ldd.txt' | awk '{print \$3}' | grep -v '^$work/venv/.*/passauth.libs/'"
check ldd_system_only_manylinux_libs bash -c "awk '/=>/ {print \$1, \$3}' '$work/ldd.txt' | grep -v ' $work/venv/' | awk '{print \$1}' | \
    grep -vE '^(libc|libm|libdl|librt|libpthread|libresolv|libutil|libgcc_s|libstdc\+\+|libz)\.so\.[0-9]+$'; [ \$? -eq 1 ]"

# The journey, in the bare environment, against the emulator (which runs from the repository).
cp tests/install/wheel_journey.py "$work/"
check isolation bare "$work/venv/bin/python" wheel_journey.py isolation "$version" "$(pwd)"
start_emulator "$work/emulator.out"
check emulator_ready [ -n "$base_url" ]
check journey bare "$work/venv/bin/python" wheel_journey.py journey "$base_url" "$work/store"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
