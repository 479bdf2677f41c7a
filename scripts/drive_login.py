"""Runs a command that prints an authentication code ("code: XXXX" or the CLI's "one-time code: XXXX")
and completes that login through the emulator's control API, as a user on a second screen would.

    python3 scripts/drive_login.py <emulator-base-url> -- <command> [args...]

The command's output is passed through; the exit status is the command's."""

import json
import re
import subprocess
import sys
import urllib.request

CODE = re.compile(r"code: ([A-Za-z0-9_-]+)")


def complete_login(base_url, code):
    request = urllib.request.Request(f"{base_url}/_emulator/login", data=json.dumps({"code": code}).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


# Half blocks: a line of a QR code drawn in the terminal (the code is printed beside one of them).
QR_LINE = re.compile("[\u2580\u2584\u2588]")


def run(base_url, command, env=None, timeout=120):
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
    completed = False
    note = None
    for line in process.stdout:
        if note and not QR_LINE.search(line):  # after the QR code, not through it
            print(note, flush=True)
            note = None
        sys.stdout.write(line)
        sys.stdout.flush()
        match = CODE.search(line)
        if match and not completed:
            complete_login(base_url, match.group(1))
            note = f"   (second screen: the emulator completed the login for {match.group(1)})"
            completed = True
    if note:
        print(note, flush=True)
    return process.wait(timeout=timeout)


if __name__ == "__main__":
    if len(sys.argv) < 4 or sys.argv[2] != "--":
        sys.exit(__doc__)
    sys.exit(run(sys.argv[1], sys.argv[3:]))
