"""What the store keeps about one experiment, as Python values."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from core.spec import ExperimentSpec
from core.store.connection import as_text

# Declared with the other wire shapes; re-exported here for the store's modules.
from core.views import FINAL_STATUSES, STATUSES, Status

__all__ = ["FINAL_STATUSES", "STATUSES", "ExperimentRecord", "Status", "parse_status"]


@dataclass(frozen=True)
class ExperimentRecord:
    """One experiment's life: its spec, where it stands, and how it ended.

    Times are Unix seconds. ``attempts`` counts deliveries to a worker; the
    result itself lives apart (see ``Store.result_bytes``).
    """

    id: str
    spec_json: str
    status: Status
    progress: dict[str, Any]
    created_at: float
    started_at: float | None = None
    finished_at: float | None = None
    attempts: int = 0
    error: str | None = None
    owner: str | None = None
    summary: dict[str, Any] | None = None
    diagnosis: dict[str, Any] | None = None
    #: Set when the final result is stored: a hash of its bytes.
    etag: str | None = None
    has_result: bool = False
    cancel_requested_at: float | None = None
    worker: str | None = None
    meta: dict[str, str] = field(default_factory=dict)
    #: While running: until when the attempt's lease holds (its worker renews it).
    lease_until: float | None = None
    #: When recovery last sent a message for it (see ``RecoveryMixin``).
    dispatched_at: float | None = None
    #: Who it belongs to (an API key's tenant); None without API keys.
    tenant: str | None = None

    @property
    def final(self) -> bool:
        return self.status in FINAL_STATUSES

    @cached_property
    def spec(self) -> ExperimentSpec:
        return ExperimentSpec.model_validate_json(self.spec_json)

    @classmethod
    def from_hash(cls, h: Mapping[Any, Any]) -> ExperimentRecord:
        """Build a record from a Redis hash (``HGETALL``: bytes or str)."""
        d = {as_text(k): as_text(v) for k, v in h.items()}
        return cls(
            id=d["id"],
            spec_json=d["spec"],
            status=parse_status(d["status"]),
            progress=json.loads(d.get("progress") or "{}"),
            created_at=float(d["created_at"]),
            started_at=_opt_float(d.get("started_at")),
            finished_at=_opt_float(d.get("finished_at")),
            attempts=int(d.get("attempts") or 0),
            error=d.get("error") or None,
            owner=d.get("owner") or None,
            summary=_opt_json(d.get("summary")),
            diagnosis=_opt_json(d.get("diagnosis")),
            etag=d.get("etag") or None,
            has_result=d.get("has_result") == "1",
            cancel_requested_at=_opt_float(d.get("cancel_requested_at")),
            worker=d.get("worker") or None,
            meta=json.loads(d.get("meta") or "{}"),
            lease_until=_opt_float(d.get("lease_until")),
            dispatched_at=_opt_float(d.get("dispatched_at")),
            tenant=d.get("tenant") or None,
        )


def parse_status(s: str) -> Status:
    for status in STATUSES:
        if s == status:
            return status
    raise ValueError(f"unknown status {s!r} in the store")


def _opt_float(s: str | None) -> float | None:
    return float(s) if s else None


def _opt_json(s: str | None) -> Any:
    return json.loads(s) if s else None
