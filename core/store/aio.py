"""Non-blocking reads of the two hot paths (status polling and statistics).

The API answers ``GET /v1/experiments/{id}`` and ``.../stats`` on the event
loop with these, instead of a thread hop per request: polling clients are the
bulk of the traffic. Writes stay in :class:`Store` (sync, run in threads).

Record reads are pipelined automatically: the ``HGETALL``s that requests issue
while one batch is in flight go to Redis together as the next batch, one round
trip (and one wake-up of the event loop) for all of them. Each request still
reads its record after it arrived, nothing is cached or shared between requests;
under light load a batch is one read.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from core.store.connection import ExperimentKeys, guard
from core.store.record import ExperimentRecord, StoredRecord
from core.store.store import RESULT_FIELDS, StoredResult
from core.store.tenants import not_found, owns


@dataclass
class _Batches:
    """The record reads waiting for the next pipeline, on one event loop."""

    client: aioredis.Redis
    waiting: list[tuple[str, asyncio.Future[dict[str, str]]]] = field(default_factory=list)
    running: bool = False
    #: The task sending them (kept: the loop holds only a weak reference to a task).
    task: asyncio.Task[None] | None = None
    #: Pipelines sent so far.
    round_trips: int = 0

    async def hgetall(self, key: str) -> dict[str, str]:
        future: asyncio.Future[dict[str, str]] = asyncio.get_running_loop().create_future()
        self.waiting.append((key, future))
        if not self.running:
            self.running = True
            self.task = asyncio.get_running_loop().create_task(self._send())
        return await future

    async def _send(self) -> None:
        """Send what is waiting as one pipeline, again until nothing is left."""
        try:
            while self.waiting:
                batch, self.waiting = self.waiting, []
                self.round_trips += 1
                try:
                    async with self.client.pipeline(transaction=False) as pipe:
                        for key, _ in batch:
                            pipe.hgetall(key)
                        replies = await pipe.execute()
                except BaseException as e:
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(e)
                    if not isinstance(e, Exception):
                        raise
                    continue
                for (_, future), reply in zip(batch, replies, strict=True):
                    if not future.done():  # a request that went away leaves a cancelled one
                        future.set_result(reply)
        finally:
            self.running = False


class AsyncReader:
    """Reads records and results; one Redis client per event loop."""

    def __init__(self, url: str, *, prefix: str, socket_timeout_s: float = 1.5) -> None:
        self.url, self.prefix, self.timeout = url, prefix, socket_timeout_s
        self._clients: dict[tuple[int, bool], aioredis.Redis] = {}
        self._batches: dict[int, _Batches] = {}

    def client(self) -> aioredis.Redis:
        """This event loop's client (for other non-blocking parts, as the rate limiter)."""
        return self._client()

    def _client(self, *, text: bool = False) -> aioredis.Redis:
        # A client belongs to the loop it was made on (tests run several loops). Records
        # are read as text, decoded by the protocol parser (hiredis: in C); results as bytes.
        key = (id(asyncio.get_running_loop()), text)
        client = self._clients.get(key)
        if client is None:
            client = aioredis.Redis.from_url(
                self.url,
                socket_timeout=self.timeout,
                socket_connect_timeout=min(self.timeout, 1.0),
                retry=Retry(NoBackoff(), 1),
                health_check_interval=30,
                decode_responses=text,
            )
            self._clients[key] = client
        return client

    def _batched(self) -> _Batches:
        loop = id(asyncio.get_running_loop())
        batches = self._batches.get(loop)
        if batches is None:
            batches = self._batches[loop] = _Batches(self._client(text=True))
        return batches

    async def get(self, exp_id: str, tenant: str | None = None) -> ExperimentRecord:
        """As ``Store.get_owned``: ``NotFound`` when missing or not ``tenant``'s."""
        return (await self.get_stored(exp_id, tenant)).record()

    async def get_stored(self, exp_id: str, tenant: str | None = None) -> StoredRecord:
        """``get``'s record as stored, its JSON fields unparsed (the status route's read)."""
        with guard():
            h = await self._batched().hgetall(ExperimentKeys.record_of(self.prefix, exp_id))
        stored = StoredRecord(h) if h else None
        if stored is None or not owns(stored.tenant, tenant):
            raise not_found("experiment", exp_id)
        return stored

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
        self._batches.clear()
