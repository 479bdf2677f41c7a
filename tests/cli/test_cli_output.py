"""What the human output says: times carry their time zone, a deny shows the MVPD's message and
details, connection errors name the host (and the proxy), and the proxy settings reach libcurl."""

import json
import re
import socket
import subprocess

import pytest

ZONE = {"TZ": "ABC-3"}  # a POSIX zone (no tzdata needed): UTC+03:00, abbreviation ABC


def test_register_and_profiles_times_carry_the_zone(run, env, emulator):
    register = run("register", extra_env=ZONE)
    assert register.returncode == 0, register.stderr
    assert re.search(r"token expires: in \d+ (h|min)[^\n]*\((\d{4}-\d\d-\d\d )?\d\d:\d\d ABC\)", register.stdout), register.stdout
    emulator.control("profiles", {"deviceId": env["PASSAUTH_DEVICE_ID"], "mvpd": "Spectrum"})
    profiles = run("profiles", extra_env=ZONE)
    assert re.search(r"valid until: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+03:00 \(in (23 h \d+ min|24 h)\)", profiles.stdout), profiles.stdout
    utc = run("profiles", extra_env={"TZ": "UTC0"})
    assert re.search(r"valid until: \S+\+00:00", utc.stdout), utc.stdout
    authorize = run("authorize", "--mvpd", "Spectrum", "REF30", extra_env=ZONE)
    assert re.search(r"media token valid until \d\d:\d\d:\d\d ABC \(in \d+ min\)", authorize.stdout), authorize.stdout
    # JSON keeps the library's numbers (ms since the epoch: no zone to carry).
    assert isinstance(json.loads(run("register", "--json").stdout)["accessTokenExpiresAt"], int)


def test_login_announcement_carries_the_zone(cli, env):
    result = subprocess.run([cli, "login", "--mvpd", "Cablevision", "--timeout", "1"], env={**env, **ZONE},
                            capture_output=True, text=True, timeout=30)
    assert re.search(r"The code expires in (29|30) min \(\d\d:\d\d ABC\)\.", result.stdout), result.stdout
    assert re.search(r"stays valid until \d\d:\d\d ABC", result.stderr), result.stderr


def test_deny_shows_the_mvpds_message_and_details(run, emulator, env):
    emulator.control("profiles", {"deviceId": env["PASSAUTH_DEVICE_ID"], "mvpd": "Spectrum"})
    emulator.control("config", {"denyRules": [{"resource": "DENIED", "decision": "authorize",
                                               "details": "Your package does not include this channel."}]})
    try:
        result = run("authorize", "--mvpd", "Spectrum", "REF30", "DENIED")
    finally:
        emulator.control("config", {"denyRules": []})
    assert result.returncode == 8
    out = result.stdout
    assert "✗ DENIED: denied (authorization_denied_by_mvpd)" in out
    assert 'The MVPD has returned a "Deny" decision' in out
    assert "details: Your package does not include this channel." in out
    assert "help:    https://" in out
    assert "REF30: permitted" in out


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_connection_error_names_the_host(run, tmp_path):
    port = free_port()
    result = run("register", "--base-url", f"http://127.0.0.1:{port}", "--store", str(tmp_path / "empty"))
    assert result.returncode == 6, result.stderr
    assert "PASSAUTH_E_TRANSPORT" in result.stderr
    assert f"(host 127.0.0.1:{port})" in result.stderr
    assert f"check the network and the base URL (http://127.0.0.1:{port})" in result.stderr
    as_json = json.loads(run("register", "--json", "--base-url", f"http://127.0.0.1:{port}", "--store",
                             str(tmp_path / "empty")).stdout)
    assert f"127.0.0.1:{port}" in as_json["error"]["message"]


def test_connection_error_names_the_proxy(run, emulator):
    port = free_port()
    host = emulator.base_url.split("://")[1]
    direct = {"no_proxy": "", "NO_PROXY": ""}
    result = run("providers", "--proxy", f"http://127.0.0.1:{port}", extra_env=direct)
    assert result.returncode == 6, result.stdout + result.stderr
    assert f"(host {host}; proxy 127.0.0.1:{port})" in result.stderr
    assert f"check that the proxy 127.0.0.1:{port} (from --proxy) is reachable" in result.stderr
    from_env = run("providers", extra_env={**direct, "PASSAUTH_PROXY": f"http://127.0.0.1:{port}"})
    assert from_env.returncode == 6 and "from PASSAUTH_PROXY" in from_env.stderr
    # no_proxy applies to a configured proxy too, as libcurl does
    bypassed = run("providers", "--proxy", f"http://127.0.0.1:{port}", extra_env={"no_proxy": "127.0.0.1"})
    assert bypassed.returncode == 0, bypassed.stderr


@pytest.mark.parametrize("variable", ["http_proxy", "all_proxy"])
def test_environment_proxies_are_honoured(run, variable):
    """Without --proxy, libcurl takes the proxy from the environment, and no_proxy bypasses it."""
    port = free_port()
    through = run("providers", extra_env={variable: f"http://127.0.0.1:{port}", "no_proxy": "", "NO_PROXY": ""})
    assert through.returncode == 6, through.stdout
    assert f"proxy 127.0.0.1:{port} from {variable}" in through.stderr
    bypassed = run("providers", extra_env={variable: f"http://127.0.0.1:{port}", "no_proxy": "127.0.0.1"})
    assert bypassed.returncode == 0, bypassed.stderr


def test_a_proxy_on_the_way_is_used(run, emulator, tmp_path):
    """--proxy pointing at a tiny forwarding proxy: the request goes through it and succeeds."""
    import http.server
    import threading
    import urllib.error
    import urllib.request

    seen = []

    class Forward(http.server.BaseHTTPRequestHandler):
        def forward(self):  # a proxy receives the absolute URL
            seen.append(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("proxy-connection", "host", "content-length")}
            request = urllib.request.Request(self.path, data=body, headers=headers, method=self.command)
            try:
                answer = urllib.request.urlopen(request, timeout=10)
            except urllib.error.HTTPError as error:
                answer = error
            with answer:
                data = answer.read()
                self.send_response(answer.status)
                for name, value in answer.getheaders():
                    if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        do_GET = do_POST = forward

        def log_message(self, *_):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Forward)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        result = run("providers", "--json", "--proxy", f"http://127.0.0.1:{server.server_address[1]}",
                     extra_env={"no_proxy": "", "NO_PROXY": ""})
    finally:
        server.shutdown()
    assert result.returncode == 0, result.stderr
    assert any(path.startswith(emulator.base_url) and "/configuration" in path for path in seen), seen
