#!/usr/bin/env bash
# `make install PREFIX=<tmp>`, then build the C example player against the installed library the two
# ways a user would, pkg-config and CMake's find_package(passauth), and against the build tree's
# build/lib/pkgconfig/passauth.pc, and run each against the emulator. Also DESTDIR staging and the
# CMake package's version rules. Prints "N passed, N failed".
# PYTHON: the interpreter for the emulator (emulator/, package passauth_emulator) and scripts/drive_login.py
# (`make test-install` sets it).
set -uo pipefail
cd "$(dirname "$0")/../.."
PYTHON=${PYTHON:-python3}
version=$(cat VERSION)
major=${version%%.*}
source tests/install/emulator.sh
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
real=libpassauth.so.$version
check symlink_dev [ "$(readlink "$lib/libpassauth.so")" = "libpassauth.so.$major" ]
check symlink_soname [ "$(readlink "$lib/libpassauth.so.$major")" = "$real" ]
check real_library bash -c "[ -f '$lib/$real' ] && [ ! -L '$lib/$real' ]"
check soname bash -c "readelf -d '$lib/$real' | grep -q 'Library soname: \[libpassauth.so.$major\]'"
check library_stripped bash -c "! readelf -S '$lib/$real' | grep -qE '\.symtab|\.debug_'"
check library_exports_intact bash -c "readelf -W --dyn-syms '$lib/$real' | grep -q ' passauth_client_new$'"
echo "install: $lib/$real is $(stat -c %s "$lib/$real") bytes (build/lib's unstripped copy: $(stat -c %s "build/lib/$real"))"
check headers test -f "$prefix/include/passauth.h" -a -f "$prefix/include/passauth.hpp"
check cmake_package test -f "$lib/cmake/passauth/passauthConfig.cmake" -a -f "$lib/cmake/passauth/passauthConfigVersion.cmake"
check cli_installed test -x "$prefix/bin/passauth"
check cli_no_swift_runtime bash -c "! ldd '$prefix/bin/passauth' | grep -q libswift"
check cli_version bash -c "'$prefix/bin/passauth' --version | grep -qx 'passauth $version'"

# pkg-config, installed.
export PKG_CONFIG_PATH=$lib/pkgconfig
check pkg_config_modversion bash -c "[ \"\$(pkg-config --modversion passauth)\" = '$version' ]"
check pkg_config_flags bash -c "pkg-config --cflags passauth | grep -q -- '-I$prefix/include' && pkg-config --libs passauth | grep -q -- '-L$lib -lpassauth'"
check build_player bash -c "cc -std=c11 -Wall -Wextra -Werror examples/c/player.c \$(pkg-config --cflags --libs passauth) -Wl,-rpath,'$lib' -o '$work/player'"
check player_links_prefix bash -c "ldd '$work/player' | grep -q 'libpassauth.so.$major => $lib/libpassauth.so.$major'"
check player_version bash -c "'$work/player' --version | grep -q 'libpassauth $version'"
check build_cpp_example bash -c "c++ -std=c++17 -Wall -Wextra -Werror examples/cpp/journey.cpp \$(pkg-config --cflags --libs passauth) -Wl,-rpath,'$lib' -o '$work/cpp-journey'"
unset PKG_CONFIG_PATH

# CMake: find_package(passauth $major.x REQUIRED) and the imported target passauth::passauth.
mkdir -p "$work/cmake-player"
cp examples/c/player.c "$work/cmake-player/"
cat >"$work/cmake-player/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.16)
project(player C)
find_package(passauth ${version%.*} REQUIRED)
add_executable(player player.c)
target_link_libraries(player PRIVATE passauth::passauth)
CMAKE
check cmake_configure cmake -S "$work/cmake-player" -B "$work/cmake-build" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release
check cmake_build cmake --build "$work/cmake-build"
check cmake_player_links_prefix bash -c "ldd '$work/cmake-build/player' | grep -q 'libpassauth.so.$major => $lib/libpassauth.so.$major'"
check cmake_player_version bash -c "'$work/cmake-build/player' --version | grep -q 'libpassauth $version'"

