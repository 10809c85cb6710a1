"""A Redis that refuses writes (maxmemory reached, noeviction) is a 503, not a 500."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from api_support import TINY, api_client
from service_procs import RedisServer

from core.settings import Settings
from core.store import Store, connect


def test_a_full_redis_is_503_and_reads_still_work(
    start_redis: Callable[[], RedisServer],
) -> None:
    server = start_redis()
    client = connect(server.url)
    prefix = f"t{uuid.uuid4().hex[:8]}"
    store = Store(client, prefix=prefix)
    settings = Settings(redis_url=server.url, key_prefix=prefix, queue=f"q-{prefix}")
    with api_client(settings, store) as c:
        before = c.post("/v1/experiments", json=TINY)
        assert before.status_code == 202
        used = int(client.info("memory")["used_memory"])
        client.config_set("maxmemory-policy", "noeviction")
        client.config_set("maxmemory", str(used // 2))  # already over: every write refused
        try:
            for r in (
                c.post("/v1/experiments", json=TINY),
                c.post("/v1/sweeps", json={"base": TINY, "grid": {"model.depth": [2, 3]}}),
                c.post("/v1/experiments", json=TINY, headers={"Idempotency-Key": "k"}),
            ):
                assert r.status_code == 503, r.text
                assert r.headers["content-type"] == "application/problem+json"
                assert "OOM" in r.json()["detail"]
                assert int(r.headers["retry-after"]) >= 1
            read = c.get(f"/v1/experiments/{before.json()['id']}")
            assert read.status_code == 200  # reads are still served
        finally:
            client.config_set("maxmemory", "0")
        assert c.post("/v1/experiments", json=TINY).status_code == 202
    client.close()
