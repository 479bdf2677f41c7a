"""Application stores without a server: passauth.MemoryStore and a store whose methods fail."""

import threading
from typing import Any, Optional, Tuple

import pytest

import passauth
from passauth.stores import MemoryStore, Store


class Outage(Exception):
    pass


class FlakyStore(MemoryStore):
    """A MemoryStore whose get / put can be made to raise."""

    def __init__(self) -> None:
        super().__init__()
        self.failing: Optional[str] = None

    def get(self, key: str) -> Optional[Tuple[str, int]]:
        if self.failing == "get":
            raise Outage("database unreachable")
        return super().get(key)

    def put(self, key: str, value: Optional[str], expected_version: int, ttl_ms: int) -> Optional[int]:
        if self.failing == "put":
            raise Outage("disk full")
        return super().put(key, value, expected_version, ttl_ms)


def test_memory_store_is_shared_and_keyed_by_origin_and_device(emu: Any, make_config: Any) -> None:
    store = MemoryStore()
    with passauth.Client(make_config(pacing=False), store=store) as a, \
            passauth.Client(make_config(pacing=False), store=store) as b:
        assert a.register().registered
        assert not b.register().registered
        a.select_mvpd({"id": "Cablevision", "displayName": "Optimum"})
        assert b.selected_mvpd().id == "Cablevision"
    keys = sorted(store.items())
    base = make_config()["baseUrl"]
    assert keys == [f"passauth:{{{base}|REF30|py-device-1}}:mvpd", f"passauth:{{{base}|REF30}}:registration"]
    # Another origin on the same store: its own registration, nothing shared.
    localhost = base.replace("127.0.0.1", "localhost")
    with passauth.Client(make_config(pacing=False, baseUrl=localhost), store=store) as other:
        assert other.register().registered
        assert other.selected_mvpd() is None
    assert emu.control("stats")["registrations"] == 2


def test_a_failing_store_method_is_the_cause_of_the_store_error(emu: Any, make_config: Any) -> None:
    store = FlakyStore()
    with passauth.Client(make_config(pacing=False), store=store) as client:
        client.select_mvpd({"id": "Cablevision"})
        before = store.items()
        for method, reason in (("get", "database unreachable"), ("put", "disk full")):
            store.failing = method
            with pytest.raises(passauth.StoreError) as caught:
                client.select_mvpd({"id": "Dish"})
            assert isinstance(caught.value.__cause__, Outage)
            assert f"{method} callback" in str(caught.value) and f"Outage: {reason}" in str(caught.value)
        store.failing = None
        assert store.items() == before
        # A later, unrelated failure carries no stale cause.
        with pytest.raises(passauth.InvalidArgumentError) as invalid:
            client.select_mvpd({"displayName": "no id"})
        assert invalid.value.__cause__ is None


def test_concurrent_writers_through_a_python_store_lose_nothing(emu: Any, make_config: Any) -> None:
    store = MemoryStore()
    mvpds = ["Cablevision", "Spectrum", "Dish", "ATTOTT"]
    for mvpd in mvpds:
        emu.control("profiles", {"deviceId": "py-crowd", "mvpd": mvpd})
    with passauth.Client(make_config(pacing=False), store=store) as client:
        client.register()
        errors = []

        def fetch(mvpd: str) -> None:
            try:
                client.profile(mvpd, {"id": "py-crowd"})
            except passauth.PassAuthError as error:  # pragma: no cover - reported below
                errors.append(error)
        threads = [threading.Thread(target=fetch, args=(m,)) for m in mvpds]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert sorted(client.stored_profiles({"id": "py-crowd"})) == sorted(mvpds)


def test_store_protocol_methods_must_be_implemented() -> None:
    with pytest.raises(NotImplementedError):
        Store().get("k")