# passauthConfigVersion.cmake: which requests this version satisfies (project(... NONE): no compiler).
find_request() {  # find_request <request...>: configures find_package(passauth <request>) against the prefix
    local dir
    dir=$(mktemp -d "$work/find-XXXXXX")
    printf 'cmake_minimum_required(VERSION 3.19)\nproject(probe NONE)\nfind_package(passauth %s REQUIRED)\nif(NOT TARGET passauth::passauth)\n  message(FATAL_ERROR "no passauth::passauth")\nendif()\n' "$*" >"$dir/CMakeLists.txt"
    cmake -S "$dir" -B "$dir/build" -DCMAKE_PREFIX_PATH="$prefix"
}
refused() {  # refused <request>: find_package fails, and says it is the version
    ! find_request "$@" >"$work/refused.log" 2>&1 && grep -q 'considered but not accepted' "$work/refused.log"
}
check cmake_accepts_no_version find_request ""
check cmake_accepts_same_version find_request "$version EXACT"
check cmake_accepts_the_first_frozen_abi find_request "0.2"
check cmake_refuses_the_abi_before_it refused "0.1"
check cmake_accepts_range find_request "0.2...<$((major + 1)).0"
check cmake_refuses_next_major refused "$((major + 1)).0"
check cmake_refuses_newer_minor refused "$major.$(( $(cut -d. -f2 <<<"$version") + 1 ))"
check cmake_refuses_range_below refused "0.0...<$version"

# The build tree, uninstalled: build/lib/pkgconfig/passauth.pc (make build writes it).
check build_tree_pc_flags bash -c "PKG_CONFIG_PATH=build/lib/pkgconfig pkg-config --cflags --libs passauth | grep -q -- '-L$(pwd)/build/lib -lpassauth'"
check build_tree_player bash -c "cc -std=c11 -Wall -Wextra -Werror examples/c/player.c \$(PKG_CONFIG_PATH=build/lib/pkgconfig pkg-config --cflags --libs passauth) -o '$work/build-tree-player'"
check build_tree_player_links_build bash -c "ldd '$work/build-tree-player' | grep -q 'libpassauth.so.$major => $(pwd)/build/lib/libpassauth.so.$major'"
check build_tree_cpp bash -c "c++ -std=c++17 -Wall -Wextra -Werror examples/cpp/journey.cpp \$(PKG_CONFIG_PATH=build/lib/pkgconfig pkg-config --cflags --libs passauth) -o '$work/build-tree-cpp'"

# DESTDIR stages under another root; the files name PREFIX, never the staging directory.
stage=$work/stage
check destdir_install make --no-print-directory install DESTDIR="$stage" PREFIX=/opt/passauth
check destdir_layout test -f "$stage/opt/passauth/lib/$real" -a -L "$stage/opt/passauth/lib/libpassauth.so.$major" \
    -a -f "$stage/opt/passauth/include/passauth.h" -a -f "$stage/opt/passauth/lib/cmake/passauth/passauthConfig.cmake"
check destdir_pc_names_prefix grep -qx 'prefix=/opt/passauth' "$stage/opt/passauth/lib/pkgconfig/passauth.pc"
check destdir_no_stage_path bash -c "! grep -rl '$stage' '$stage/opt/passauth/lib/pkgconfig' '$stage/opt/passauth/lib/cmake'"

# The three players and the installed command against the emulator: the whole journey, the login
# completed through the emulator's control API as a second screen would.
start_emulator "$work/emulator.out"
check emulator_ready [ -n "$base_url" ]
journey() {  # journey <player> <store>
    "$PYTHON" scripts/drive_login.py "$base_url" -- "$1" "$base_url" "$2" >"$2.out" && grep -q 'REF30: permitted, media token valid' "$2.out"
}
check player_journey journey "$work/player" "$work/store-pc"
check cmake_player_journey journey "$work/cmake-build/player" "$work/store-cmake"
check build_tree_player_journey journey "$work/build-tree-player" "$work/store-build-tree"
check cli_providers bash -c "'$prefix/bin/passauth' --base-url '$base_url' --service-provider REF30 --store '$work/cli-store' \
    --software-statement eyJhbGciOiJSUzI1NiJ9.eyJzb2Z0d2FyZV9pZCI6ImRlbW8ifQ.c2lnbmF0dXJl providers --json | grep -q Cablevision"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
