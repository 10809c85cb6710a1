"""Store records as the views of ``core.views``, built without pydantic on the hot path.

A sweep's status is read from its children's records:

- ``queued`` while every child is queued;
- ``running`` while any child is queued or running (and not all are queued);
- once none is: the children's common status (``succeeded``, ``failed`` or
  ``cancelled``) if they all share one, else ``mixed``.

``progress`` is the share of the sweep's work done: the mean over children of
their ``progress.fraction``, a final child (however it ended) counting as 1.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache
from json.encoder import encode_basestring_ascii
from typing import Any, cast, overload

from core.result import Diagnosis, Summary
from core.store import ExperimentRecord, Page, StoredRecord, SweepRecord
from core.store import SweepPage as StoredSweepPage
from core.views import (
    PLOT_NAMES,
    SWEEP_PLOT_NAMES,
    ChildStatus,
    ExperimentPage,
    ExperimentView,
    ProgressView,
    SweepHead,
    SweepLinks,
    SweepListItem,
    SweepPage,
    SweepRow,
    SweepStatus,
    SweepView,
)


@overload
def iso(t: float) -> str: ...
@overload
def iso(t: float | None) -> str | None: ...
def iso(t: float | None) -> str | None:
    """Unix seconds as ISO 8601 in UTC, to the millisecond: ``2025-01-01T12:00:00.000Z``."""
    if t is None:
        return None
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def experiment_view(r: ExperimentRecord) -> ExperimentView:
    """The JSON body of one experiment."""
    base = f"/v1/experiments/{r.id}"
    # The record keeps what the worker wrote in these shapes (core.result); read back as JSON.
    return {
        "id": r.id,
        "status": r.status,
        "spec": json.loads(r.spec_json),
        "progress": cast(ProgressView, r.progress),
        "created_at": iso(r.created_at),
        "started_at": iso(r.started_at),
        "finished_at": iso(r.finished_at),
        "attempts": r.attempts,
        "owner": r.owner,
        "cancel_requested": r.cancel_requested_at is not None,
        "summary": cast("Summary | None", r.summary),
        "diagnosis": cast("Diagnosis | None", r.diagnosis),
        "error": r.error,
        "meta": r.meta,
        "links": {
            "self": base,
            "stats": f"{base}/stats",
            "cancel": f"{base}/cancel",
            "plots": {n: f"{base}/plots/{n}.png" for n in PLOT_NAMES},
        },
    }


#: The links of an experiment as JSON, ``@BASE@`` standing for its escaped path.
_LINKS_JSON = json.dumps(
    {
        "self": "@BASE@",
        "stats": "@BASE@/stats",
        "cancel": "@BASE@/cancel",
        "plots": {n: f"@BASE@/plots/{n}.png" for n in PLOT_NAMES},
    }
)


@lru_cache(maxsize=4096)
def _iso_json(stored: str) -> str:
    """A stored time (Unix seconds as text, or empty) as the view writes it."""
    return f'"{iso(float(stored))}"' if stored else "null"


def _text(s: str | None) -> str:
    """``s`` as ``json.dumps`` writes it (a JSON string, or null)."""
    return "null" if s is None else encode_basestring_ascii(s)


def experiment_json(r: StoredRecord) -> bytes:
    """The body of ``experiment_view(r.record())``, spliced from the stored text.

    The status-polling path: the record's JSON fields (spec, progress, summary,
    diagnosis, meta) go into the body as stored, never parsed and dumped again; the
    same keys and values as :func:`experiment_view`, in the same order.
    """
    base = encode_basestring_ascii(f"/v1/experiments/{r.id}")[1:-1]
    return (
        f'{{"id": {encode_basestring_ascii(r.id)}, "status": "{r.status}", '
        f'"spec": {r.spec_json}, "progress": {r.progress_json}, '
        f'"created_at": {_iso_json(r.field("created_at"))}, '
        f'"started_at": {_iso_json(r.field("started_at"))}, '
        f'"finished_at": {_iso_json(r.field("finished_at"))}, '
        f'"attempts": {r.attempts}, "owner": {_text(r.text("owner"))}, '
        f'"cancel_requested": {"true" if r.field("cancel_requested_at") else "false"}, '
        f'"summary": {r.summary_json or "null"}, "diagnosis": {r.diagnosis_json or "null"}, '
        f'"error": {_text(r.text("error"))}, "meta": {r.meta_json}, '
        f'"links": {_LINKS_JSON.replace("@BASE@", base)}}}'
    ).encode()


def experiment_page(page: Page[ExperimentRecord]) -> ExperimentPage:
    return {"items": [experiment_view(r) for r in page.items], "next_cursor": page.next_cursor}


def sweep_status(statuses: Sequence[ChildStatus]) -> SweepStatus:
    """The rule in this module's docstring (``expired`` children count as final)."""
    if all(s == "queued" for s in statuses):
        return "queued"
    if any(s in ("queued", "running") for s in statuses):
        return "running"
    distinct = set(statuses)
    if distinct == {"succeeded"}:
        return "succeeded"
    if distinct == {"failed"}:
        return "failed"
    if distinct == {"cancelled"}:
        return "cancelled"
    return "mixed"


