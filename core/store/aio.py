"""Non-blocking reads of the two hot paths (status polling and statistics).

The API answers ``GET /v1/experiments/{id}`` and ``.../stats`` on the event
loop with these, instead of a thread hop per request: polling clients are the
bulk of the traffic. Writes stay in :class:`Store` (sync, run in threads).
"""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from core.store.connection import ExperimentKeys, guard
from core.store.record import ExperimentRecord
from core.store.store import RESULT_FIELDS, StoredResult
from core.store.tenants import not_found, owns


class AsyncReader:
    """Reads records and results; one Redis client per event loop."""

    def __init__(self, url: str, *, prefix: str, socket_timeout_s: float = 1.5) -> None:
        self.url, self.prefix, self.timeout = url, prefix, socket_timeout_s
        self._clients: dict[int, aioredis.Redis] = {}

    def client(self) -> aioredis.Redis:
        """This event loop's client (for other non-blocking parts, as the rate limiter)."""
        return self._client()

    def _client(self) -> aioredis.Redis:
        # A client belongs to the loop it was made on (tests run several loops).
        loop = id(asyncio.get_running_loop())
        client = self._clients.get(loop)
        if client is None:
            client = aioredis.Redis.from_url(
                self.url,
                socket_timeout=self.timeout,
                socket_connect_timeout=min(self.timeout, 1.0),
                retry=Retry(NoBackoff(), 1),
                health_check_interval=30,
            )
            self._clients[loop] = client
        return client

    async def get(self, exp_id: str, tenant: str | None = None) -> ExperimentRecord:
        """As ``Store.get_owned``: ``NotFound`` when missing or not ``tenant``'s."""
        with guard():
            h = await self._client().hgetall(ExperimentKeys.of(self.prefix, exp_id).record)
        record = ExperimentRecord.from_hash(h) if h else None
        if record is None or not owns(record.tenant, tenant):
            raise not_found("experiment", exp_id)
        return record

    async def result_bytes(self, exp_id: str, tenant: str | None = None) -> StoredResult | None:
        """As ``Store.result_bytes``: None when nothing is recorded yet."""
        keys = ExperimentKeys.of(self.prefix, exp_id)
        with guard():
            async with self._client().pipeline(transaction=True) as pipe:
                pipe.hmget(keys.record, list(RESULT_FIELDS))
                pipe.get(keys.result)
                (status, etag, owner), data = await pipe.execute()
        return StoredResult.of(exp_id, status, etag, data, owner=owner, tenant=tenant)

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()
