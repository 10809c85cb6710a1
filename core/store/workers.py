"""Worker heartbeats, drain flags and queue depth: how the fleet is doing.

Keys (``P`` is the store's prefix)::

    P:workers             sorted set: worker name -> when its heartbeat lapses
    P:draining:<worker>   flag: the worker is shutting down

Queue depth is read from the broker, which may be another Redis.
"""

from __future__ import annotations

import time

import redis

from core.store.connection import Keyspace, as_text, guard


class WorkersMixin(Keyspace):
    """``Store``'s methods about workers and the queue."""

    #: The broker's Redis (the store's own unless configured apart).
    _broker: redis.Redis

    def beat(self, worker: str, *, ttl_s: float, now: float | None = None) -> None:
        now = time.time() if now is None else now
        with guard():
            self.redis.zadd(self._k("workers"), {worker: now + ttl_s})

    def worker_started(self, worker: str, *, ttl_s: float, now: float | None = None) -> None:
        """A worker process has started: alive, and not draining.

        Worker names (``celery@host``) are reused across restarts, so a drain flag
        left by a predecessor that died before its shutdown finished must not make the
        newcomer hand back every run it is given.
        """
        now = time.time() if now is None else now
        with guard():
            pipe = self.redis.pipeline(transaction=True)
            pipe.delete(self._k("draining", worker))
            pipe.zadd(self._k("workers"), {worker: now + ttl_s})
            pipe.execute()

    def worker_gone(self, worker: str) -> None:
        """A worker process has shut down: no longer alive, and its drain flag is spent."""
        with guard():
            pipe = self.redis.pipeline(transaction=True)
            pipe.zrem(self._k("workers"), worker)
            pipe.delete(self._k("draining", worker))
            pipe.execute()

    def alive_workers(self, *, now: float | None = None) -> list[str]:
        now = time.time() if now is None else now
        key = self._k("workers")
        with guard():
            pipe = self.redis.pipeline(transaction=False)
            pipe.zremrangebyscore(key, "-inf", now)
            pipe.zrange(key, 0, -1)
            _, names = pipe.execute()
        return [as_text(n) for n in names]

    def set_draining(self, worker: str, *, ttl_s: int = 3600) -> None:
        """Mark a worker as shutting down: its runs stop after the current step."""
        with guard():
            self.redis.set(self._k("draining", worker), "1", ex=ttl_s)

    def draining(self, worker: str) -> bool:
        with guard():
            return bool(self.redis.exists(self._k("draining", worker)))

    def queue_depth(self, queue: str) -> int:
        """Tasks waiting in the broker's list for ``queue``."""
        with guard():
            return int(self._broker.llen(queue))
