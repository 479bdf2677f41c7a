"""Every program under examples/ runs against the emulator and does what its page says.

The C and C++ programs are the ones `make test-docs` builds (build/examples/); the emulator finishes each
MVPD login one second after its session starts (--auto-login 1), as a user on a second screen would, and
throttles each device as Adobe does (1 request/s, burst 10), so the back-end examples show their pacing.
"""

import base64
import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILT = os.path.join(ROOT, "build", "examples")
ENV = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.join(ROOT, "bindings", "python"), os.path.join(ROOT, "emulator")]),
           PASSAUTH_LIBRARY=os.path.join(ROOT, "build", "lib", "libpassauth.so.0"))


@pytest.fixture(scope="module")
def service():
    sys.path.insert(0, os.path.join(ROOT, "emulator"))
    from passauth_emulator import Emulator
    with Emulator(auto_login=1) as emulator:
        yield emulator


@pytest.fixture
def emu(service):
    service.control("reset", {})
    return service


def run(command, timeout=120):
    done = subprocess.run(command, capture_output=True, text=True, env=ENV, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(command)} exited {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def test_every_example_is_run_here():
    examples = {os.path.relpath(os.path.join(d, f), ROOT) for d, _, files in os.walk(os.path.join(ROOT, "examples"))
                for f in files if f.endswith((".c", ".cpp", ".py"))}
    assert examples == {"examples/c/player.c", "examples/c/server.c", "examples/cpp/journey.cpp",
                        "examples/python/journey.py", "examples/python/server.py"}, "a new example needs a test here"


def test_c_player(emu, tmp_path):
    out = run([os.path.join(BUILT, "player"), emu.base_url, str(tmp_path)])
    assert "logged in with Cablevision" in out and "REF30: permitted" in out
    assert "\u2580" in out or "\u2584" in out or "\u2588" in out, "the login URL's QR code"
    assert "code: " in out and "logged out:" in out


def test_cpp_journey(emu, tmp_path):
    out = run([os.path.join(BUILT, "cpp-journey"), emu.base_url, str(tmp_path)])
    assert "[c++] logged in with Spectrum" in out and "permitted" in out and "[c++] logged out" in out


def test_python_journey(emu, tmp_path):
    out = run([sys.executable, os.path.join(ROOT, "examples", "python", "journey.py"), emu.base_url, str(tmp_path)])
    assert "[python] play REF30: authorized" in out and "\u2588" in out


def check_server(out, devices):
    assert f"logins: {devices} of {devices} devices logged in" in out, out
    assert f"authorizations: {devices} permits, 0 denies, 0 failures" in out, out
    requests = re.search(r"requests: \d+ \((\d+) sessions, (\d+) polls, (\d+) authorizations\), 429s: (\d+), retries: (\d+)", out)
    assert requests, out
    sessions, polls, authorizations, throttled, retries = map(int, requests.groups())
    assert sessions == devices and authorizations == devices and polls >= devices
    assert throttled == 0 and retries == 0, "pacing keeps every device within the service's throttle"


def test_c_server(emu, tmp_path):
    out = run([os.path.join(BUILT, "server"), emu.base_url, str(tmp_path), "120"])
    check_server(out, 120)
    stats = re.search(r"^stats: (\{.*\})$", out, re.M)
    assert stats and '"activePolls":0' in stats.group(1) and '"latency":{' in stats.group(1)
    # The service saw each device's own address and port: X-Forwarded-For, X-Device-Info connectionIp/Port.
    first = [r for r in emu.control("requests")["requests"]
             if r["endpoint"] == "sessions.create" and r["headers"].get("x-forwarded-for") == "203.0.113.1"]
    assert len(first) == 1, "one session for viewer-00000"
    info = json.loads(base64.b64decode(first[0]["headers"]["x-device-info"]))
    assert info["connectionIp"] == "203.0.113.1" and info["connectionPort"] == 40000 and info["model"] == "Acme 4K"
    assert base64.b64decode(first[0]["headers"]["ap-device-identifier"].split(" ", 1)[1]) == b"viewer-00000"
    assert not first[0]["warnings"], first[0]["warnings"]


def test_python_server(emu, tmp_path):
    out = run([sys.executable, os.path.join(ROOT, "examples", "python", "server.py"), emu.base_url, str(tmp_path), "120"])
    check_server(out, 120)
    assert "decisions.authorize: 120 exchanges" in out


def test_pacing_holds_a_burst_of_one_device_to_the_service_s_throttle(emu, tmp_path):
    """What server-to-server.md says of pacing: 14 calls for one device at once (its burst is 10) wait for
    the device's turn instead of meeting the service's 429."""
    sys.path.insert(0, os.path.join(ROOT, "bindings", "python"))
    import passauth
    device = passauth.Device(id="one-household", ip="203.0.113.77", port=50000)
    with passauth.Client(base_url=emu.base_url, service_provider="REF30", store=str(tmp_path), log_level="none",
                         software_statement="eyJhbGciOiJSUzI1NiJ9.eyJzb2Z0d2FyZV9pZCI6ImRlbW8ifQ.c2lnbmF0dXJl") as client:
        client.register()
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda _: client.profiles(device), range(14)))
        stats = client.stats()
    assert stats.get("throttled") == 0 and stats.get("requests", {}).get("profiles") == 14
    assert emu.control("stats")["throttled"] == 0
