"""The other `passauth` commands: --json output for scripts, the tables, errors with their exit status,
configuration precedence, --help."""

import json

import pytest


def test_register_json(run):
    first = run("register", "--json")
    assert first.returncode == 0, first.stderr
    document = json.loads(first.stdout)
    assert document["registered"] is True and document["clientId"]
    assert "secret" not in first.stdout.lower()
    second = json.loads(run("--json", "register").stdout)
    assert second["registered"] is False and second["clientId"] == document["clientId"]


def test_register_text(run):
    result = run("register")
    assert result.returncode == 0
    assert "Registered with REF30" in result.stdout and "client id:" in result.stdout


def test_providers_json_and_filter(run):
    everything = json.loads(run("providers", "--json").stdout)["mvpds"]
    ids = [m["id"] for m in everything]
    assert "Cablevision" in ids and "TempPass_TEST40" in ids
    filtered = json.loads(run("providers", "--json", "--no-temppass", "--exclude", "Dish").stdout)["mvpds"]
    assert not any(m["isTempPass"] for m in filtered) and "Dish" not in [m["id"] for m in filtered]
    searched = json.loads(run("providers", "--json", "--search", "spectrum").stdout)["mvpds"]
    assert [m["id"] for m in searched] == ["Spectrum"]


def test_providers_table(run):
    result = run("providers", "--search", "temp")
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["ID", "NAME", "TEMPPASS", "PROXY"]
    assert any(line.startswith("TempPass_TEST40") and " yes " in line for line in lines[1:])


def test_bad_software_statement_exit_3(run):
    result = run("register", "--software-statement", "not-a-statement")
    assert result.returncode == 3, result.stderr
    assert "code:    invalid_software_statement" in result.stderr
    assert "PASSAUTH_E_REGISTRATION (HTTP 400)" in result.stderr
    assert "try:" in result.stderr
    as_json = run("register", "--json", "--software-statement", "not-a-statement")
    assert as_json.returncode == 3
    error = json.loads(as_json.stdout)["error"]
    assert error["code"] == "invalid_software_statement" and error["suggestion"]


def test_usage_errors_exit_2(run):
    assert run("frobnicate").returncode == 2
    assert run("providers", "--no-such-flag").returncode == 2
    missing = run("register", extra_env={"PASSAUTH_SERVICE_PROVIDER": ""})
    assert missing.returncode == 2
    assert "--service-provider" in missing.stderr and "PASSAUTH_SERVICE_PROVIDER" in missing.stderr


def test_transport_error_exit_6(run):
    result = run("register", "--base-url", "http://127.0.0.1:9", extra_env={"PASSAUTH_STORE": "/tmp/passauth-cli-none"})
    assert result.returncode == 6, result.stderr
    assert "PASSAUTH_E_TRANSPORT" in result.stderr


def test_flags_beat_environment_beat_file(run, env, tmp_path, emulator):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"baseUrl": "http://127.0.0.1:9", "serviceProvider": "NOPE"}))
    # The file alone loses against the environment (the fixture sets a good base URL and provider).
    assert run("--config", str(config), "register", "--json").returncode == 0
    # A flag beats the environment (providers always makes a request; register could reuse the store).
    result = run("--config", str(config), "providers", "--base-url", "http://127.0.0.1:9")
    assert result.returncode == 6
    # The file is used when nothing else is set.
    only_file = {"PASSAUTH_BASE_URL": "", "PASSAUTH_SERVICE_PROVIDER": ""}
    config.write_text(json.dumps({"baseUrl": emulator.base_url, "serviceProvider": "REF30"}))
    assert run("--config", str(config), "register", extra_env=only_file).returncode == 0


def test_authorize_hides_token_unless_asked(run, emulator, env):
    emulator.control("profiles", {"deviceId": env["PASSAUTH_DEVICE_ID"], "mvpd": "Spectrum"})
    hidden = run("authorize", "--json", "--mvpd", "Spectrum", "REF30")
    assert hidden.returncode == 0, hidden.stderr
    decision = json.loads(hidden.stdout)["decisions"][0]
    assert decision["authorized"] is True and "notAfter" in decision["token"]
    assert "serializedToken" not in hidden.stdout
    text = run("authorize", "--mvpd", "Spectrum", "REF30")
    assert "permitted" in text.stdout and "media token valid" in text.stdout and "token:" not in text.stdout
    shown = run("authorize", "--mvpd", "Spectrum", "--show-token", "REF30", "--json")
    assert json.loads(shown.stdout)["decisions"][0]["token"]["serializedToken"]


