#!/usr/bin/env bash
# `make install PREFIX=<tmp>`, then build and run the C example player against the installed library
# found through pkg-config, as a user of the installed package would. Prints "N passed, N failed".
# Needs PYTHONPATH to reach emulator/ (the passauth_emulator package); `make test-install` sets it.
set -uo pipefail
cd "$(dirname "$0")/../.."
PYTHON=${PYTHON:-python3}
prefix=$(mktemp -d /tmp/passauth-install-XXXXXX)
work=$(mktemp -d /tmp/passauth-install-work-XXXXXX)
emulator_pid=""
cleanup() {
    [ -n "$emulator_pid" ] && kill "$emulator_pid" 2>/dev/null && wait "$emulator_pid" 2>/dev/null
    rm -rf "$prefix" "$work"
}
trap cleanup EXIT

passed=0 failed=0
check() {  # check <name> <command...>
    local name=$1; shift
    if "$@" >"$work/last.log" 2>&1; then
        echo "install/$name: ok"; passed=$((passed + 1))
    else
        echo "install/$name: FAILED ($*)"; sed 's/^/    /' "$work/last.log" | tail -20; failed=$((failed + 1))
    fi
}

check make_install make --no-print-directory install PREFIX="$prefix"

lib=$prefix/lib
check symlink_dev [ "$(readlink "$lib/libpassauth.so")" = libpassauth.so.0 ]
check symlink_soname [ "$(readlink "$lib/libpassauth.so.0")" = libpassauth.so.0.1.0 ]
check real_library bash -c "[ -f '$lib/libpassauth.so.0.1.0' ] && [ ! -L '$lib/libpassauth.so.0.1.0' ]"
check soname bash -c "readelf -d '$lib/libpassauth.so.0.1.0' | grep -q 'Library soname: \[libpassauth.so.0\]'"
check headers test -f "$prefix/include/passauth.h" -a -f "$prefix/include/passauth.hpp"
check cli_installed test -x "$prefix/bin/passauth"
check cli_no_swift_runtime bash -c "! ldd '$prefix/bin/passauth' | grep -q libswift"
check cli_version bash -c "'$prefix/bin/passauth' --version | grep -qx 'passauth 0.1.0'"

export PKG_CONFIG_PATH=$lib/pkgconfig
check pkg_config_modversion bash -c "[ \"\$(pkg-config --modversion passauth)\" = 0.1.0 ]"
check pkg_config_flags bash -c "pkg-config --cflags passauth | grep -q -- '-I$prefix/include' && pkg-config --libs passauth | grep -q -- '-L$lib -lpassauth'"
check build_player bash -c "cc -std=c11 -Wall -Wextra -Werror examples/c/player.c \$(pkg-config --cflags --libs passauth jansson) -Wl,-rpath,'$lib' -o '$work/player'"
check player_links_prefix bash -c "ldd '$work/player' | grep -q 'libpassauth.so.0 => $lib/libpassauth.so.0'"
check player_version bash -c "'$work/player' --version | grep -q 'libpassauth 0.1.0'"
check build_cpp_example bash -c "c++ -std=c++17 -Wall -Wextra -Werror examples/cpp/journey.cpp \$(pkg-config --cflags --libs passauth) -Wl,-rpath,'$lib' -o '$work/cpp-journey'"

# The installed player and command against the emulator: the whole journey, the login completed
# through the emulator's control API as a second screen would.
"$PYTHON" -m passauth_emulator --port 0 --no-throttle >"$work/emulator.out" 2>&1 &
emulator_pid=$!
for _ in $(seq 50); do grep -q PASSAUTH_EMULATOR_READY "$work/emulator.out" && break; sleep 0.1; done
base_url=$(sed -n 's/^PASSAUTH_EMULATOR_READY //p' "$work/emulator.out")
check emulator_ready [ -n "$base_url" ]
check player_journey bash -c "'$PYTHON' scripts/drive_login.py '$base_url' -- '$work/player' '$base_url' '$work/store' > '$work/player.out' && grep -q 'REF30: permitted, media token valid' '$work/player.out'"
check cli_providers bash -c "'$prefix/bin/passauth' --base-url '$base_url' --service-provider REF30 --store '$work/cli-store' \
    --software-statement eyJhbGciOiJSUzI1NiJ9.eyJzb2Z0d2FyZV9pZCI6ImRlbW8ifQ.c2lnbmF0dXJl providers --json | grep -q Cablevision"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
