"""Reaching Redis: fail-fast clients, the error guard, ids, key names and pages.

Everything here is shared by the store's parts (``store.py``, ``transitions.py``,
``workers.py``, ``blobs.py``, ``sweeps.py``, ``aio.py``), the sync client and the
asyncio one alike; of experiments it knows only the names of their keys.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from core.errors import NotFound, StoreUnavailable, clip

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


class _Guard:
    """``guard``'s context manager: a class, not a generator, as it runs on every read."""

    __slots__ = ()

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, e: BaseException | None, tb: Any) -> None:
        if isinstance(e, redis.ConnectionError | redis.TimeoutError | OSError):
            what = "timed out" if isinstance(e, redis.TimeoutError | TimeoutError) else "is down"
            raise StoreUnavailable(
                f"The store cannot be reached (the connection {what}); retry shortly."
            ) from e
        # redis-py raises some of these as subclasses whose message lacks the prefix.
        if isinstance(e, redis.ResponseError) and (
            type(e) in _CODES or str(e).startswith(_DOWN_PREFIXES)
        ):
            raise StoreUnavailable(_refusal(e)) from e


_GUARD = _Guard()


def guard() -> _Guard:
    """Turn "Redis is unreachable" errors into ``StoreUnavailable``.

    For the sync client and the asyncio one (``with guard(): await ...``): both raise
    redis-py's exceptions, and a socket error redis-py did not wrap means the same.
    The message is the client's to read, so it names no host, port or password: only
    what went wrong and what to do (an operator finds the details in Redis's own log).
    """
    return _GUARD


def _refusal(e: redis.ResponseError) -> str:
    """Redis's reply code (never the rest: it may hold addresses) and what to do."""
    code = _CODES.get(type(e)) or str(e).split(" ", 1)[0]
    if code == "OOM":
        return "The store is full and refuses writes right now (OOM, maxmemory); retry later."
    return f"The store refuses requests right now ({code}); retry shortly."


_CODES: dict[type[Exception], str] = {
    redis.exceptions.OutOfMemoryError: "OOM",
    redis.exceptions.ReadOnlyError: "READONLY",
    redis.exceptions.BusyLoadingError: "LOADING",
    redis.exceptions.MasterDownError: "MASTERDOWN",
}


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


#: What every experiment and sweep id looks like (see ``new_id``), declared once.
ID_PATTERN = r"^[0-9a-f]{24}$"
_ID = re.compile(ID_PATTERN)


def is_id(value: str) -> bool:
    """Whether ``value`` is shaped like an id (``ID_PATTERN``)."""
    return _ID.match(value) is not None


def check_id(value: str, what: str) -> str:
    """``value`` if it is an id; else ``NotFound`` (no such thing can exist), so a malformed
    id never names a key of another type (``<id>:result``)."""
    if not is_id(value):
        raise NotFound(f"No {what} {clip(value, 40)!r}: ids are 24 hexadecimal digits.")
    return value


def key(prefix: str, *parts: str) -> str:
    """The name of a key: ``prefix:part:part``."""
    return ":".join((prefix, *parts))


@dataclass(frozen=True)
class ExperimentKeys:
    """The keys of one experiment (``P:exp:<id>`` and its ``:result`` and ``:cancel``)."""

    record: str
    result: str
    cancel: str

    @classmethod
    def of(cls, prefix: str, exp_id: str) -> ExperimentKeys:
        h = cls.record_of(prefix, exp_id)
        return cls(h, f"{h}:result", f"{h}:cancel")

    @staticmethod
    def record_of(prefix: str, exp_id: str) -> str:
        """Just ``of(prefix, exp_id).record`` (the status route's one key)."""
        return key(prefix, "exp", check_id(exp_id, "experiment"))


class Keyspace:
    """A Redis client and the prefix all of the store's keys live under.

    The base of ``Store``, of its mixins (``TransitionsMixin``, ``WorkersMixin``,
    ``BlobsMixin``) and of ``SweepStore``, so that each part names its keys the same way.
    """

    redis: redis.Redis
    prefix: str

    def _k(self, *parts: str) -> str:
        return key(self.prefix, *parts)

    def experiment_keys(self, exp_id: str) -> ExperimentKeys:
        """Where experiment ``exp_id`` is kept (for tests and operators; not a contract)."""
        return ExperimentKeys.of(self.prefix, exp_id)


T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a listing, newest first; ``next_cursor`` asks for the next."""

    items: list[T]
    next_cursor: str | None


def read_page(
    client: redis.Redis,
    index: str,
    *,
    hash_key: Callable[[str], str],
    parse: Callable[[Mapping[Any, Any]], T],
    limit: int,
    cursor: str | None,
) -> Page[T]:
    """Up to ``limit`` items of ``index`` (a sorted set of ids, all scores 0) after
    ``cursor``, newest first: each id's hash at ``hash_key(id)``, ``parse``'d.

    An id whose hash has expired is dropped from the index as it is met, and the page
    is filled from further ids, so a page is short only at the end of the listing.
    """
    items: list[tuple[str, T]] = []
    start = f"({cursor}" if cursor else "+"
    with guard():
        while len(items) <= limit:
            want = limit + 1 - len(items)
            ids = [as_text(i) for i in client.zrevrangebylex(index, start, "-", 0, want)]
            if not ids:
                break
            pipe = client.pipeline(transaction=False)
            for i in ids:
                pipe.hgetall(hash_key(i))
            for i, h in zip(ids, pipe.execute(), strict=True):
                if h:
                    items.append((i, parse(h)))
                else:  # expired: drop the stale index entry
                    client.zrem(index, i)
            start = f"({ids[-1]}"
    if len(items) > limit:
        return Page([x for _, x in items[:limit]], items[limit - 1][0])
    return Page([x for _, x in items], None)


def as_text(x: Any) -> str:
    """A Redis reply (bytes or str) as str."""
    return x.decode() if isinstance(x, bytes) else str(x)
