"""Examples of the views for the OpenAPI document, and the config that makes a view exact."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict

from core.spec import ExperimentSpec
from core.views.names import PLOT_NAMES, SWEEP_PLOT_NAMES

# --- examples ---------------------------------------------------------------------------

EXAMPLE_ID = "0193a1f2c3d4a1b2c3d4e5f6"
EXAMPLE_CHILD_ID = "0193a1f2c3d4a1b2c3d4e5f7"
_SPEC_EXAMPLE = ExperimentSpec.model_validate(
    {
        "name": "sigmoid-20",
        "model": {"depth": 20, "width": 256, "activation": "sigmoid", "init": "xavier_normal"},
        "data": {"dataset": "spiral", "n_samples": 2000, "noise": 0.2},
        "training": {"optimizer": "sgd", "learning_rate": 0.05, "batch_size": 64, "epochs": 20},
        "recording": {"every_steps": 10},
    }
).model_dump(mode="json")
PROGRESS_EXAMPLE = {"step": 500, "total_steps": 500 * 4, "epoch": 5, "fraction": 0.25}
EXPERIMENT_EXAMPLE: dict[str, Any] = {
    "id": EXAMPLE_ID,
    "status": "running",
    "spec": _SPEC_EXAMPLE,
    "progress": PROGRESS_EXAMPLE,
    "created_at": "2025-01-01T12:00:00.000Z",
    "started_at": "2025-01-01T12:00:00.250Z",
    "finished_at": None,
    "attempts": 1,
    "owner": "notebook-7",
    "cancel_requested": False,
    "summary": None,
    "diagnosis": None,
    "error": None,
    "meta": {},
    "links": {
        "self": f"/v1/experiments/{EXAMPLE_ID}",
        "stats": f"/v1/experiments/{EXAMPLE_ID}/stats",
        "cancel": f"/v1/experiments/{EXAMPLE_ID}/cancel",
        "plots": {n: f"/v1/experiments/{EXAMPLE_ID}/plots/{n}.png" for n in PLOT_NAMES},
    },
}
SWEEP_ROW_EXAMPLE: dict[str, Any] = {
    "id": EXAMPLE_CHILD_ID,
    "params": {"model.activation": "sigmoid", "model.depth": 20},
    "status": "succeeded",
    "progress": 1.0,
    "gradient_ratio_log10": -11.8,
    "backprop_ratio_log10": -11.9,
    "decay_per_layer": 0.24,
    "weight_grad_ratio_log10": -11.8,
    "weight_grad_decay_per_layer": 0.24,
    "backprop_decay_per_layer": 0.25,
    "final_val_accuracy": 0.51,
    "verdict": "vanishing",
    "error": None,
}
SWEEP_EXAMPLE: dict[str, Any] = {
    "id": EXAMPLE_ID,
    "name": "activation-by-depth",
    "status": "running",
    "progress": 0.4,
    "created_at": "2025-01-01T12:00:00.000Z",
    "owner": None,
    "base": {
        "seed": 0,
        "model": {"width": 64, "init": "xavier_normal"},
        "data": {"dataset": "gaussian", "n_samples": 1000},
        "training": {"epochs": 5},
    },
    "grid": {"model.activation": ["sigmoid", "relu"], "model.depth": [5, 10, 20, 40]},
    "counts": {"succeeded": 3, "running": 2, "queued": 3},
    "links": {
        "self": f"/v1/sweeps/{EXAMPLE_ID}",
        "cancel": f"/v1/sweeps/{EXAMPLE_ID}/cancel",
        "plots": {n: f"/v1/sweeps/{EXAMPLE_ID}/plots/{n}.png" for n in SWEEP_PLOT_NAMES},
    },
    "children": [SWEEP_ROW_EXAMPLE],
}
SWEEP_ITEM_EXAMPLE: dict[str, Any] = {
    **{k: v for k, v in SWEEP_EXAMPLE.items() if k != "children"},
    "children_count": 8,
}
PROBLEM_EXAMPLE: dict[str, Any] = {
    "type": "urn:gradatlas:problem:invalid-spec",
    "title": "Invalid experiment spec",
    "status": 422,
    "detail": "1 field is invalid: model.depth: Input should be less than or equal to 500",
    "instance": "/v1/experiments",
    "errors": [
        {
            "field": "model.depth",
            "message": "Input should be less than or equal to 500",
            "limit": {"le": 500},
            "input": 900,
        }
    ],
}


def exact(*examples: Any) -> ConfigDict:
    # A view says exactly what is served: a key its declaration lacks fails validation.
    extra: list[Any] = list(examples)
    return ConfigDict(extra="forbid", json_schema_extra={"examples": extra} if extra else None)
