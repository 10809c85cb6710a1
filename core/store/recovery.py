"""What recovery needs to know: which experiments no worker is on and no message will reach.

Celery over Redis delivers at least once, but a message can still vanish: a Redis
crash loses what it had not yet written to its append-only file, and a worker that
loses its connection terminates its runs and cannot hand their messages back. A
worker killed outright leaves its message in the broker's ``unacked`` hash until
the visibility timeout (hours). The store's record says what should be happening;
these queries find where that and the broker disagree:

* a ``queued`` record with no message in the queue and none delivered recently;
* a ``running`` record whose lease has lapsed (its worker stopped renewing it) and
  with no such message either.

Recovery (``worker/recovery.py``) sends each a new message; the claim's
compare-and-set lets only one delivery run it, so a message too many costs a
refused claim, never a second run. Keys (``P`` is the store's prefix)::

    P:recovery:lock       held by the worker sweeping now (one sweep at a time)
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import redis
from redis.commands.core import Script

from core.store import lua
from core.store.connection import as_text, guard
from core.store.transitions import TransitionsMixin

#: Messages read from the broker per round trip.
_CHUNK = 500


@dataclass(frozen=True)
class Stray:
    """An experiment that needs a message: its id and the status it is stuck in."""

    id: str
    status: Literal["queued", "running"]


@dataclass(frozen=True)
class BrokerKeys:
    """Where the broker keeps messages: the queue's lists, the unacked hash and its index."""

    lists: Sequence[str]
    unacked: str
    unacked_index: str


class RecoveryMixin(TransitionsMixin):
    """``Store``'s queries and marks for recovery (its scripts take the transitions' KEYS)."""

    #: The broker's Redis (the store's own unless configured apart).
    _broker: redis.Redis
    _redispatch: Script

    def _register_recovery(self, client: redis.Redis) -> None:
        self._redispatch = client.register_script(lua.REDISPATCH)

    def take_recovery_lock(self, owner: str, *, ttl_s: float) -> bool:
        """Hold the sweep lock for ``ttl_s`` seconds if nobody does; whether we got it."""
        with guard():
            return bool(
                self.redis.set(self._k("recovery", "lock"), owner, nx=True, px=int(ttl_s * 1000))
            )

    def strays(self, *, now: float | None = None, grace_s: float) -> list[Stray]:
        """Non-final experiments nobody is running, last sent more than ``grace_s`` ago.

        Only the store's view: a stray may still have a message on its way (see
        :meth:`message_ids`).
        """
        now = time.time() if now is None else now
        out: list[Stray] = []
        with guard():
            for status in ("queued", "running"):
                ids = [as_text(i) for i in self.redis.zrange(self._k("index", status), 0, -1)]
                pipe = self.redis.pipeline(transaction=False)
                for i in ids:
                    pipe.hmget(
                        self.experiment_keys(i).record,
                        ["status", "created_at", "dispatched_at", "lease_until"],
                    )
                for i, (st, created, sent, lease) in zip(ids, pipe.execute(), strict=True):
                    if st is None or as_text(st) != status:
                        continue  # expired, deleted, or moved on since the index was read
                    last = max(_num(created), _num(sent))
                    if now - last < grace_s:
                        continue
                    if status == "running" and _num(lease) > now:
                        continue
                    out.append(Stray(i, "queued" if status == "queued" else "running"))
        return out

    def message_ids(self, broker: BrokerKeys, *, delivered_after: float) -> set[str]:
        """Ids of tasks with a message waiting in ``broker.lists``, or delivered to a
        worker after ``delivered_after`` and not yet acknowledged.

        An unacknowledged message delivered earlier than that belongs to a worker that
        is gone: a live one claims what it is given at once and keeps its lease fresh.
        """
        ids: set[str] = set()
        with guard():
            for name in broker.lists:
                start = 0
                while True:
                    chunk = self._broker.lrange(name, start, start + _CHUNK - 1)
                    ids.update(filter(None, map(_task_id, chunk)))
                    if len(chunk) < _CHUNK:
                        break
                    start += _CHUNK
            tags = [
                as_text(t)
                for t in self._broker.zrangebyscore(broker.unacked_index, delivered_after, "+inf")
            ]
            if tags:
                for raw in self._broker.hmget(broker.unacked, tags):
                    if raw is not None:
                        ids.update(filter(None, [_task_id(_unacked_message(raw))]))
        return ids

    def mark_redispatched(self, exp_id: str, *, grace_s: float, now: float | None = None) -> bool:
        """Note that a new message is being sent for ``exp_id``; False (and nothing
        noted) when it no longer needs one or another sweep just sent one."""
        now = time.time() if now is None else now
        with guard():
            outcome, _ = self._redispatch(keys=self._keys(exp_id), args=[exp_id, now, grace_s])
        return as_text(outcome) == "ok"


def _num(x: Any) -> float:
    try:
        return float(as_text(x)) if x not in (None, b"", "") else 0.0
    except ValueError:
        return 0.0


def _task_id(raw: Any) -> str | None:
    """The task id of a kombu message (JSON; protocol 2 keeps it in the headers)."""
    try:
        message = json.loads(raw) if isinstance(raw, (bytes, str)) else raw
        headers = message.get("headers") or {}
        task_id = headers.get("id") or (message.get("properties") or {}).get("correlation_id")
    except (ValueError, AttributeError, TypeError):
        return None
    return str(task_id) if task_id else None


def _unacked_message(raw: bytes | str) -> Any:
    """An ``unacked`` hash value is ``[message, exchange, routing_key]``."""
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value[0] if isinstance(value, list) and value else None
