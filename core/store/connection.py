"""Reaching Redis: fail-fast clients, the error guard, ids and key names.

Everything here is shared by the store's parts (``store.py``, ``transitions.py``,
``workers.py``, ``blobs.py``, ``sweeps.py``, ``aio.py``); none of it knows about
experiments.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from core.errors import StoreUnavailable

#: Errors that mean "Redis is not there right now", not "the request is wrong".
_DOWN_PREFIXES = ("LOADING", "MISCONF", "READONLY", "OOM", "MASTERDOWN", "NOAUTH")


def connect(url: str, *, socket_timeout_s: float = 1.5) -> redis.Redis:
    """A client that fails fast: short timeouts and one immediate retry.

    The single retry lets a pooled connection broken by a Redis restart
    reconnect transparently; more would only delay the 503.
    """
    return redis.Redis.from_url(
        url,
        socket_timeout=socket_timeout_s,
        socket_connect_timeout=min(socket_timeout_s, 1.0),
        retry=Retry(NoBackoff(), 1),
        health_check_interval=30,
    )


@contextmanager
def guard() -> Iterator[None]:
    """Turn "Redis is unreachable" errors into ``StoreUnavailable``."""
    try:
        yield
    except (redis.ConnectionError, redis.TimeoutError) as e:
        raise StoreUnavailable(f"Redis cannot be reached: {e}") from e
    except redis.ResponseError as e:
        if str(e).startswith(_DOWN_PREFIXES):
            raise StoreUnavailable(f"Redis refused the request: {e}") from e
        raise


_last_id = (0, 0)
_id_lock = threading.Lock()


def new_id(now: float | None = None) -> str:
    """24 hex digits: milliseconds since the epoch, then 48 random bits.

    Ids sort by creation time, so the listing index needs no scores; within one
    process they strictly increase, even within a millisecond.
    """
    global _last_id
    ms = int((time.time() if now is None else now) * 1000)
    with _id_lock:
        last_ms, last_rand = _last_id
        if ms <= last_ms and now is None:
            ms, rand = last_ms, last_rand + 1
        else:
            rand = secrets.randbits(47)  # leaves room to count up within a millisecond
        _last_id = (ms, rand)
    return f"{ms:012x}{rand:012x}"


class Keyspace:
    """A Redis client and the prefix all of the store's keys live under.

    The base of ``Store`` and of its mixins (``TransitionsMixin``, ``WorkersMixin``,
    ``BlobsMixin``), so that each part names its keys the same way.
    """

    redis: redis.Redis
    prefix: str

    def _k(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))


def as_text(x: Any) -> str:
    """A Redis reply (bytes or str) as str."""
    return x.decode() if isinstance(x, bytes) else str(x)
