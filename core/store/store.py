"""The one place that talks to Redis about experiments.

Keys (``P`` is the prefix, ``gradatlas`` by default)::

    P:exp:<id>            hash: the record (see ExperimentRecord)
    P:exp:<id>:result     gzip'd JSON result, partial while running
    P:exp:<id>:cancel     flag the running task polls
    P:index:all           sorted set of ids, all scores 0: ids sort by creation time
    P:index:<status>      the same, one per status
    P:expiry              sorted set: id -> when its record expires
    P:tenant:<t>:index:*  the same indexes, one tenant's (see ``tenants.py``)

Here: creating, reading, listing and counting records, and reading results.
``Store`` takes the rest from mixins: status changes (``transitions.py``,
each a Lua compare-and-set from ``lua.py``), what recovery looks for
(``recovery.py``), worker heartbeats, drain flags
and queue depth (``workers.py``) and generic blobs (``blobs.py``). Connecting,
the error guard, ids, key names and paging are in ``connection.py``. A Redis that cannot
be reached raises ``StoreUnavailable`` within about the socket timeout.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import redis

from core.result import ResultDict
from core.settings import Settings
from core.spec import ExperimentSpec
from core.store import lua
from core.store.blobs import BlobsMixin
from core.store.codec import decode_result
from core.store.connection import Page, connect, guard, is_id, new_id, read_page
from core.store.record import (
    FINAL_STATUSES,
    STATUSES,
    ExperimentRecord,
    Status,
    parse_status,
)
from core.store.recovery import RecoveryMixin
from core.store.tenants import TenantsMixin, not_found, owns
from core.store.workers import WorkersMixin


@dataclass(frozen=True)
class StoredResult:
    data: bytes
    etag: str | None
    #: True once the result can no longer change.
    final: bool
    status: Status

    @classmethod
    def of(
        cls,
        exp_id: str,
        status: bytes | None,
        etag: bytes | None,
        data: bytes | None,
        *,
        owner: bytes | None = None,
        tenant: str | None = None,
    ) -> StoredResult | None:
        """From the record's status, etag and tenant (``owner``) and the result key, as read
        in one pipeline; ``NotFound`` when there is no such experiment of ``tenant``'s."""
        if status is None or not owns(owner.decode() if owner else None, tenant):
            raise not_found("experiment", exp_id)
        if data is None:
            return None
        st = parse_status(status.decode())
        final = st in FINAL_STATUSES and bool(etag)
        return cls(data, etag.decode() if final and etag else None, final, st)


#: The record fields ``result_bytes`` reads beside the result, in this order.
RESULT_FIELDS = ("status", "etag", "tenant")


class Store(RecoveryMixin, WorkersMixin, BlobsMixin, TenantsMixin):
    """Experiment records and results; status changes (and recovery's queries),
    workers, blobs and tenants come from the mixins."""

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
        self._register_transitions(client)
        self._register_recovery(client)
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
        tenant: str | None = None,
        max_active: int | None = None,
    ) -> ExperimentRecord:
        """Store a new ``queued`` experiment of ``tenant`` and index it.

        Raises ``Throttled`` (and stores nothing) when ``tenant`` (everyone, without
        tenants) already has ``max_active`` experiments queued or running: checked and
        written in one atomic step, so concurrent submissions never overshoot.
        """
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
            "tenant": tenant or "",
            "tindex": self.tenant_indexes(tenant) if tenant else "",
        }
        record_key = self.experiment_keys(exp_id).record
        self._create_indexed(exp_id, record_key, fields, tenant=tenant, max_active=max_active)
        return ExperimentRecord.from_hash(fields)

    def find(self, exp_id: str) -> ExperimentRecord | None:
        if not is_id(exp_id):  # no such key can exist
            return None
        with guard():
            h = self.redis.hgetall(self.experiment_keys(exp_id).record)
        return ExperimentRecord.from_hash(h) if h else None

    def get(self, exp_id: str) -> ExperimentRecord:
        record = self.find(exp_id)
        if record is None:
            raise not_found("experiment", exp_id)
        return record

    def get_owned(self, exp_id: str, tenant: str | None) -> ExperimentRecord:
        """``get``, for a request of ``tenant``: another tenant's experiment is ``NotFound``
        too (None, an anonymous API, owns everything)."""
        record = self.find(exp_id)
        if record is None or not owns(record.tenant, tenant):
            raise not_found("experiment", exp_id)
        return record

    def list_experiments(
        self,
        *,
        status: Status | None = None,
        limit: int = 20,
        cursor: str | None = None,
        tenant: str | None = None,
    ) -> Page[ExperimentRecord]:
        """Newest first, ``tenant``'s only when given (from its own index);
        pass ``next_cursor`` back as ``cursor`` for the next page."""
        self.prune()
        return read_page(
            self.redis,
            self.index(status or "all", tenant),
            hash_key=lambda i: self.experiment_keys(i).record,
            parse=ExperimentRecord.from_hash,
            limit=limit,
            cursor=cursor,
        )

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

    # --- results -------------------------------------------------------------
    def result_bytes(self, exp_id: str, tenant: str | None = None) -> StoredResult | None:
        """The stored gzip'd result and whether it is final; None when none yet.

        Raises ``NotFound`` when the experiment does not exist (or is not ``tenant``'s).
        """
        keys = self.experiment_keys(exp_id)
        with guard():
            pipe = self.redis.pipeline(transaction=True)
            pipe.hmget(keys.record, list(RESULT_FIELDS))
            pipe.get(keys.result)
            (status, etag, owner), data = pipe.execute()
        return StoredResult.of(exp_id, status, etag, data, owner=owner, tenant=tenant)

    def load_result(self, exp_id: str, tenant: str | None = None) -> ResultDict | None:
        """The result as a dict (for plots and diagnosis, not for the hot path)."""
        stored = self.result_bytes(exp_id, tenant)
        return decode_result(stored.data) if stored else None
