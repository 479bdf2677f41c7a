#!/usr/bin/env bash
# The shared object's promises: loads without a Swift toolchain, exports exactly the header's
# functions (passauth_* only), and carries the SONAME libpassauth.so.0. And the version is the one in
# VERSION: every file that repeats it agrees (scripts/version.py --check), and so does the library.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
lib=${1:?usage: test_shared_object.sh path/to/libpassauth.so.0.x.y}
header=${2:-Include/passauth.h}
passed=0; failed=0
check() {  # check NAME COMMAND...
    local name=$1; shift
    if "$@"; then echo "abi/$name: ok"; passed=$((passed + 1)); else echo "abi/$name: FAILED"; failed=$((failed + 1)); fi
}

no_swift_runtime() { ! ldd "$lib" | grep -qi swift; }
soname() { readelf -d "$lib" | grep -q 'SONAME.*\[libpassauth\.so\.0\]'; }
exports=$(readelf -W --dyn-syms "$lib" | awk '$5 == "GLOBAL" && $7 != "UND" {print $8}' | sed 's/@.*//' | sort -u)
declared=$(sed 's|/\*.*\*/||' "$header" | grep -oE '\bpassauth_[a-z_]+\s*\(' | tr -d ' (' | sort -u)
only_passauth() { [ -n "$exports" ] && ! grep -qv '^passauth_' <<<"$exports"; }
matches_header() { diff <(echo "$exports") <(echo "$declared") >&2; }
loads_without_toolchain() {
    # A process with no Swift on its library path still resolves every dependency.
    env -i PATH=/usr/bin:/bin LD_LIBRARY_PATH="$(dirname "$lib")" ldd "$lib" | grep -q 'not found' && return 1
    python3 -c "import ctypes,sys; l=ctypes.CDLL(sys.argv[1]); l.passauth_version.restype=ctypes.c_char_p; print(l.passauth_version().decode())" "$lib" >/dev/null
}

version_files_agree() { python3 "$root/scripts/version.py" --check; }
library_reports_VERSION() {
    [ "$(python3 -c "import ctypes,sys; l=ctypes.CDLL(sys.argv[1]); l.passauth_version.restype=ctypes.c_char_p; print(l.passauth_version().decode())" "$lib")" \
      = "$(cat "$root/VERSION")" ]
}

check no_swift_runtime_dependency no_swift_runtime
check soname_is_libpassauth.so.0 soname
check exports_only_passauth_symbols only_passauth
check exports_match_the_header matches_header
check loads_without_a_toolchain loads_without_toolchain
check version_files_agree_with_VERSION version_files_agree
check library_reports_VERSION library_reports_VERSION
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
