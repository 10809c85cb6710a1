"""Sweeps as the API shows them: the request, the status rule, the summary table.

A sweep's status is read from its children's records:

- ``queued`` while every child is queued;
- ``running`` while any child is queued or running (and not all are queued);
- once none is: the children's common status (``succeeded``, ``failed`` or
  ``cancelled``) if they all share one, else ``mixed``.

``progress`` is the share of the sweep's work done: the mean over children of
their ``progress.fraction``, a final child (however it ended) counting as 1.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas import iso
from core.plots import SWEEP_PLOTS
from core.store import ExperimentRecord, SweepRecord

SweepStatus = Literal["queued", "running", "succeeded", "failed", "cancelled", "mixed"]
#: Per child, from its record's summary (docs/contract.md § Result).
SUMMARY_FIELDS = (
    "gradient_ratio_log10",
    "backprop_ratio_log10",
    "decay_per_layer",
    "final_val_accuracy",
)
_ID = "0193a1f2c3d4a1b2c3d4e5f6"
_CHILD = "0193a1f2c3d4a1b2c3d4e5f7"

SWEEP_EXAMPLE: dict[str, Any] = {
    "name": "activation-by-depth",
    "base": {
        "seed": 0,
        "model": {"width": 64, "init": "xavier_normal"},
        "data": {"dataset": "gaussian", "n_samples": 1000},
        "training": {"epochs": 5},
    },
    "grid": {"model.activation": ["sigmoid", "relu"], "model.depth": [5, 10, 20, 40]},
}
ROW_EXAMPLE: dict[str, Any] = {
    "id": _CHILD,
    "params": {"model.activation": "sigmoid", "model.depth": 20},
    "status": "succeeded",
    "progress": 1.0,
    "gradient_ratio_log10": -11.8,
    "backprop_ratio_log10": -11.9,
    "decay_per_layer": 0.24,
    "final_val_accuracy": 0.51,
    "verdict": "vanishing",
    "error": None,
}
VIEW_EXAMPLE: dict[str, Any] = {
    "id": _ID,
    "name": "activation-by-depth",
    "status": "running",
    "progress": 0.4,
    "created_at": "2025-01-01T12:00:00.000Z",
    "owner": None,
    "base": SWEEP_EXAMPLE["base"],
    "grid": SWEEP_EXAMPLE["grid"],
    "counts": {"succeeded": 3, "running": 2, "queued": 3},
    "children": [ROW_EXAMPLE],
    "links": {
        "self": f"/v1/sweeps/{_ID}",
        "cancel": f"/v1/sweeps/{_ID}/cancel",
        "plots": {n: f"/v1/sweeps/{_ID}/plots/{n}.png" for n in SWEEP_PLOTS},
    },
}

PAGE_EXAMPLE: dict[str, Any] = {
    "items": [{**{k: v for k, v in VIEW_EXAMPLE.items() if k != "children"}, "children_count": 8}],
    "next_cursor": None,
}


class SweepRequest(BaseModel):
    """A base spec and a grid of values; one experiment per combination."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [SWEEP_EXAMPLE]})

    name: str = Field(
        default="sweep",
        min_length=1,
        max_length=120,
        description="The sweep's name; each child is named after it and its values.",
    )
    base: dict[str, Any] = Field(
        default_factory=dict,
        description="An experiment spec (docs/contract.md § Spec) shared by every child; it "
        "may leave out the fields the grid sets (model.depth, model.activation).",
    )
    grid: dict[str, list[Any]] = Field(
        description="Dotted spec paths to the values each takes; the children are every "
        "combination, the last path varying fastest.",
    )


class SweepRow(BaseModel):
    """One child: its values, where it stands, and its numbers once finished."""

    id: str
    params: dict[str, Any]
    status: str = Field(description="The experiment's status; `expired` once it is gone.")
    progress: float
    gradient_ratio_log10: float | None
    backprop_ratio_log10: float | None
    decay_per_layer: float | None
    final_val_accuracy: float | None
    verdict: str | None
    error: str | None


class SweepLinks(BaseModel):
    self: str
    cancel: str
    plots: dict[str, str]


class SweepView(BaseModel):
    """A sweep: its status and progress read from its children, and the summary table."""

    model_config = ConfigDict(json_schema_extra={"examples": [VIEW_EXAMPLE]})

    id: str
    name: str
    status: SweepStatus
    progress: float = Field(ge=0, le=1, description="Mean child progress; final ones count 1.")
    created_at: str | None
    owner: str | None
    base: dict[str, Any]
    grid: dict[str, list[Any]]
    counts: dict[str, int] = Field(description="Children by status.")
    children: list[SweepRow] = Field(description="The summary table, one row per child.")
    links: SweepLinks


class SweepPageView(BaseModel):
    """A page of sweeps, newest first (each without its table)."""

    model_config = ConfigDict(json_schema_extra={"examples": [PAGE_EXAMPLE]})

    items: list[dict[str, Any]]
    next_cursor: str | None


def sweep_status(statuses: Sequence[str]) -> SweepStatus:
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


def _row(child: dict[str, Any], record: ExperimentRecord | None) -> dict[str, Any]:
    summary = (record.summary if record else None) or {}
    diagnosis = (record.diagnosis if record else None) or {}
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
        **{f: summary.get(f) for f in SUMMARY_FIELDS},
        "verdict": diagnosis.get("verdict"),
        "error": record.error if record else None,
    }


def sweep_view(
    sweep: SweepRecord, records: Sequence[ExperimentRecord | None], *, table: bool = True
) -> dict[str, Any]:
    """The JSON body of one sweep (``SweepView``); without ``table``, no children rows."""
    rows = [_row(c, r) for c, r in zip(sweep.children, records, strict=True)]
    statuses = [r["status"] for r in rows]
    base = f"/v1/sweeps/{sweep.id}"
    view: dict[str, Any] = {
        "id": sweep.id,
        "name": sweep.name,
        "status": sweep_status(statuses),
        "progress": sum(r["progress"] for r in rows) / len(rows) if rows else 1.0,
        "created_at": iso(sweep.created_at),
        "owner": sweep.owner,
        "base": sweep.base,
        "grid": sweep.grid,
        "counts": dict(Counter(statuses)),
        "links": {
            "self": base,
            "cancel": f"{base}/cancel",
            "plots": {n: f"{base}/plots/{n}.png" for n in SWEEP_PLOTS},
        },
    }
    if table:
        view["children"] = rows
    else:
        view["children_count"] = len(rows)
    return view
