"""The one place that talks to Redis about experiments.

Keys (``P`` is the prefix, ``gradatlas`` by default)::

    P:exp:<id>            hash: the record (see ExperimentRecord)
    P:exp:<id>:result     gzip'd JSON result, partial while running
    P:exp:<id>:cancel     flag the running task polls
    P:index:all           sorted set of ids, all scores 0: ids sort by creation time
    P:index:<status>      the same, one per status
    P:expiry              sorted set: id -> when its record expires
    P:workers             sorted set: worker name -> when its heartbeat lapses
    P:blob:<ns>:<key>     bytes other features cache (plots, sweeps)

Every status change is a Lua compare-and-set (``lua.py``). A Redis that cannot
be reached raises ``StoreUnavailable`` within about the socket timeout.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from gradatlas.core.errors import Conflict, NotFound, StoreUnavailable
from gradatlas.core.result import ResultDict
from gradatlas.core.settings import Settings
from gradatlas.core.spec import ExperimentSpec
from gradatlas.core.store import lua
from gradatlas.core.store.codec import decode_result, etag_of
from gradatlas.core.store.record import (
    FINAL_STATUSES,
    STATUSES,
    ExperimentRecord,
    Status,
    parse_status,
)

#: Errors that mean "Redis is not there right now", not "the request is wrong".
_DOWN_PREFIXES = ("LOADING", "MISCONF", "READONLY", "OOM", "MASTERDOWN", "NOAUTH")


@dataclass(frozen=True)
class Page:
    items: list[ExperimentRecord]
    next_cursor: str | None


@dataclass(frozen=True)
class Claim:
    """What a delivered task may do: ``run`` as ``attempt``, or not run at all."""

    outcome: Literal["run", "busy", "cancelled", "failed", "final", "missing"]
    attempt: int = 0
    #: For ``busy``: seconds until the other attempt's lease lapses.
    wait_s: float = 0.0
    #: For ``final``: the status it already has.
    status: str = ""


@dataclass(frozen=True)
class StoredResult:
    data: bytes
    etag: str | None
    #: True once the result can no longer change.
    final: bool
    status: Status


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


class Store:
    """Experiment records, results, cancel flags, worker heartbeats."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        prefix: str = "gradatlas",
        result_ttl_s: int = 7 * 24 * 3600,
        broker: redis.Redis | None = None,
    ) -> None:
        self.redis = client
        self.prefix = prefix
        self.result_ttl_s = result_ttl_s
        self._broker = broker or client
        self._claim = client.register_script(lua.CLAIM)
        self._progress = client.register_script(lua.PROGRESS)
        self._finish = client.register_script(lua.FINISH)
        self._release = client.register_script(lua.RELEASE)
        self._cancel = client.register_script(lua.CANCEL)
        self._delete = client.register_script(lua.DELETE)
        self._prune = client.register_script(lua.PRUNE)

    @classmethod
    def from_settings(cls, settings: Settings) -> Store:
        client = connect(settings.redis_url, socket_timeout_s=settings.redis_socket_timeout_s)
        broker = None
        if settings.broker != settings.redis_url and settings.broker.startswith("redis"):
            broker = connect(settings.broker, socket_timeout_s=settings.redis_socket_timeout_s)
        return cls(
            client, prefix=settings.key_prefix, result_ttl_s=settings.result_ttl_s, broker=broker
        )

    # --- keys ----------------------------------------------------------------
    def _k(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    def _indexes(self) -> list[str]:
        return [self._k("index", "all"), *(self._k("index", s) for s in STATUSES)]

    def _keys(self, exp_id: str) -> list[str]:
        h = self._k("exp", exp_id)
        return [h, f"{h}:result", f"{h}:cancel", self._k("expiry"), *self._indexes()]

    # --- health --------------------------------------------------------------
    def ping(self) -> None:
        with guard():
            self.redis.ping()

    # --- records -------------------------------------------------------------
    def create(
        self,
        spec: ExperimentSpec,
        *,
        owner: str | None = None,
        meta: dict[str, str] | None = None,
        now: float | None = None,
    ) -> ExperimentRecord:
        """Store a new ``queued`` experiment and index it."""
        exp_id = new_id(now)  # given no time, ids strictly increase within this process
        now = time.time() if now is None else now
        progress = {"step": 0, "total_steps": spec.total_steps, "epoch": 0, "fraction": 0.0}
        fields: dict[str, str] = {
            "id": exp_id,
            "spec": spec.model_dump_json(),
            "status": "queued",
            "progress": json.dumps(progress),
            "created_at": repr(now),
            "attempts": "0",
            "owner": owner or "",
            "meta": json.dumps(meta or {}),
        }
        keys = self._keys(exp_id)
        with guard():
            pipe = self.redis.pipeline(transaction=True)
            pipe.hset(keys[0], mapping=dict[Any, Any](fields))
            pipe.zadd(self._k("index", "all"), {exp_id: 0})
            pipe.zadd(self._k("index", "queued"), {exp_id: 0})
            pipe.execute()
        return ExperimentRecord.from_hash(fields)

    def find(self, exp_id: str) -> ExperimentRecord | None:
        with guard():
            h = self.redis.hgetall(self._k("exp", exp_id))
        return ExperimentRecord.from_hash(h) if h else None

    def get(self, exp_id: str) -> ExperimentRecord:
        record = self.find(exp_id)
        if record is None:
            raise NotFound(f"No experiment {exp_id!r}: it never existed, expired or was deleted.")
        return record

    def list_experiments(
        self, *, status: Status | None = None, limit: int = 20, cursor: str | None = None
    ) -> Page:
        """Newest first; pass ``next_cursor`` back as ``cursor`` for the next page."""
        self.prune()
        index = self._k("index", status or "all")
        items: list[ExperimentRecord] = []
        start = f"({cursor}" if cursor else "+"
        with guard():
            while len(items) <= limit:
                want = limit + 1 - len(items)
                ids = [_text(i) for i in self.redis.zrevrangebylex(index, start, "-", 0, want)]
                if not ids:
                    break
                pipe = self.redis.pipeline(transaction=False)
                for i in ids:
                    pipe.hgetall(self._k("exp", i))
                for i, h in zip(ids, pipe.execute(), strict=True):
                    if h:
                        items.append(ExperimentRecord.from_hash(h))
                    else:  # expired between prunes: drop the stale index entry
                        self.redis.zrem(index, i)
                start = f"({ids[-1]}"
        if len(items) > limit:
            return Page(items[:limit], items[limit - 1].id)
        return Page(items, None)

    def counts(self) -> dict[str, int]:
        """Experiments by status (expired ones pruned first)."""
        self.prune()
        with guard():
            pipe = self.redis.pipeline(transaction=False)
            for s in STATUSES:
                pipe.zcard(self._k("index", s))
            return dict(zip(STATUSES, (int(n) for n in pipe.execute()), strict=True))

    def prune(self, *, now: float | None = None, batch: int = 1000) -> int:
        """Drop index entries of experiments whose retention has run out."""
        now = time.time() if now is None else now
        with guard():
            return int(self._prune(keys=[self._k("expiry"), *self._indexes()], args=[now, batch]))

    # --- the worker's side ---------------------------------------------------
    def claim(
        self,
        exp_id: str,
        *,
        worker: str,
        max_attempts: int,
        lease_s: float,
        now: float | None = None,
    ) -> Claim:
        """Take a delivered experiment: queued -> running, or running -> running again
        when the last attempt's lease has lapsed (its worker died)."""
        now = time.time() if now is None else now
        args: list[Any] = [exp_id, now, max_attempts, lease_s, worker, self.result_ttl_s]
        with guard():
            outcome, value = _pair(self._claim(keys=self._keys(exp_id), args=args))
        if outcome == "run":
            return Claim("run", attempt=int(value))
        if outcome == "busy":
            return Claim("busy", wait_s=float(value))
        if outcome == "failed":
            return Claim("failed", attempt=int(value))
        if outcome == "final":
            return Claim("final", status=value)
        if outcome == "cancelled":
            return Claim("cancelled")
        if outcome == "missing":
            return Claim("missing")
        raise AssertionError(f"unexpected claim outcome {outcome!r}")

    def renew(
        self,
        exp_id: str,
        attempt: int,
        *,
        lease_s: float,
        progress: dict[str, Any] | None = None,
        result: bytes | None = None,
        now: float | None = None,
    ) -> bool:
        """Renew the lease, and write progress and a partial result when given.

        Returns True when the run should stop: a cancel was requested, or the
        experiment is no longer this attempt's to run.
        """
        now = time.time() if now is None else now
        args: list[Any] = [
            exp_id,
            now,
            attempt,
            json.dumps(progress) if progress is not None else "",
            lease_s,
            "1" if result is not None else "0",
            result or b"",
        ]
        with guard():
            outcome, value = _pair(self._progress(keys=self._keys(exp_id), args=args))
        return outcome != "ok" or value == "1"

    def finish(
        self,
        exp_id: str,
        status: Literal["succeeded", "failed", "cancelled"],
        *,
        attempt: int | None,
        allowed_from: Sequence[Status] = ("running",),
        error: str | None = None,
        result: bytes | None = None,
        summary: dict[str, Any] | None = None,
        diagnosis: dict[str, Any] | None = None,
        progress: dict[str, Any] | None = None,
        now: float | None = None,
    ) -> bool:
        """Move to a final status if the record is in ``allowed_from`` (and, when
        ``attempt`` is given, still this attempt's). Returns whether it moved."""
        now = time.time() if now is None else now
        args: list[Any] = [
            exp_id,
            now,
            "" if attempt is None else attempt,
            " ".join(allowed_from),
            status,
            error or "",
            json.dumps(summary) if summary is not None else "",
            json.dumps(diagnosis) if diagnosis is not None else "",
            json.dumps(progress) if progress is not None else "",
            self.result_ttl_s,
            "1" if result is not None else "0",
            result or b"",
            etag_of(result) if result is not None else "",
        ]
        with guard():
            outcome, _ = _pair(self._finish(keys=self._keys(exp_id), args=args))
        return outcome == "ok"

    def release(self, exp_id: str, attempt: int, *, now: float | None = None) -> bool:
        """Hand a running experiment back (its worker is shutting down)."""
        now = time.time() if now is None else now
        with guard():
            outcome, _ = _pair(self._release(keys=self._keys(exp_id), args=[exp_id, now, attempt]))
        return outcome == "ok"

    # --- the client's side ---------------------------------------------------
    def request_cancel(
        self, exp_id: str, *, flag_ttl_s: int = 24 * 3600, now: float | None = None
    ) -> Literal["cancelled", "cancelling"]:
        """Queued -> cancelled at once; running -> raise the flag the worker polls."""
        now = time.time() if now is None else now
        with guard():
            outcome, value = _pair(
                self._cancel(
                    keys=self._keys(exp_id), args=[exp_id, now, self.result_ttl_s, flag_ttl_s]
                )
            )
        if outcome == "missing":
            raise NotFound(f"No experiment {exp_id!r}.")
        if outcome == "final":
            raise Conflict(f"Experiment {exp_id} has already {value}; there is nothing to cancel.")
        return "cancelled" if outcome == "cancelled" else "cancelling"

    def cancel_requested(self, exp_id: str) -> bool:
        with guard():
            return bool(self.redis.exists(self._keys(exp_id)[2]))

    def delete(self, exp_id: str) -> None:
        """Forget a finished experiment and its result."""
        with guard():
            outcome, value = _pair(self._delete(keys=self._keys(exp_id), args=[exp_id, 0]))
        if outcome == "missing":
            raise NotFound(f"No experiment {exp_id!r}.")
        if outcome == "conflict":
            raise Conflict(
                f"Experiment {exp_id} is {value}: cancel it first, then delete it "
                f"once it has stopped."
            )

    # --- results -------------------------------------------------------------
    def result_bytes(self, exp_id: str) -> StoredResult | None:
        """The stored gzip'd result and whether it is final; None when none yet.

        Raises ``NotFound`` when the experiment does not exist.
        """
        keys = self._keys(exp_id)
        with guard():
            pipe = self.redis.pipeline(transaction=True)
            pipe.hmget(keys[0], ["status", "etag"])
            pipe.get(keys[1])
            (status, etag), data = pipe.execute()
        if status is None:
            raise NotFound(f"No experiment {exp_id!r}.")
        if data is None:
            return None
        st = parse_status(status.decode())
        final = st in FINAL_STATUSES and bool(etag)
        return StoredResult(data, etag.decode() if final else None, final, st)

    def load_result(self, exp_id: str) -> ResultDict | None:
        """The result as a dict (for plots and diagnosis, not for the hot path)."""
        stored = self.result_bytes(exp_id)
        return decode_result(stored.data) if stored else None

    # --- workers and the queue -----------------------------------------------
    def beat(self, worker: str, *, ttl_s: float, now: float | None = None) -> None:
        now = time.time() if now is None else now
        with guard():
            self.redis.zadd(self._k("workers"), {worker: now + ttl_s})

    def worker_gone(self, worker: str) -> None:
        with guard():
            self.redis.zrem(self._k("workers"), worker)

    def alive_workers(self, *, now: float | None = None) -> list[str]:
        now = time.time() if now is None else now
        key = self._k("workers")
        with guard():
            pipe = self.redis.pipeline(transaction=False)
            pipe.zremrangebyscore(key, "-inf", now)
            pipe.zrange(key, 0, -1)
            _, names = pipe.execute()
        return [_text(n) for n in names]

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

    # --- generic blobs for other features (plots, sweeps) -------------------
    def put_blob(self, namespace: str, key: str, data: bytes, *, ttl_s: int | None) -> None:
        with guard():
            self.redis.set(self._k("blob", namespace, key), data, ex=ttl_s)

    def get_blob(self, namespace: str, key: str) -> bytes | None:
        with guard():
            value = self.redis.get(self._k("blob", namespace, key))
        return value if isinstance(value, bytes) else None

    def delete_blob(self, namespace: str, key: str) -> None:
        with guard():
            self.redis.delete(self._k("blob", namespace, key))


def _text(x: Any) -> str:
    return x.decode() if isinstance(x, bytes) else str(x)


def _pair(reply: Any) -> tuple[str, str]:
    a, b = reply
    return _text(a), _text(b)
