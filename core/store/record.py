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

__all__ = [
    "FINAL_STATUSES",
    "STATUSES",
    "ExperimentRecord",
    "Status",
    "StoredRecord",
    "parse_status",
]


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
        return StoredRecord({as_text(k): as_text(v) for k, v in h.items()}).record()


class StoredRecord:
    """One record's hash as Redis holds it, its JSON-valued fields left as their text.

    What a field means when missing or empty is said here once: ``record()`` parses
    it into an :class:`ExperimentRecord`, and the status route serves the ``*_json``
    texts spliced into its body as they are (no parse and re-dump per request).
    """

    __slots__ = ("h",)

    def __init__(self, h: Mapping[str, str]) -> None:
        #: The fields, decoded (``HGETALL`` with ``decode_responses``).
        self.h = h

    @property
    def id(self) -> str:
        return self.h["id"]

    @property
    def status(self) -> Status:
        return parse_status(self.h["status"])

    @property
    def final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def tenant(self) -> str | None:
        return self.h.get("tenant") or None

    @property
    def spec_json(self) -> str:
        return self.h["spec"]

    @property
    def progress_json(self) -> str:
        return self.h.get("progress") or "{}"

    @property
    def summary_json(self) -> str | None:
        return self.h.get("summary") or None

    @property
    def diagnosis_json(self) -> str | None:
        return self.h.get("diagnosis") or None

    @property
    def meta_json(self) -> str:
        return self.h.get("meta") or "{}"

    def field(self, name: str) -> str:
        """A field's text as stored ("" when unset)."""
        return self.h.get(name, "")

    def time(self, name: str) -> float | None:
        """``created_at``, ``started_at``, ... as Unix seconds (None when unset)."""
        return _opt_float(self.h.get(name))

    def text(self, name: str) -> str | None:
        """A plain text field (``owner``, ``error``, ``worker``...); None when empty."""
        return self.h.get(name) or None

    @property
    def attempts(self) -> int:
        return int(self.h.get("attempts") or 0)

    def record(self) -> ExperimentRecord:
        text = self.text
        return ExperimentRecord(
            id=self.id,
            spec_json=self.spec_json,
            status=self.status,
            progress=json.loads(self.progress_json),
            created_at=float(self.h["created_at"]),
            started_at=self.time("started_at"),
            finished_at=self.time("finished_at"),
            attempts=self.attempts,
            error=text("error"),
            owner=text("owner"),
            summary=_opt_json(self.summary_json),
            diagnosis=_opt_json(self.diagnosis_json),
            etag=text("etag"),
            has_result=self.h.get("has_result") == "1",
            cancel_requested_at=self.time("cancel_requested_at"),
            worker=text("worker"),
            meta=json.loads(self.meta_json),
            lease_until=self.time("lease_until"),
            dispatched_at=self.time("dispatched_at"),
            tenant=self.tenant,
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
