#!/usr/bin/env bash
# The shared object's promises: loads without a Swift toolchain, exports exactly the header's
# functions (passauth_* only), and carries the SONAME libpassauth.so.<major>, <major> the first field of
# VERSION. The version is the one in VERSION: every file that repeats it agrees (scripts/version.py
# --check), and so does the library. Then the header, the exports and the Python mirror
# (bindings/python/passauth/_native.py) agree, function by function, argument by argument
# (check_python_mirror.py), and a doctored header or mirror is caught.
set -u
lib=${1:?usage: test_shared_object.sh path/to/libpassauth.so.0.x.y}
header=${2:-Include/passauth.h}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
major=$(cut -d. -f1 "$root/VERSION")
passed=0; failed=0
check() {  # check NAME COMMAND...
    local name=$1; shift
    if "$@"; then echo "abi/$name: ok"; passed=$((passed + 1)); else echo "abi/$name: FAILED"; failed=$((failed + 1)); fi
}

no_swift_runtime() { ! ldd "$lib" | grep -qi swift; }
# hiredis is dlopen'ed by the Redis store at its first connection: a player that never uses Redis
# needs no libhiredis installed, so the library must not link it.
no_hiredis_dependency() { ! ldd "$lib" | grep -qi hiredis && ! readelf -d "$lib" | grep NEEDED | grep -qi hiredis; }
soname() { readelf -d "$lib" | grep -q "SONAME.*\\[libpassauth\\.so\\.$major\\]"; }
exports=$(readelf -W --dyn-syms "$lib" | awk '$5 == "GLOBAL" && $7 != "UND" {print $8}' | sed 's/@.*//' | sort -u)
declared=$(sed 's|/\*.*\*/||' "$header" | grep -oE '\bpassauth_[a-z0-9_]+\s*\(' | tr -d ' (' | sort -u)
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
mirror_agrees() { python3 "$here/check_python_mirror.py" --header "$header" --library "$lib" >&2; }
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
# expect_caught FILE-DESCRIPTION EXPECTED-LINE CHECKER-ARGS...: the checker fails and names the mismatch.
expect_caught() {
    local expected=$1; shift
    local out
    if out=$(python3 "$here/check_python_mirror.py" "$@" 2>&1); then echo "not caught: $expected" >&2; return 1; fi
    grep -qF "$expected" <<<"$out" || { echo "expected '$expected' in:" >&2; echo "$out" >&2; return 1; }
}
doctored_header_is_caught() {
    sed 's/passauth_poll_wait(passauth_poll \*poll, int timeout_ms/passauth_poll_wait(passauth_poll *poll, long long timeout_ms/' \
        "$header" >"$scratch/type.h"
    sed 's/int passauth_qr_code(const char \*text, char \*\*out_json)/int passauth_qr_code(const char *text, int level, char **out_json)/' \
        "$header" >"$scratch/arity.h"
    sed 's/    int http_status; /    long long http_status; /' "$header" >"$scratch/struct.h"
    ! cmp -s "$header" "$scratch/type.h" && ! cmp -s "$header" "$scratch/arity.h" && ! cmp -s "$header" "$scratch/struct.h" &&
    expect_caught "passauth_poll_wait: argument 2 'long long' should be" --header "$scratch/type.h" &&
    expect_caught "passauth_qr_code: the header has 3 argument(s), _native 2" --header "$scratch/arity.h" &&
    expect_caught "passauth_error.http_status: 'long long' should be" --header "$scratch/struct.h"
}
doctored_mirror_is_caught() {
    mkdir -p "$scratch/package/passauth"
    cp "$root"/bindings/python/passauth/*.py "$scratch/package/passauth/"
    sed -i 's/"passauth_poll_wait": (c_int, \[poll_p, c_int, c_char_p_p\])/"passauth_poll_wait": (c_int, [poll_p, c_char_p, c_char_p_p])/' \
        "$scratch/package/passauth/_native.py"
    grep -q '"passauth_poll_wait": (c_int, \[poll_p, c_char_p' "$scratch/package/passauth/_native.py" &&
    expect_caught "passauth_poll_wait: argument 2 'int' should be c_int, _native has c_char_p" \
        --header "$header" --package "$scratch/package"
}
# The header is the reference: every declared function's comment names its errors and its thread-safety
# (check_header_docs.py), and a comment that loses its "Errors:" line is caught.
header_docs_complete() { python3 "$here/check_header_docs.py" --header "$header" >&2; }
doctored_header_docs_are_caught() {
    sed 's/^ \* Errors: PASSAUTH_E_INVALID_ARGUMENT (NULL, empty, or too long/ * PASSAUTH_E_INVALID_ARGUMENT (NULL, empty, or too long/' \
        "$header" >"$scratch/docs.h"
    local out
    ! cmp -s "$header" "$scratch/docs.h" || { echo "the doctoring sed matched nothing" >&2; return 1; }
    if out=$(python3 "$here/check_header_docs.py" --header "$scratch/docs.h" 2>&1); then echo "not caught" >&2; return 1; fi
    grep -qF "passauth_qr_code: its comment has no 'Errors:' line" <<<"$out" || { echo "$out" >&2; return 1; }
}

# The standard library's regex engine (pulled in by String.contains(String) and friends) is more than a
# megabyte the library does not need: the core searches bytes (Strings.swift).
no_regex_engine() { ! nm "$lib" | grep -q '_StringProcessing\|_RegexParser'; }

check no_swift_runtime_dependency no_swift_runtime
check no_hiredis_dependency no_hiredis_dependency
check no_swift_regex_engine_linked_in no_regex_engine
check "soname_is_libpassauth.so.$major" soname
check exports_only_passauth_symbols only_passauth
check exports_match_the_header matches_header
check loads_without_a_toolchain loads_without_toolchain
check version_files_agree_with_VERSION version_files_agree
check library_reports_VERSION library_reports_VERSION
check header_exports_and_python_mirror_agree mirror_agrees
check a_doctored_header_is_caught doctored_header_is_caught
check a_doctored_python_mirror_is_caught doctored_mirror_is_caught
check header_comments_name_errors_and_threads header_docs_complete
check a_doctored_header_comment_is_caught doctored_header_docs_are_caught
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
