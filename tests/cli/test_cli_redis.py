"""`passauth --store redis://...`: the command passes the URL through as the config's "store", so two
machines (here: two HOMEs) share one registration and each other's stored profiles."""

import json
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "redis"))
from redis_server import RedisServer  # noqa: E402


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(str(tmp_path / "redis-dir"))
    os.makedirs(server.workdir)
    server.start()
    yield server
    server.stop()


def test_store_url_is_shared_by_two_instances(run, env, emulator, tmp_path, redis_server):
    store = ["--store", redis_server.url]
    first = run("register", "--json", *store)
    assert first.returncode == 0, first.stderr
    registered = json.loads(first.stdout)
    emulator.control("profiles", {"deviceId": env["PASSAUTH_DEVICE_ID"], "mvpd": "Spectrum"})
    assert run("profiles", *store).returncode == 0  # stored in Redis
    registrations = emulator.control("stats")["registrations"]

    # Another instance: another HOME and no local store at all, the same Redis.
    other = {"HOME": str(tmp_path / "other"), "XDG_CONFIG_HOME": str(tmp_path / "other" / "config")}
    again = run("register", "--json", *store, extra_env=other)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["clientId"] == registered["clientId"]
    stored = run("profiles", "--stored", "--json", *store, extra_env=other)
    assert stored.returncode == 0, stored.stderr
    assert "Spectrum" in json.loads(stored.stdout)["profiles"]
    status = json.loads(run("status", "--json", *store, extra_env=other).stdout)
    assert status["store"] == redis_server.url  # never the password
    assert emulator.control("stats")["registrations"] == registrations
    keys = redis_server.command("KEYS", "passauth:*") or ""
    assert ":registration" in keys and ":profiles" in keys


def test_redis_down_is_a_store_error(run, redis_server):
    redis_server.stop()
    result = run("register", "--store", redis_server.url)
    assert result.returncode == 7, result.stderr  # the store's exit status
    assert "Connection refused" in result.stderr and f"127.0.0.1:{redis_server.port}" in result.stderr
