"""Sweep records in Redis, beside the experiments they group (see ``store.py``).

Keys (``P`` is the store's prefix)::

    P:sweep:<id>       hash: id, name, base, grid, children (JSON), created_at, owner, tenant
    P:index:sweeps     sorted set of sweep ids, all scores 0: ids sort by creation time
    P:tenant:<t>:index:sweeps   the same, one tenant's (see ``tenants.py``)

A sweep holds no state of its own: its children are ordinary experiments, and
its status is read from their records. It is kept while any child may still
run, and after that for as long as its last child's result is.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from core.store.connection import Keyspace, Page, as_text, check_id, guard, is_id, new_id, read_page
from core.store.record import ExperimentRecord
from core.store.store import Store
from core.store.tenants import not_found, owns


@dataclass(frozen=True)
class SweepRecord:
    """A sweep as stored: what was asked, and which experiment runs each combination."""

    id: str
    name: str
    base: dict[str, Any]
    grid: dict[str, list[Any]]
    #: ``[{"id": experiment id, "params": {grid path: value}}]`` in grid order.
    children: list[dict[str, Any]]
    created_at: float
    owner: str | None = None
    meta: dict[str, str] = field(default_factory=dict)
    #: Who it belongs to (an API key's tenant); None without API keys.
    tenant: str | None = None

    @property
    def child_ids(self) -> list[str]:
        return [str(c["id"]) for c in self.children]

    @classmethod
    def from_hash(cls, h: Mapping[Any, Any]) -> SweepRecord:
        d = {as_text(k): as_text(v) for k, v in h.items()}
        return cls(
            id=d["id"],
            name=d["name"],
            base=json.loads(d["base"]),
            grid=json.loads(d["grid"]),
            children=json.loads(d["children"]),
            created_at=float(d["created_at"]),
            owner=d.get("owner") or None,
            meta=json.loads(d.get("meta") or "{}"),
            tenant=d.get("tenant") or None,
        )


SweepPage = Page[SweepRecord]


class SweepStore(Keyspace):
    """Sweep records, in the same Redis and under the same prefix as ``store``."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.redis = store.redis
        self.prefix = store.prefix

    def _key(self, sweep_id: str) -> str:
        return self._k("sweep", check_id(sweep_id, "sweep"))

    def _index(self, tenant: str | None = None) -> str:
        return self.store.index("sweeps", tenant)

    def new_id(self) -> str:
        return new_id()

    def create(
        self,
        sweep_id: str,
        *,
        name: str,
        base: Mapping[str, Any],
        grid: Mapping[str, Sequence[Any]],
        children: Sequence[tuple[str, Mapping[str, Any]]],
        owner: str | None = None,
        meta: Mapping[str, str] | None = None,
        now: float | None = None,
        tenant: str | None = None,
    ) -> SweepRecord:
        """Store a sweep of ``tenant``'s over ``children`` (``(experiment id, params)``
        pairs)."""
        now = time.time() if now is None else now
        fields = {
            "id": sweep_id,
            "name": name,
            "base": json.dumps(base),
            "grid": json.dumps(grid),
            "children": json.dumps([{"id": i, "params": dict(p)} for i, p in children]),
            "created_at": repr(now),
            "owner": owner or "",
            "meta": json.dumps(dict(meta or {})),
            "tenant": tenant or "",
        }
        with guard():
            pipe = self.redis.pipeline(transaction=True)
            pipe.hset(self._key(sweep_id), mapping=dict[Any, Any](fields))
            # Renewed while it is read and its children run (see ``keep``).
            pipe.expire(self._key(sweep_id), self.store.result_ttl_s)
            pipe.zadd(self._index(), {sweep_id: 0})
            if tenant:
                pipe.zadd(self._index(tenant), {sweep_id: 0})
            pipe.execute()
        return SweepRecord.from_hash(fields)

    def find(self, sweep_id: str) -> SweepRecord | None:
        if not is_id(sweep_id):
            return None
        with guard():
            h = self.redis.hgetall(self._key(sweep_id))
        return SweepRecord.from_hash(h) if h else None

    def get(self, sweep_id: str, tenant: str | None = None) -> SweepRecord:
        """The sweep; ``NotFound`` when missing or not ``tenant``'s (None owns all)."""
        record = self.find(sweep_id)
        if record is None or not owns(record.tenant, tenant):
            raise not_found("sweep", sweep_id)
        return record

    def children(self, sweep: SweepRecord) -> list[ExperimentRecord | None]:
        """Each child's experiment record, in order; None for one that has expired or
        been deleted."""
        with guard():
            pipe = self.redis.pipeline(transaction=False)
            for exp_id in sweep.child_ids:
                pipe.hgetall(self.experiment_keys(exp_id).record)
            replies = pipe.execute()
        return [ExperimentRecord.from_hash(h) if h else None for h in replies]

    def keep(
        self,
        sweep: SweepRecord,
        children: Sequence[ExperimentRecord | None],
        *,
        now: float | None = None,
    ) -> None:
        """Renew the sweep's retention: a full term while a child may still run, else as
        long as its last child's result is kept."""
        now = time.time() if now is None else now
        ttl = self.store.result_ttl_s
        if all(c is None or c.final for c in children):
            ends = [(c.finished_at or now) + ttl for c in children if c is not None]
            ttl = int(max(ends, default=now + 60) - now)
        with guard():
            self.redis.expire(self._key(sweep.id), max(60, ttl))

    def list_sweeps(
        self, *, limit: int = 20, cursor: str | None = None, tenant: str | None = None
    ) -> SweepPage:
        """Newest first, ``tenant``'s only when given; pass ``next_cursor`` back as
        ``cursor`` for the next page."""
        return read_page(
            self.redis,
            self._index(tenant),
            hash_key=self._key,
            parse=SweepRecord.from_hash,
            limit=limit,
            cursor=cursor,
        )