def test_profiles_preauthorize_logout(run, emulator, env):
    emulator.control("profiles", {"deviceId": env["PASSAUTH_DEVICE_ID"], "mvpd": "Cablevision", "userId": "u-42"})
    profiles = run("profiles")
    assert profiles.returncode == 0 and "Cablevision" in profiles.stdout and "userID: u-42" in profiles.stdout
    # The stored profile now names the provider: no --mvpd needed.
    pre = run("preauthorize", "REF30", "REF40")
    assert pre.returncode == 0 and "REF40: permitted" in pre.stdout
    out = run("logout", "--json")
    assert out.returncode == 0
    assert json.loads(out.stdout)["logouts"]["Cablevision"]["actionType"] == "interactive"
    again = run("authorize", "--mvpd", "Cablevision", "REF30")
    assert again.returncode == 4
    assert "authenticated_profile_missing" in again.stderr or "authenticated_profile" in again.stderr


def test_authorize_denied_exit_8(run, emulator, env):
    emulator.control("profiles", {"deviceId": env["PASSAUTH_DEVICE_ID"], "mvpd": "Spectrum"})
    emulator.control("config", {"denyRules": [{"resource": "DENIED", "decision": "authorize"}]})
    try:
        result = run("authorize", "--mvpd", "Spectrum", "REF30", "DENIED")
        assert result.returncode == 8
        assert "REF30: permitted" in result.stdout and "DENIED: denied" in result.stdout
    finally:
        emulator.control("config", {"denyRules": []})


COMMANDS = ["register", "providers", "login", "status", "profiles", "preauthorize", "authorize", "logout", "completion"]


def test_main_help(run):
    result = run("--help")
    assert result.returncode == 0
    assert "Usage: passauth" in result.stdout
    for command in COMMANDS:
        assert f"\n  {command} " in result.stdout
    assert "passauth help options" in result.stdout and "passauth help exit-status" in result.stdout
    assert run("help", "exit-status").stdout.startswith("Exit status:")
    options = run("help", "options").stdout
    assert "PASSAUTH_PROXY" in options and "https_proxy" in options and "no_proxy" in options
    assert run("help", "nonsense").returncode == 2


@pytest.mark.parametrize("command", COMMANDS)
def test_command_help_is_short_and_own_options_first(run, command):
    result = run(command, "--help")
    assert result.returncode == 0
    text = result.stdout
    assert text.startswith(f"Usage: passauth {command}")
    assert len(text.splitlines()) <= 30, text
    assert "Exit status:" in text and "passauth help exit-status" in text
    # Its own options come first; the global ones only by name, after them.
    own, _, global_part = text.partition("Global options")
    assert "Options:\n" in own and "--json" in own and "--help" in own
    assert "--software-statement" in global_part and "--software-statement" not in own
    assert "software statement from the TVE Dashboard" not in text  # global descriptions stay out
    assert run("help", command).stdout == text


def test_import_state_of_a_0_1_file(run, env, tmp_path):
    """A passauth 0.1 file is refused with the command that imports it; the command imports it once."""
    store = tmp_path / "store"
    store.mkdir()
    legacy = store / "REF30.json"
    legacy.write_text(json.dumps({
        "format": 1,
        "client": {"clientId": "old-client", "clientSecret": "old-secret-123", "softwareStatement": "fnv1a64:0"},
        "accessToken": {"value": "old-token-123", "obtainedAt": 1, "expiresAt": 99999999999999},
        "profiles": {env["PASSAUTH_DEVICE_ID"]: {"Cablevision": {"type": "regular", "notAfter": 99999999999999}}},
    }))
    refused = run("register")
    assert refused.returncode == 7, refused.stderr
    assert f"passauth import-state {legacy}" in refused.stderr
    assert "old-secret-123" not in refused.stderr and "old-token-123" not in refused.stderr

    assert run("import-state").returncode == 2  # the file is required
    imported = run("import-state", str(legacy), "--json")
    assert imported.returncode == 0, imported.stderr
    result = json.loads(imported.stdout)
    assert result["clientId"] == "old-client" and result["devices"] == 1
    assert result["renamedTo"] == f"{legacy}.imported"
    assert not legacy.exists() and (store / "REF30.json.imported").exists()

    status = json.loads(run("status", "--json").stdout)
    assert status["registration"]["clientId"] == "old-client"
    assert [p["mvpd"] for p in status["profiles"]] == ["Cablevision"]
    again = run("import-state", str(store / "REF30.json.imported"))
    assert again.returncode == 7 and "already exists" in again.stderr
