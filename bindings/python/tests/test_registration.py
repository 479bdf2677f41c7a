"""The registration phase and the C contract's core, through ctypes."""

import json
import os
import sqlite3
import stat
import subprocess
import sys
import textwrap
import threading

import pytest

import passauth
from support import requests_to


def test_version_and_status_names() -> None:
    from passauth._version import __version__
    assert passauth.version() == __version__  # both written from VERSION
    assert passauth.version_number() == int(__version__.split(".")[0]) * 1000000 + int(__version__.split(".")[1]) * 1000 + int(__version__.split(".")[2])
    assert passauth.status_name(-11) == "PASSAUTH_E_REGISTRATION"
    assert passauth.status_name(99) == "PASSAUTH_E_UNKNOWN"


@pytest.mark.parametrize("overrides, key", [
    ({"colour": "blue"}, "colour"),
    ({"serviceProvider": 30}, "serviceProvider"),
    ({"softwareStatement": None}, "softwareStatement"),
    ({"baseUrl": "http://auth.example.com"}, "baseUrl"),
    ({"timeoutMs": -1}, "timeoutMs"),
    ({"device": {"id": "x", "ip": "1.2.3.4\r\nX-Evil: 1"}}, "device.ip"),
])
def test_bad_configs_name_the_key(make_config, overrides, key) -> None:
    with pytest.raises(passauth.InvalidArgumentError) as caught:
        passauth.Client(make_config(**overrides))
    assert caught.value.key == key
    assert caught.value.status == -1


def test_config_must_be_a_json_object() -> None:
    with pytest.raises(passauth.InvalidArgumentError):
        passauth.Client("{not json")


def test_first_run_registers_and_a_second_process_reuses_the_store(emu, make_config) -> None:
    config = make_config()
    with passauth.Client(config) as client:
        first = client.register()
        assert first.registered and first.token_fetched
        assert first.access_token_expires_at is not None
        again = client.register()
        assert not again.registered and not again.token_fetched
    assert requests_to(emu, "register") == 1 and requests_to(emu, "token") == 1

    store_file = os.path.join(config["store"], "passauth.sqlite3")
    assert stat.S_IMODE(os.stat(store_file).st_mode) == 0o600

    script = textwrap.dedent(f"""
        import json, sys
        sys.path.insert(0, {os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))!r})
        import passauth
        with passauth.Client(json.loads(sys.argv[1])) as client:
            r = client.register()
            print(json.dumps({{"registered": r.registered, "tokenFetched": r.token_fetched}}))
    """)
    child = subprocess.run([sys.executable, "-c", script, json.dumps(config)], capture_output=True, text=True,
                           timeout=60, check=True)
    assert json.loads(child.stdout) == {"registered": False, "tokenFetched": False}
    assert requests_to(emu, "register") == 1 and requests_to(emu, "token") == 1


def test_401_refreshes_the_token_and_retries_once(emu, make_config) -> None:
    with passauth.Client(make_config(configurationCacheMs=0)) as client:
        client.register()
        emu.control("expire-tokens", {})
        configuration = client.configuration()
        assert any(m.id for m in configuration.mvpds)
        assert client.stats()["unauthorizedRefreshes"] == 1
        emu.control("faults", {"faults": [{"kind": "http401", "count": 2, "endpoint": "configuration"}]})
        with pytest.raises(passauth.UnauthorizedError) as caught:
            client.configuration()
        assert caught.value.http_status == 401
    assert requests_to(emu, "token") == 3


def test_registration_errors_carry_the_dcr_code(emu, make_config) -> None:
    with passauth.Client(make_config(softwareStatement="garbage")) as client:
        with pytest.raises(passauth.RegistrationError) as caught:
            client.register()
    assert caught.value.code == "invalid_software_statement"
    assert caught.value.needs_registration


def test_invalid_client_registers_again_once(emu, make_config) -> None:
    with passauth.Client(make_config()) as client:
        client.register()
        emu.control("revoke-clients", {})
        emu.control("expire-tokens", {})
        client.configuration()
    assert requests_to(emu, "register") == 2


def test_concurrent_threads_share_one_registration(emu, make_config) -> None:
    errors = []
    with passauth.Client(make_config()) as client:
        def work() -> None:
            try:
                client.register()
            except passauth.PassAuthError as error:  # pragma: no cover - reported below
                errors.append(error)
        threads = [threading.Thread(target=work) for _ in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []
    assert requests_to(emu, "register") == 1 and requests_to(emu, "token") == 1


def test_corrupt_store_is_a_store_error_and_is_kept(make_config, tmp_path) -> None:
    config = make_config()
    os.makedirs(config["store"])
    path = os.path.join(config["store"], "passauth.sqlite3")
    with open(path, "w") as handle:
        handle.write("{oops")
    with passauth.Client(config) as client:
        with pytest.raises(passauth.StoreError):
            client.register()
    with open(path) as handle:
        assert handle.read() == "{oops"


def test_closed_client_is_an_invalid_argument(make_config) -> None:
    client = passauth.Client(make_config())
    client.close()
    client.close()
    with pytest.raises(passauth.InvalidArgumentError):
        client.register()


def test_secrets_stay_out_of_errors_and_stats(emu, make_config) -> None:
    config = make_config()
    with passauth.Client(config) as client:
        client.register()
        with sqlite3.connect(os.path.join(config["store"], "passauth.sqlite3")) as db:
            (text,) = db.execute("SELECT value FROM kv WHERE key LIKE '%:registration'").fetchone()
        state = json.loads(text)
        secrets = [state["client"]["clientSecret"], state["accessToken"]["value"]]
        emu.control("faults", {"faults": [{"kind": "echo-request", "endpoint": "configuration", "count": 3}]})
        with pytest.raises(passauth.HTTPError) as caught:
            client.configuration()
        text = json.dumps(caught.value.info) + json.dumps(client.stats())
        assert caught.value.info.get("body")  # the excerpt is there, scrubbed
        assert not any(secret in text for secret in secrets)
