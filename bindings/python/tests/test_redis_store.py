"""passauth.stores.RedisStore against a real redis-server on loopback: versioned compare-and-set per key,
several processes share one registration, one access token and each other's profiles, a Redis outage is
a StoreError (caused by the redis-py exception) that changes nothing, a malformed value is left alone."""

import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import time
from typing import Any, Dict, Iterator, List

import pytest

import passauth
from passauth.stores import RedisStore

redis = pytest.importorskip("redis", reason="redis-py is installed by scripts/bootstrap.sh")
REDIS_SERVER = shutil.which("redis-server")
pytestmark = pytest.mark.skipif(REDIS_SERVER is None, reason="redis-server is installed by scripts/bootstrap.sh")

BINDINGS = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    def __init__(self, workdir: str, persistent: bool = False) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.persistent = persistent
        self.process: "subprocess.Popen[bytes] | None" = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [str(REDIS_SERVER), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "yes" if self.persistent else "no", "--appendfsync", "always",
             "--dir", self.workdir], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=1)
        deadline = time.monotonic() + 10
        while True:
            try:
                if client.ping():
                    return
            except redis.exceptions.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None

    def client(self) -> Any:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=2, socket_connect_timeout=1)


@pytest.fixture
def redis_server(tmp_path: Any) -> Iterator[RedisServer]:
    server = RedisServer(str(tmp_path))
    server.start()
    yield server
    server.stop()


WORKER = textwrap.dedent("""
    import json, sys, time
    import redis, passauth
    from passauth.stores import RedisStore
    config, port, action, device = json.loads(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
    start_at = float(sys.argv[5])
    store = RedisStore(redis.Redis(host="127.0.0.1", port=port, socket_timeout=2))
    with passauth.Client(config, store=store) as client:
        time.sleep(max(0.0, start_at - time.time()))
        out = {}
        if action == "register":
            reg = client.register()
            out = {"clientId": reg.client_id}
        elif action == "profiles":
            out = {"mvpds": sorted(client.profiles({"id": device}))}
        elif action == "stored":
            out = {"mvpds": sorted(client.stored_profiles({"id": device}))}
        print(json.dumps(out))
""")


def run_workers(config: Dict[str, Any], port: int, action: str, device: str, count: int) -> List[Dict[str, Any]]:
    env = dict(os.environ, PYTHONPATH=BINDINGS + os.pathsep + os.environ.get("PYTHONPATH", ""))
    start_at = time.time() + 1.0  # all processes call at about the same moment
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, json.dumps(config), str(port), action, device, str(start_at)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env) for _ in range(count)]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err.decode()
        results.append(json.loads(out.decode().strip().splitlines()[-1]))
    return results


def registration_key(config: Dict[str, Any], prefix: str) -> str:
    return f"{prefix}{{{config['baseUrl']}|REF30}}:registration"


def test_versions_conflicts_and_ttl(redis_server: RedisServer) -> None:
    store = RedisStore(redis_server.client())
    assert store.get("k") is None
    v1 = store.put("k", "one", 0, 0)
    assert v1 is not None and v1 > 0
    assert store.get("k") == ("one", v1)
    assert store.put("k", "stale", 0, 0) is None  # a writer that read nothing loses
    v2 = store.put("k", "two", v1, 60_000)
    assert v2 is not None and v2 > v1
    assert 0 < redis_server.client().pttl("k") <= 60_000
    assert store.put("k", "stale", v1, 0) is None
    assert store.put("k", None, v2, 0) is not None  # delete
    assert store.get("k") is None
    v3 = store.put("k", "three", 0, 0)
    assert v3 is not None and v3 > v2  # never a version the key had before
    assert redis_server.client().pttl("k") == -1
    token = store.lock("L", 100)
    with pytest.raises(TimeoutError):
        store.lock("L", 50)
    store.unlock("L", token)
    store.unlock("L", store.lock("L", 100))


def test_processes_share_registration_token_and_profiles(emu: Any, make_config: Any, redis_server: RedisServer) -> None:
    config = make_config(pacing=False, storeKeyPrefix="test:")
    registered = run_workers(config, redis_server.port, "register", "", 3)
    assert len({r["clientId"] for r in registered}) == 1
    stats = emu.control("stats")
    assert stats["registrations"] == 1
    assert stats["tokensIssued"] == 1
    assert redis_server.client().exists(registration_key(config, "test:"))

    emu.control("profiles", {"deviceId": "redis-dev-1", "mvpd": "Cablevision"})
    assert run_workers(config, redis_server.port, "profiles", "redis-dev-1", 1) == [{"mvpds": ["Cablevision"]}]
    # Other processes see the profile the first one stored, without a request; other devices do not.
    assert run_workers(config, redis_server.port, "stored", "redis-dev-1", 2) == [{"mvpds": ["Cablevision"]}] * 2
    assert run_workers(config, redis_server.port, "stored", "redis-dev-2", 1) == [{"mvpds": []}]
    profiles_key = f"test:{{{config['baseUrl']}|REF30|redis-dev-1}}:profiles"
    assert 0 < redis_server.client().pttl(profiles_key)  # the latest notAfter, as a TTL
    assert emu.control("stats")["registrations"] == 1
    assert emu.control("stats")["tokensIssued"] == 1


def test_redis_outage_is_a_store_error_and_corrupts_nothing(emu: Any, make_config: Any, tmp_path: Any) -> None:
    server = RedisServer(str(tmp_path), persistent=True)  # append-only file: the data survives the restart
    server.start()
    try:
        config = make_config(pacing=False, storeKeyPrefix="outage:")
        client = passauth.Client(config, store=RedisStore(server.client()))
        client.register()
        client.select_mvpd({"id": "Cablevision", "displayName": "Optimum"})
        key = registration_key(config, "outage:")
        before = server.client().hgetall(key)
        assert before

        server.stop()  # the outage, mid-way through the service's life
        with pytest.raises(passauth.StoreError) as caught:
            client.select_mvpd({"id": "Dish", "displayName": "Dish"})
        # The redis-py exception is the cause, and its reason is in the message.
        assert isinstance(caught.value.__cause__, redis.exceptions.ConnectionError)
        assert "ConnectionError" in str(caught.value) and "get callback" in str(caught.value)
        with pytest.raises(passauth.StoreError):
            client.selected_mvpd()
        fresh = passauth.Client(config, store=RedisStore(server.client()))
        with pytest.raises(passauth.StoreError):
            fresh.register()  # no token in memory: the store is needed and is down

        server.start()
        assert server.client().hgetall(key) == before  # nothing was half-written
        fresh.register()
        assert client.selected_mvpd().id == "Cablevision"
        client.select_mvpd({"id": "Dish", "displayName": "Dish"})
        assert fresh.selected_mvpd().id == "Dish"
        assert emu.control("stats")["registrations"] == 1
        assert emu.control("stats")["tokensIssued"] == 1
        client.close()
        fresh.close()
    finally:
        server.stop()


def test_malformed_value_is_a_store_error_and_left_alone(emu: Any, make_config: Any, redis_server: RedisServer) -> None:
    r = redis_server.client()
    config = make_config(pacing=False, storeKeyPrefix="bad:")
    key = registration_key(config, "bad:")
    r.hset(key, mapping={"d": "{not json", "v": "5"})
    with passauth.Client(config, store=RedisStore(r)) as client:
        with pytest.raises(passauth.StoreError) as caught:
            client.register()
        assert key in str(caught.value)
    assert r.hgetall(key) == {b"d": b"{not json", b"v": b"5"}
    assert emu.control("stats")["registrations"] == 0
