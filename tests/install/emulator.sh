# Sourced by the install tests: starts the emulator (test infrastructure, run from the repository with
# $PYTHON) on a free port and sets emulator_pid and base_url. The caller kills emulator_pid.
#
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
EMULATOR_COMMAND=(env PYTHONPATH="$repo/emulator" "$PYTHON" -m passauth_emulator)

start_emulator() {  # start_emulator <log file>
    (cd "$repo" && exec "${EMULATOR_COMMAND[@]}" --port 0 --no-throttle) >"$1" 2>&1 &
    emulator_pid=$!
    for _ in $(seq 100); do grep -q PASSAUTH_EMULATOR_READY "$1" && break; sleep 0.1; done
    base_url=$(sed -n 's/^PASSAUTH_EMULATOR_READY //p' "$1")
}