def sweep_row(child: dict[str, Any], record: ExperimentRecord | None) -> SweepRow:
    """One row of the summary table: a child's values, status and numbers."""
    summary = (record.summary if record else None) or {}
    diagnosis = (record.diagnosis if record else None) or {}
    status: ChildStatus
    if record is None:
        status, progress = "expired", 1.0
    else:
        status = record.status
        progress = 1.0 if record.final else float(record.progress.get("fraction") or 0.0)
    return {
        "id": child["id"],
        "params": child["params"],
        "status": status,
        "progress": progress,
        "gradient_ratio_log10": summary.get("gradient_ratio_log10"),
        "backprop_ratio_log10": summary.get("backprop_ratio_log10"),
        "decay_per_layer": summary.get("decay_per_layer"),
        "weight_grad_ratio_log10": summary.get("gradient_ratio_log10"),
        "weight_grad_decay_per_layer": summary.get("decay_per_layer"),
        "backprop_decay_per_layer": summary.get("backprop_decay_per_layer"),
        "final_val_accuracy": summary.get("final_val_accuracy"),
        "verdict": diagnosis.get("verdict"),
        "error": record.error if record else None,
    }


def _head(sweep: SweepRecord, rows: Sequence[SweepRow]) -> SweepHead:
    statuses = [r["status"] for r in rows]
    base = f"/v1/sweeps/{sweep.id}"
    links: SweepLinks = {
        "self": base,
        "cancel": f"{base}/cancel",
        "plots": {n: f"{base}/plots/{n}.png" for n in SWEEP_PLOT_NAMES},
    }
    return {
        "id": sweep.id,
        "name": sweep.name,
        "status": sweep_status(statuses),
        "progress": sum(r["progress"] for r in rows) / len(rows) if rows else 1.0,
        "created_at": iso(sweep.created_at),
        "owner": sweep.owner,
        "base": sweep.base,
        "grid": sweep.grid,
        "counts": dict(Counter(statuses)),
        "links": links,
    }


def _rows(sweep: SweepRecord, records: Sequence[ExperimentRecord | None]) -> list[SweepRow]:
    return [sweep_row(c, r) for c, r in zip(sweep.children, records, strict=True)]


def sweep_view(sweep: SweepRecord, records: Sequence[ExperimentRecord | None]) -> SweepView:
    """The JSON body of one sweep, with its summary table."""
    rows = _rows(sweep, records)
    return {**_head(sweep, rows), "children": rows}


def sweep_list_item(
    sweep: SweepRecord, records: Sequence[ExperimentRecord | None]
) -> SweepListItem:
    """A sweep in a list: its head, and how many children the table would have."""
    rows = _rows(sweep, records)
    return {**_head(sweep, rows), "children_count": len(rows)}


def sweep_page(
    page: StoredSweepPage, children: Sequence[Sequence[ExperimentRecord | None]]
) -> SweepPage:
    return {
        "items": [sweep_list_item(s, c) for s, c in zip(page.items, children, strict=True)],
        "next_cursor": page.next_cursor,
    }
