"""Transport: keep-alive, TLS, the CLI, and the control API basics."""

import os
import signal
import ssl
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from passauth_emulator import Emulator

PACKAGE_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))


def test_keep_alive_reuses_one_connection(emu):
    connection = emu.connection()
    for _ in range(2):
        connection.request("GET", "/api/v2/REF30/configuration")
        response = connection.getresponse()
        response.read()
        assert response.status == 401
        assert response.getheader("Content-Length")
    connection.close()
    # One for the two requests, one for this control call.
    assert emu.control("stats")["connections"] == 2


def test_tls_with_and_without_the_generated_ca():
    with Emulator(tls=True, throttle=False) as emu:
        assert emu.base_url.startswith("https://127.0.0.1:")
        assert os.path.exists(emu.ca_file)
        context = ssl.create_default_context(cafile=emu.ca_file)
        with urllib.request.urlopen(emu.base_url + "/_emulator/stats", context=context) as reply:
            assert reply.status == 200
        with pytest.raises(urllib.error.URLError) as failure:
            urllib.request.urlopen(emu.base_url + "/_emulator/stats", context=ssl.create_default_context())
        assert isinstance(failure.value.reason, ssl.SSLCertVerificationError)
        assert emu.control("stats")["connections"] >= 2


def start_cli(*args):
    env = dict(os.environ, PYTHONPATH=PACKAGE_ROOT)
    return subprocess.Popen([sys.executable, "-m", "passauth_emulator", "--port", "0", *args],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, env=env, text=True)


def test_cli_ready_line_request_and_sigterm(tmp_path):
    ready_file = tmp_path / "ready"
    process = start_cli("--no-throttle", "--ready-file", str(ready_file))
    try:
        line = process.stdout.readline().strip()
        assert line.startswith("PASSAUTH_EMULATOR_READY http://127.0.0.1:")
        base_url = line.split(" ", 1)[1]
        assert ready_file.read_text().strip() == line
        with urllib.request.urlopen(base_url + "/_emulator/stats") as reply:
            assert reply.status == 200
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0


def test_cli_tls_prints_ca_and_exits_on_sigint():
    process = start_cli("--tls")
    try:
        ready = process.stdout.readline().split()
        ca = process.stdout.readline().split()
        assert ready[0] == "PASSAUTH_EMULATOR_READY" and ready[1].startswith("https://")
        assert ca[0] == "PASSAUTH_EMULATOR_CA" and os.path.exists(ca[1])
        context = ssl.create_default_context(cafile=ca[1])
        with urllib.request.urlopen(ready[1] + "/_emulator/stats", context=context) as reply:
            assert reply.status == 200
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0


def test_control_state_and_config(client, emu):
    client.create_session()
    state = emu.control("state")
    assert state["sessions"][0]["parameters"]["mvpd"] == "Cablevision"
    assert "client_secret" not in str(state)
    config = emu.control("config", {"codeTtlSeconds": 10, "decisionTtlSeconds": 5,
                                    "mediaTokenTtlSeconds": 2, "profileTtlSeconds": 100})
    assert (config["codeTtlSeconds"], config["decisionTtlSeconds"]) == (10, 5)
    session = client.create_session()
    assert int(session["notAfter"]) - int(session["notBefore"]) == 10_000
    with pytest.raises(Exception):
        emu.control("config", {"noSuchKey": 1})
