"""Secrets in the `passauth` command's output (issue 11): the whole journey at log level trace, as text
and as --json, prints no client secret, access token, media token or SSO token on stdout or stderr,
even when the server echoes a request (Authorization header, client secret) back in an error.

The secrets are the ones that went over the wire, from the emulator's request log. The command never
learns a media token's value without --show-token, so media tokens are recognised by the start every
emulator token shares (base64 of "<signatureInfo><authToken>..."): a whole or partial token shows it."""

import base64
import json
import re
import subprocess

import pytest

SUBJECT_TOKEN = "subject-token-SECRET-cli-4f1d2a9c"
SERVICE_TOKEN = "service-token-SECRET-cli-0123456789abcdef"
MEDIA_TOKEN_MARK = base64.b64encode(b"<signatureInfo><authToke").decode()  # 24 bytes: a stable prefix


class Journey:
    def __init__(self, cli, env, emulator, as_json):
        self.cli, self.emulator = cli, emulator
        self.env = {**env, "PASSAUTH_LOG_LEVEL": "trace"}
        self.flags = ["--json"] if as_json else []
        self.as_json = as_json
        self.outputs = []  # (what, stdout, stderr)

    def run(self, *args, config=None):
        options = ["--config", str(config)] if config else []
        result = subprocess.run([self.cli, *self.flags, *options, *args], env=self.env, capture_output=True,
                                text=True, timeout=60)
        self.outputs.append((" ".join(args), result.stdout, result.stderr))
        return result

    def login(self, mvpd):
        process = subprocess.Popen([self.cli, *self.flags, "login", "--mvpd", mvpd], env=self.env,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        first = process.stdout.readline()
        code = json.loads(first)["code"] if self.as_json else re.search(r"one-time code: (\w+)", first).group(1)
        self.emulator.control("login", {"code": code})
        out = first + process.stdout.read()
        err = process.stderr.read()
        process.wait(timeout=30)
        self.outputs.append(("login", out, err))
        return process.returncode, out

    def fault(self, **fault):
        self.emulator.control("faults", {"faults": [fault]})

    def faults_pending(self):
        return self.emulator.control("faults")["faults"]


def wire_secrets(emulator):
    """Every bearer token and client secret the emulator received, plus the SSO tokens it saw."""
    found = set()
    sso_seen = False
    for request in emulator.control("requests")["requests"]:
        headers = request.get("headers") or {}
        authorization = headers.get("authorization", "")
        if authorization.startswith("Bearer "):
            found.add(("access token", authorization[len("Bearer "):]))
        match = re.search(r"(?:^|&)client_secret=([^&]+)", request.get("body") or "")
        if match:
            found.add(("client secret", match.group(1)))
        if headers.get("adobe-subject-token") == SUBJECT_TOKEN and headers.get("ad-service-token") == SERVICE_TOKEN:
            sso_seen = True
    return found, sso_seen


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_journey_at_trace_prints_no_secret(cli, env, emulator, tmp_path, as_json):
    journey = Journey(cli, env, emulator, as_json)
    assert journey.run("register").returncode == 0
    assert journey.run("providers").returncode == 0
    status, out = journey.login("Cablevision")
    assert status == 0 and "Cablevision" in out, out
    assert journey.run("profiles").returncode == 0
    assert journey.run("preauthorize", "REF30", "REF40").returncode == 0
    assert journey.run("authorize", "REF30").returncode == 0

    # Asked for, the media token goes to stdout; the trace log on stderr still must not carry it.
    shown = journey.run("authorize", "--show-token", "REF30")
    assert shown.returncode == 0 and MEDIA_TOKEN_MARK in shown.stdout
    assert MEDIA_TOKEN_MARK not in shown.stderr
    journey.outputs.pop()

    # A hostile server reflects the request: the Authorization header in an authorize error...
    journey.fault(kind="echo-request", status=400, endpoint="decisions.authorize")
    assert journey.run("authorize", "REF30").returncode != 0
    # ...and the client secret of a token request (a 401 makes the command fetch a new token).
    emulator.control("expire-tokens", {})
    journey.fault(kind="http401", endpoint="profiles")
    journey.fault(kind="echo-request", status=400, endpoint="token")
    assert journey.run("profiles").returncode != 0
    assert journey.faults_pending() == []
    assert journey.run("profiles").returncode == 0  # a fresh token after the refused one

    # SSO tokens ride on the device (config file): profiles, authorize and logout send them.
    config = tmp_path / "sso.json"
    config.write_text(json.dumps({"device": {"subjectToken": SUBJECT_TOKEN, "serviceToken": SERVICE_TOKEN}}))
    journey.run("profiles", config=config)
    journey.run("authorize", "--mvpd", "Cablevision", "REF30", config=config)
    assert journey.run("logout", "--mvpd", "Cablevision", config=config).returncode == 0

    secrets, sso_seen = wire_secrets(emulator)
    assert sso_seen, "the SSO tokens never reached the emulator: the check below would prove nothing"
    kinds = [kind for kind, _ in secrets]
    assert kinds.count("client secret") >= 1 and kinds.count("access token") >= 2, kinds
    secrets |= {("subject token", SUBJECT_TOKEN), ("service token", SERVICE_TOKEN)}

    stderr = "".join(err for _, _, err in journey.outputs)
    assert "passauth[trace]" in stderr and "decisions.authorize" in stderr, "the trace log says nothing:\n" + stderr[:400]
    for what, out, err in journey.outputs:
        for kind, secret in secrets:
            assert secret not in out, f"{kind} on stdout of `passauth {what}`"
            assert secret not in err, f"{kind} on stderr of `passauth {what}`"
        assert MEDIA_TOKEN_MARK not in out + err, f"a media token in the output of `passauth {what}`"
