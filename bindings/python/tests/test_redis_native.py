"""The native Redis store from Python: `passauth.Client(..., store="redis://...")` passes the URL through
to the library (hiredis loaded on demand, no redis-py needed): clients on one Redis share the
registration and the stored profiles; a Redis outage is a StoreError naming the cause."""

import os
import shutil
import sys
from typing import Any, Iterator

import pytest

import passauth

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "redis"))
pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None or not os.path.exists(os.path.join(ROOT, "tests", "redis")),
                                reason="redis-server is installed by scripts/bootstrap.sh; tests/redis is in the source tree")

from redis_server import RedisServer  # noqa: E402


@pytest.fixture
def redis_server(tmp_path: Any) -> Iterator[RedisServer]:
    directory = tmp_path / "redis"
    directory.mkdir()
    server = RedisServer(str(directory)).start()
    yield server
    server.stop()


def test_native_store_shared_by_two_clients(make_config: Any, emu: Any, redis_server: RedisServer) -> None:
    config = make_config(logLevel="none")
    device = config["device"]["id"]
    with passauth.Client(config, store=redis_server.url, store_key_prefix="py:") as first:
        client_id = first.register().client_id
        emu.control("profiles", {"deviceId": device, "mvpd": "Cablevision"})
        first.profiles()
    with passauth.Client(config, store=redis_server.url, store_key_prefix="py:") as second:
        assert second.register().client_id == client_id
        assert "Cablevision" in second.stored_profiles()
    assert emu.control("stats")["registrations"] == 1
    keys = redis_server.command("KEYS", "py:*") or ""
    assert ":registration" in keys and ":profiles" in keys


def test_native_store_outage_is_a_store_error(make_config: Any, redis_server: RedisServer) -> None:
    redis_server.stop()
    with passauth.Client(make_config(logLevel="none", timeoutMs=2000), store=redis_server.url) as client:
        with pytest.raises(passauth.StoreError) as caught:
            client.register()
    assert "Connection refused" in str(caught.value) and str(redis_server.port) in str(caught.value)
