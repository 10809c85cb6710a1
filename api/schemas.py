"""Response bodies of the experiments API, for validation-free serving and for the docs.

Routes build plain dicts with :func:`experiment_view` and serialise them once;
the pydantic models below describe the same shapes in OpenAPI, each with an
example.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from core.spec import ExperimentSpec
from core.store import ExperimentRecord, Status

PLOT_NAMES = (
    "gradient-profile",
    "gradient-heatmap",
    "training-curves",
    "activations",
    "update-ratio",
)

SPEC_EXAMPLE: dict[str, Any] = {
    "name": "sigmoid-20",
    "seed": 0,
    "model": {"depth": 20, "width": 256, "activation": "sigmoid", "init": "xavier_normal"},
    "data": {"dataset": "spiral", "n_samples": 2000, "noise": 0.2},
    "training": {"optimizer": "sgd", "learning_rate": 0.05, "batch_size": 64, "epochs": 20},
    "recording": {"every_steps": 10},
}

SPEC_EXAMPLES: dict[str, dict[str, Any]] = {
    "sigmoid-20": {
        "summary": "Deep sigmoid network: gradients vanish toward the input",
        "value": SPEC_EXAMPLE,
    },
    "relu-he": {
        "summary": "The remedy: ReLU with He initialisation",
        "value": {
            "name": "relu-he-20",
            "model": {"depth": 20, "width": 256, "activation": "relu", "init": "he_normal"},
        },
    },
    "tiny": {
        "summary": "A run that finishes in about a second",
        "value": {
            "model": {"depth": 3, "width": 16, "activation": "tanh"},
            "data": {"dataset": "moons", "n_samples": 400},
            "training": {"epochs": 5},
        },
    },
}

_ID = "0193a1f2c3d4a1b2c3d4e5f6"
VIEW_EXAMPLE: dict[str, Any] = {
    "id": _ID,
    "status": "running",
    "spec": ExperimentSpec.model_validate(SPEC_EXAMPLE).model_dump(mode="json"),
    "progress": {"step": 500, "total_steps": 500 * 4, "epoch": 5, "fraction": 0.25},
    "created_at": "2025-01-01T12:00:00.000Z",
    "started_at": "2025-01-01T12:00:00.250Z",
    "finished_at": None,
    "attempts": 1,
    "owner": "notebook-7",
    "cancel_requested": False,
    "summary": None,
    "diagnosis": None,
    "error": None,
    "links": {
        "self": f"/v1/experiments/{_ID}",
        "stats": f"/v1/experiments/{_ID}/stats",
        "cancel": f"/v1/experiments/{_ID}/cancel",
        "plots": {n: f"/v1/experiments/{_ID}/plots/{n}.png" for n in PLOT_NAMES},
    },
}


class ProgressView(BaseModel):
    step: int
    total_steps: int
    epoch: int
    fraction: float = Field(ge=0, le=1)


class Links(BaseModel):
    self: str
    stats: str
    cancel: str
    plots: dict[str, str]


class ExperimentView(BaseModel):
    """One experiment: where it stands and how it ended."""

    model_config = ConfigDict(json_schema_extra={"examples": [VIEW_EXAMPLE]})

    id: str
    status: Status
    spec: ExperimentSpec
    progress: ProgressView
    created_at: str = Field(description="ISO 8601, UTC.")
    started_at: str | None
    finished_at: str | None
    attempts: int = Field(description="Deliveries to a worker (more than 1: a worker died).")
    owner: str | None = Field(description="The X-Gradatlas-Owner header it was submitted with.")
    cancel_requested: bool
    summary: dict[str, Any] | None = Field(description="docs/contract.md § Result `summary`.")
    diagnosis: dict[str, Any] | None
    error: str | None = Field(description="Why it failed, for a person.")
    meta: dict[str, str] = Field(
        default_factory=dict,
        description='Where it came from: {"derived_from": id, "remedy": k} or {"sweep": id}.',
    )
    links: Links


class ExperimentPage(BaseModel):
    """A page of experiments, newest first."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"items": [VIEW_EXAMPLE], "next_cursor": _ID}]}
    )

    items: list[ExperimentView]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end."
    )


def iso(t: float | None) -> str | None:
    if t is None:
        return None
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def experiment_view(r: ExperimentRecord) -> dict[str, Any]:
    """The JSON body of one experiment (``ExperimentView``), without pydantic on the hot path."""
    base = f"/v1/experiments/{r.id}"
    return {
        "id": r.id,
        "status": r.status,
        "spec": json.loads(r.spec_json),
        "progress": r.progress,
        "created_at": iso(r.created_at),
        "started_at": iso(r.started_at),
        "finished_at": iso(r.finished_at),
        "attempts": r.attempts,
        "owner": r.owner,
        "cancel_requested": r.cancel_requested_at is not None,
        "summary": r.summary,
        "diagnosis": r.diagnosis,
        "error": r.error,
        # Where it came from: {"derived_from": id, "remedy": k} or {"sweep": id}.
        "meta": r.meta,
        "links": {
            "self": base,
            "stats": f"{base}/stats",
            "cancel": f"{base}/cancel",
            "plots": {n: f"{base}/plots/{n}.png" for n in PLOT_NAMES},
        },
    }
