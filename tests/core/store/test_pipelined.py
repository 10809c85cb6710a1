"""The status route's own Redis connection (core/store/pipelined.py) against a real Redis."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from core.errors import StoreUnavailable
from core.spec import ExperimentSpec
from core.store import Store, guard
from core.store.aio import AsyncReader
from core.store.pipelined import PipelinedReads, pack

SPEC = ExperimentSpec.model_validate(
    {"model": {"depth": 2, "width": 4, "activation": "relu"}, "training": {"epochs": 1}}
)


def test_only_plain_tcp_urls_take_the_own_connection() -> None:
    assert PipelinedReads.serves("redis://127.0.0.1:6379/0")
    assert PipelinedReads.serves("redis://:secret@host/3")
    assert not PipelinedReads.serves("rediss://host:6380/0")
    assert not PipelinedReads.serves("unix:///tmp/redis.sock")
    assert pack("HGETALL", "k\u00e9") == b"*2\r\n$7\r\nHGETALL\r\n$3\r\nk\xc3\xa9\r\n"


def test_reads_as_hgetall_does_with_a_password_and_a_database(
    store: Store, redis_server: Any
) -> None:
    # The session's Redis wants a password; database 2 is not the default.
    url = redis_server.url.rsplit("/", 1)[0] + "/2"
    other = Store(redis.Redis.from_url(url), prefix=store.prefix)
    exp_id = other.create(SPEC, owner="ann", meta={"k": "v\u00e9"}).id
    key = other.experiment_keys(exp_id).record

    async def read() -> tuple[dict[str, str], dict[str, str], int]:
        reads = PipelinedReads(url, socket_timeout_s=1.0)
        try:
            one = await reads.hgetall(key)
            many = await asyncio.gather(*(reads.hgetall(key) for _ in range(50)))
            assert all(m == one for m in many)
            return one, await reads.hgetall(key + ":none"), reads.round_trips
        finally:
            reads.close()

    got, missing, trips = asyncio.run(read())
    stored: dict[bytes, bytes] = other.redis.hgetall(key)  # type: ignore[assignment]
    assert got == {k.decode(): v.decode() for k, v in stored.items()}
    assert got["meta"] == '{"k": "v\\u00e9"}'
    assert got["owner"] == "ann"
    assert missing == {}
    assert trips == 4  # AUTH and SELECT, the first read, the 50 asked together, the last
    assert store.find(exp_id) is None  # database 0 has no such experiment
    other.redis.flushdb()


def test_a_dropped_connection_is_read_again_on_a_new_one(store: Store, redis_server: Any) -> None:
    exp_id = store.create(SPEC).id
    key = store.experiment_keys(exp_id).record

    async def read() -> list[dict[str, str]]:
        reads = PipelinedReads(redis_server.url, socket_timeout_s=1.0)
        try:
            first = await reads.hgetall(key)
            # As a Redis restart does: every connection but this test's own is dropped.
            admin = redis.Redis.from_url(redis_server.url)
            admin.client_kill_filter(skipme=True, _type="normal")
            admin.close()
            await asyncio.sleep(0.05)
            return [first, await reads.hgetall(key), await reads.hgetall(key)]
        finally:
            reads.close()

    first, *after = asyncio.run(read())
    assert first["id"] == exp_id
    assert after == [first, first]


def test_an_error_reply_is_raised_as_redis_py_would(store: Store, redis_server: Any) -> None:
    key = f"{store.prefix}:not-a-hash"
    store.redis.set(key, "text")

    async def read() -> None:
        reads = PipelinedReads(redis_server.url, socket_timeout_s=1.0)
        try:
            with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
                await reads.hgetall(key)
            assert await reads.hgetall(key + "-missing") == {}  # the connection goes on
        finally:
            reads.close()

    asyncio.run(read())


def test_a_wrong_password_is_store_unavailable(redis_server: Any) -> None:
    url = redis_server.url.replace(f":{redis_server.password}@", ":wrong@")

    async def read() -> None:
        reads = PipelinedReads(url, socket_timeout_s=1.0)
        with pytest.raises(StoreUnavailable), guard():
            await reads.hgetall("x")

    asyncio.run(read())


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    yield listener.getsockname()[1]
    stop.set()
    t.join(timeout=2)
    for s in accepted:
        s.close()
    listener.close()


def test_a_redis_that_does_not_answer_times_out_as_store_unavailable(silent_server: int) -> None:
    reader = AsyncReader(f"redis://127.0.0.1:{silent_server}/0", prefix="x", socket_timeout_s=0.3)

    async def read() -> None:
        try:
            with pytest.raises(StoreUnavailable, match="timed out"):
                await reader.get_stored("0" * 24)
            # Requests that wait together all get the answer, none is left hanging.
            got = await asyncio.gather(
                *(reader.get_stored("0" * 24) for _ in range(5)), return_exceptions=True
            )
            assert all(isinstance(g, StoreUnavailable) for g in got), got
        finally:
            await reader.aclose()

    asyncio.run(read())
