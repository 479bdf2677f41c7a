"""The emulator for people: --help, --auto-login, and a README that documents every flag, config key,
fault kind and control call, with a software statement that works."""

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request

import pytest
from emu_support import Client

from passauth_emulator import Emulator
from passauth_emulator.__main__ import build_parser
from passauth_emulator.control import Control
from passauth_emulator.faults import KINDS

PACKAGE_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
README = open(os.path.join(PACKAGE_ROOT, "README.md"), encoding="utf-8").read()


def run_cli(*args, timeout=30):
    env = dict(os.environ, PYTHONPATH=PACKAGE_ROOT)
    return subprocess.run([sys.executable, "-m", "passauth_emulator", *args], capture_output=True, text=True,
                          env=env, timeout=timeout)


def cli_flags():
    return [o for action in build_parser()._actions for o in action.option_strings
            if o.startswith("--") and o != "--help"]


def test_help_lists_every_flag_and_points_to_the_control_api():
    done = run_cli("--help")
    assert done.returncode == 0
    flags = cli_flags()
    assert {"--max-resources-authorize", "--max-resources-preauthorize", "--auto-login", "--clock-offset-ms"} <= \
        set(flags)
    for flag in flags:
        assert flag in done.stdout, flag
    assert "/_emulator/" in done.stdout and "Control API" in done.stdout and "README.md" in done.stdout


def test_readme_documents_every_flag_config_key_fault_kind_and_control_call(emu):
    for flag in cli_flags():
        assert f"`{flag}" in README, flag
    for key in emu.control("config"):
        assert f"`{key}`" in README, key
    for kind in KINDS:
        assert f"`{kind}`" in README, kind
    control = Control.__new__(Control)
    Control.__init__(control, None, None, None)  # type: ignore[arg-type]
    for method, name in control.routes:
        assert f"`{method} /_emulator/{name}`" in README or f"/_emulator/{name}`" in README, (method, name)


def test_the_readme_software_statement_is_accepted(emu):
    match = re.search(r'"softwareStatement": "([^"]+)"', README)
    assert match, "the README gives no softwareStatement"
    client = Client(emu)
    reply = client.request("POST", "/o/client/register", {"Content-Type": "application/json"},
                           {"software_statement": match.group(1)})
    assert reply.status == 201, reply.body
    client.close()


def test_readme_names_the_prequal_hosts():
    assert "https://sp-prequal.auth.adobe.com" in README
    assert "https://sp-prequal.auth-staging.adobe.com" in README


# --- auto-login --------------------------------------------------------------------------------------

def profiles_for(client, code):
    return client.api("GET", f"/api/v2/REF30/profiles/code/{code}").json()["profiles"]


def test_auto_login_after_the_configured_seconds(client, emu):
    assert emu.control("config", {"autoLoginSeconds": 60})["autoLoginSeconds"] == 60
    session = client.create_session()
    assert profiles_for(client, session["code"]) == {}
    emu.control("advance", {"seconds": 59})
    assert profiles_for(client, session["code"]) == {}
    emu.control("advance", {"seconds": 1})
    profile = profiles_for(client, session["code"])["Cablevision"]
    assert profile["attributes"]["userID"]["value"] == "auto-login-user"
    assert emu.control("state")["sessions"][0]["completed"] is True


def test_auto_login_picks_a_provider_when_the_session_names_none(client, emu):
    emu.control("config", {"autoLoginSeconds": 0})
    reply = client.api("POST", "/api/v2/REF30/sessions", body="domainName=adobe.com&redirectUrl=x")
    code = reply.json()["code"]
    state = emu.control("state")  # a control call also runs due logins
    assert state["sessions"][0]["completed"] is True
    assert state["sessions"][0]["parameters"]["mvpd"] == "Cablevision"
    assert client.api("GET", "/api/v2/REF30/profiles/Cablevision").json()["profiles"]["Cablevision"]
    assert code


def test_auto_login_off_by_default_and_switchable(client, emu):
    assert emu.control("config")["autoLoginSeconds"] is None
    session = client.create_session()
    emu.control("advance", {"seconds": 1000})
    assert profiles_for(client, session["code"]) == {}
    with pytest.raises(Exception):
        emu.control("config", {"autoLoginSeconds": -1})
    emu.control("config", {"autoLoginSeconds": 5})
    emu.control("config", {"autoLoginSeconds": None})
    session = client.create_session()
    emu.control("advance", {"seconds": 1000})
    assert profiles_for(client, session["code"]) == {}


def test_auto_login_from_the_constructor():
    with Emulator(throttle=False, auto_login=0) as emu:
        client = Client(emu)
        session = client.create_session()
        assert "Cablevision" in profiles_for(client, session["code"])
        client.close()


def test_cli_flags_reach_the_config():
    env = dict(os.environ, PYTHONPATH=PACKAGE_ROOT)
    process = subprocess.Popen([sys.executable, "-m", "passauth_emulator", "--port", "0", "--no-throttle",
                                "--auto-login", "0.5", "--max-resources-authorize", "2",
                                "--max-resources-preauthorize", "7", "--clock-offset-ms", "-5000"],
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, env=env, text=True)
    try:
        base_url = process.stdout.readline().split()[1]
        with urllib.request.urlopen(base_url + "/_emulator/config") as reply:
            config = json.loads(reply.read())
        assert (config["autoLoginSeconds"], config["maxResourcesAuthorize"], config["maxResourcesPreauthorize"],
                config["clockOffsetMs"]) == (0.5, 2, 7, -5000)
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0


def test_cli_rejects_bad_values():
    assert run_cli("--max-resources-authorize", "0").returncode == 2
    assert run_cli("--auto-login", "-1").returncode == 2


def test_auto_login_in_real_time():
    """A demo: no control call, no clock moves; the poll just sees the login happen."""
    with Emulator(throttle=False, auto_login=0.3) as emu:
        client = Client(emu)
        session = client.create_session()
        assert profiles_for(client, session["code"]) == {}
        deadline = time.monotonic() + 5
        while not profiles_for(client, session["code"]) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert "Cablevision" in profiles_for(client, session["code"])
        client.close()
