"""Ctrl-C during Poll.wait(): the wait is made of short native slices, so SIGINT raises
KeyboardInterrupt within a fraction of a second; the poll itself goes on until the caller (or the
``with`` block) closes it."""

import json
import os
import signal
import subprocess
import sys
import time

PACKAGE_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))

SCRIPT = r"""
import json, sys
import passauth

config = json.loads(sys.argv[1])
with passauth.Client(config) as client:
    session = client.create_session("Cablevision", "adobe.com", "https://adobe.com")
    poll = client.poll(session.code)
    try:
        print("WAITING", flush=True)
        poll.wait()
    except KeyboardInterrupt:
        print("INTERRUPTED", poll.info().state, flush=True)  # the poll goes on
        poll.close()
        print("CLOSED", flush=True)
        raise
"""

SCRIPT_WITH = r"""
import json, sys
import passauth

config = json.loads(sys.argv[1])
with passauth.Client(config) as client:
    session = client.create_session("Cablevision", "adobe.com", "https://adobe.com")
    try:
        with client.poll(session.code) as poll:
            print("WAITING", flush=True)
            poll.wait(timeout=60)
    finally:
        print("STATE", repr(poll), flush=True)
"""


def interrupt(script, config):
    env = dict(os.environ, PYTHONPATH=PACKAGE_ROOT)
    child = subprocess.Popen([sys.executable, "-c", script, json.dumps(config)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert child.stdout.readline().strip() == "WAITING"
        time.sleep(0.7)  # well inside the wait (the first poll request is not due before 0.75 s)
        sent = time.monotonic()
        child.send_signal(signal.SIGINT)
        code = child.wait(timeout=10)
        elapsed = time.monotonic() - sent
        return code, elapsed, child.stdout.read(), child.stderr.read()
    finally:
        if child.poll() is None:
            child.kill()


def test_ctrl_c_interrupts_wait_within_a_second_and_the_poll_goes_on(emu, make_config):
    code, elapsed, out, err = interrupt(SCRIPT, make_config(logLevel="none"))
    assert code != 0 and "KeyboardInterrupt" in err, err
    assert elapsed < 1.0, f"took {elapsed:.2f} s"
    assert "INTERRUPTED pending" in out and "CLOSED" in out, out


def test_ctrl_c_in_a_with_block_cancels_the_poll(emu, make_config):
    code, elapsed, out, err = interrupt(SCRIPT_WITH, make_config(logLevel="none"))
    assert code != 0 and "KeyboardInterrupt" in err, err
    assert elapsed < 1.0, f"took {elapsed:.2f} s"
    assert "closed>" in out, out
