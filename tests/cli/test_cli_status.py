"""`passauth status`: the environment, the registration (client id and token expiry, never a secret),
the TV provider of the last login and each stored profile with its validity, as text and JSON, from
the configuration and the store only."""

import json
import re
import time


def secrets_on_the_wire(emulator):
    """The client secrets and access tokens the emulator received."""
    found = []
    for request in emulator.control("requests")["requests"]:
        auth = request.get("headers", {}).get("authorization", "")
        if auth.startswith("Bearer "):
            found.append(auth[len("Bearer "):])
        body = request.get("body") or ""
        if "client_secret=" in body:
            found.append(body.split("client_secret=")[1].split("&")[0])
    return [s for s in found if len(s) >= 6]


def test_status_before_anything(run, env):
    result = run("status")
    assert result.returncode == 0, result.stderr
    assert re.search(r"Environment:\s+custom base URL " + re.escape(env["PASSAUTH_BASE_URL"]), result.stdout)
    assert re.search(r"Service provider:\s+REF30", result.stdout)
    assert re.search(r"Device:\s+" + env["PASSAUTH_DEVICE_ID"], result.stdout)
    assert "not registered yet (passauth register)" in result.stdout
    assert "none chosen yet" in result.stdout and "none stored" in result.stdout
    assert "no request was made" in result.stdout
    document = json.loads(run("status", "--json").stdout)
    assert document["registration"] is None and document["mvpd"] is None and document["profiles"] == []
    assert document["environment"] == "custom" and document["proxy"] is None


def test_status_text_and_json(run, env, emulator):
    registered = json.loads(run("register", "--json").stdout)
    device = env["PASSAUTH_DEVICE_ID"]
    emulator.control("profiles", {"deviceId": device, "mvpd": "Spectrum"})
    emulator.control("profiles", {"deviceId": device, "mvpd": "Cablevision", "ttlSeconds": 1})
    assert run("profiles").returncode == 0  # stores both
    time.sleep(1.5)  # the Cablevision profile expires
    requests_before = len(emulator.control("requests")["requests"])
    zone = {"TZ": "ABC-3"}  # a POSIX zone: +03:00, abbreviation ABC

    text = run("status", extra_env=zone)
    assert text.returncode == 0, text.stderr
    out = text.stdout
    assert f"client {registered['clientId']}, registered " in out
    assert re.search(r"access token expires in \d+ (h|min)[^\n]*\(\d\d:\d\d ABC\)", out), out
    assert re.search(r"\n  Spectrum\s+regular, valid, expires in (23 h \d+ min|24 h) \([0-9-]+ \d\d:\d\d ABC\)", out), out
    assert re.search(r"\n  Cablevision\s+regular, expired \d+ s ago \(\d\d:\d\d ABC\)", out), out
    assert re.search(r"registered \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+03:00", out), out

    document = json.loads(run("status", "--json").stdout)
    registration = document["registration"]
    assert registration["clientId"] == registered["clientId"]
    assert registration["accessTokenExpiresAt"] == registered["accessTokenExpiresAt"]
    assert registration["accessToken"] == "valid"
    states = {p["mvpd"]: p for p in document["profiles"]}
    assert states["Spectrum"]["state"] == "valid" and states["Cablevision"]["state"] == "expired"
    assert states["Spectrum"]["notAfter"] > document["checkedAt"] > states["Cablevision"]["notAfter"]
    assert document["deviceId"] == device and document["store"] == env["PASSAUTH_STORE"]
    # No request, and never a secret.
    assert len(emulator.control("requests")["requests"]) == requests_before
    for secret in secrets_on_the_wire(emulator):
        assert secret not in out and secret not in json.dumps(document)


def test_status_names_the_chosen_provider_and_the_proxy(run, env, emulator):
    emulator.control("profiles", {"deviceId": env["PASSAUTH_DEVICE_ID"], "mvpd": "Spectrum"})
    assert run("authorize", "--mvpd", "Spectrum", "REF30").returncode == 0
    result = run("status", "--proxy", "http://user:pw@proxy.example:3128", extra_env={"no_proxy": "", "NO_PROXY": ""})
    assert re.search(r"Proxy:\s+proxy\.example:3128 \(from --proxy\)", result.stdout), result.stdout
    assert "user:pw" not in result.stdout
    document = json.loads(run("status", "--json", extra_env={"PASSAUTH_PROXY": "http://proxy.example:8080", "no_proxy": ""}).stdout)
    assert document["proxy"] == {"host": "proxy.example:8080", "source": "PASSAUTH_PROXY"}
    from_env = json.loads(run("status", "--json", extra_env={"http_proxy": "http://envproxy:1", "no_proxy": ""}).stdout)
    assert from_env["proxy"] == {"host": "envproxy:1", "source": "http_proxy"}
    bypassed = json.loads(run("status", "--json", extra_env={"http_proxy": "http://envproxy:1",
                                                             "no_proxy": "localhost,127.0.0.1"}).stdout)
    assert bypassed["proxy"] is None
