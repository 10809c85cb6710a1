"""The result of an experiment, in the JSON form of docs/contract.md § Result.

``ResultDict`` is what the store keeps, the API serves, ``gradatlas run``
writes to ``result.json`` and plots and diagnosis read. Everything in it is a
plain ``int``, ``float``, ``str``, ``None``, list or dict: a non-finite float
is written as ``None`` (JSON has no NaN), never a NumPy scalar.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, NotRequired, TypedDict


class LayerInfo(TypedDict):
    index: int
    name: str
    fan_in: int
    fan_out: int


class Metrics(TypedDict):
    epoch: list[int]
    train_loss: list[float | None]
    val_loss: list[float | None]
    train_accuracy: list[float]
    val_accuracy: list[float]


class Summary(TypedDict):
    #: log10(grad_norm[layer 0] / grad_norm[layer depth-1]) at step 0.
    gradient_ratio_log10: float | None
    #: The same with backprop_norm.
    backprop_ratio_log10: float | None
    #: 10**(-slope) of the least-squares line through log10 grad_norm over layers 0..depth-1.
    decay_per_layer: float | None
    #: The same with backprop_norm.
    backprop_decay_per_layer: float | None
    final_train_accuracy: float | None
    final_val_accuracy: float | None
    diverged_at_step: int | None
    steps_run: int
    total_steps: int
    #: True when the run was stopped on request before its last step.
    stopped: bool


class Remedy(TypedDict):
    #: Dotted spec paths to new values, e.g. {"model.activation": "relu"}.
    change: dict[str, Any]
    why: str


class Diagnosis(TypedDict):
    verdict: str
    evidence: list[str]
    remedies: list[Remedy]


class Histogram(TypedDict):
    #: The steps of the records that carry a histogram.
    steps: list[int]
    #: ``bins + 1`` edges in log10 |dLoss/dW|; values outside fall in the end bins.
    bin_edges_log10: list[float]
    #: counts[h][l][b]: histogram h, layer l, bin b.
    counts: list[list[list[int]]]


class BatchNormStats(TypedDict):
    #: One entry per batch-norm layer (one per hidden layer), input to output.
    layers: list[str]
    #: stat[r][j] at record r for batch-norm layer j.
    gamma_grad_norm: list[list[float | None]]
    beta_grad_norm: list[list[float | None]]
    gamma_norm: list[list[float | None]]


class ResultDict(TypedDict):
    layers: list[LayerInfo]
    steps: list[int]
    #: stats[name][r][l]: statistic ``name`` at record r (step ``steps[r]``) for layer l.
    stats: dict[str, list[list[float | None]]]
    grad_histogram: Histogram
    batch_norm: NotRequired[BatchNormStats]
    metrics: Metrics
    summary: Summary
    #: None while the run is in progress.
    diagnosis: Diagnosis | None
    #: The mean-field prediction for this network (core.theory.predict); absent while running.
    theory: NotRequired[dict[str, Any]]


@dataclass(frozen=True)
class Progress:
    """Where a run stands; ``fraction`` is ``step / total_steps``."""

    step: int
    total_steps: int
    epoch: int
    fraction: float

    def to_dict(self) -> dict[str, int | float]:
        return {
            "step": self.step,
            "total_steps": self.total_steps,
            "epoch": self.epoch,
            "fraction": self.fraction,
        }


def json_safe(x: Any) -> Any:
    """``x`` with every non-finite float, at any depth, replaced by None (JSON has no NaN)."""
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {k: json_safe(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [json_safe(v) for v in x]
    return x
