"""The result of an experiment, in the JSON form of docs/contract.md § Result.

``ResultDict`` is what the store keeps, the API serves and ``gradatlas run``
writes to ``result.json``. Everything in it is a plain ``int``, ``float``,
``str``, ``None``, list or dict: a non-finite float is written as ``None`` (JSON
has no NaN), never a NumPy scalar. Inside a process the run's numbers travel as
arrays (``core.run_result.RunResult``); ``RunResult.to_json`` and
``RunResult.from_json`` cross between the two forms.

This module imports no NumPy: the client and the API's validation import it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal, NotRequired, get_args, overload

# Not typing's: pydantic validates only typing_extensions.TypedDict before Python 3.12,
# and the API validates and documents these shapes (core.views).
from typing_extensions import TypedDict

#: A verdict of ``core.diagnosis.diagnose``, in the order they are tested.
Verdict = Literal[
    "diverged", "exploding", "vanishing", "saturated", "dead_units", "not_learning", "healthy"
]
#: How bad a verdict's problem is; None for ``healthy``.
Severity = Literal["mild", "severe"]
SEVERITIES: tuple[Severity, ...] = get_args(Severity)
#: The mean-field phase of a network's hidden layers (docs/insight.md § Mean-field theory).
Phase = Literal["ordered", "critical", "chaotic"]
#: Which theory made a prediction's profiles.
TheoryMethod = Literal["mean_field", "reduced_residual", "batch_norm_monte_carlo", "none"]
VERDICTS: tuple[Verdict, ...] = get_args(Verdict)
#: The batch-norm statistics, one per batch-norm layer (docs/contract.md § Statistics).
BN_STATS: tuple[str, ...] = ("gamma_grad_norm", "beta_grad_norm", "gamma_norm")
#: A value a remedy sets at a spec path.
SpecValue = str | int | float | bool | None


class LayerInfo(TypedDict):
    index: int
    name: str
    fan_in: int
    fan_out: int


class Metrics(TypedDict):
    """Per-epoch training curves: entry e is epoch ``epoch[e]``."""

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
    change: dict[str, SpecValue]
    why: str


class Diagnosis(TypedDict):
    verdict: Verdict
    #: mild or severe; None when the verdict is healthy.
    severity: Severity | None
    evidence: list[str]
    #: Remarks that are not a problem (e.g. batch norm's growth toward the input).
    notes: list[str]
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
    #: stat[r][j] at record r for batch-norm layer j (the names of ``BN_STATS``).
    gamma_grad_norm: list[list[float | None]]
    beta_grad_norm: list[list[float | None]]
    gamma_norm: list[list[float | None]]


class Theory(TypedDict):
    """The mean-field prediction for a network (``core.theory.predict``); None: not finite.

    Profiles run over layers ``0 .. depth`` (the output layer last), in log10
    relative to layer ``depth - 1``.
    """

    activation: str
    init: str
    depth: int
    init_gain: float
    bias_std: float
    #: False when no theory here covers the network (batch norm inside residual blocks).
    applies: bool
    #: Which theory made the profiles.
    method: TheoryMethod
    #: What the theory assumed, or why it does not apply; None for the plain network.
    note: str | None
    #: fan_in Var[W] of the hidden-to-hidden weights (init_gain^2 times the initialiser's).
    sigma_w2: float
    #: bias_std^2.
    sigma_b2: float
    sigma_w2_per_layer: list[float]
    q_star: float | None
    #: sigma_w^2 E[phi'(sqrt(q*) z)^2], the limit as q -> q* (ReLU at q* = 0: sigma_w^2 / 2).
    chi_1: float | None
    factor_per_layer: float | None
    #: Depth scale of q's approach to q*: -1 / ln(dq_{l+1}/dq_l at q*); None if infinite.
    xi_q: float | None
    #: Depth scale of the gradient: 1 / |ln chi_1| (-1/ln chi_1 when ordered); None if infinite.
    xi_c: float | None
    phase: Phase
    q_per_layer: list[float | None]
    layer_factors: list[float | None]
    backprop_ratio_log10: float | None
    backprop_profile_log10: list[float | None]
    gradient_ratio_log10: float | None
    grad_profile_log10: list[float | None]
    batch_norm_rate: float
    batch_norm_factor_per_layer: float
    #: With batch norm only: that theory's profile and ratio.
    batch_norm_profile_log10: NotRequired[list[float | None]]
    batch_norm_ratio_log10: NotRequired[float | None]


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
    #: The mean-field prediction for this network; absent while running.
    theory: NotRequired[Theory]


class ProgressDict(TypedDict):
    step: int
    total_steps: int
    epoch: int
    fraction: float


@dataclass(frozen=True)
class Progress:
    """Where a run stands; ``fraction`` is ``step / total_steps``."""

    step: int
    total_steps: int
    epoch: int
    fraction: float

    def to_dict(self) -> ProgressDict:
        return {
            "step": self.step,
            "total_steps": self.total_steps,
            "epoch": self.epoch,
            "fraction": self.fraction,
        }


@overload
def json_safe(x: float) -> float | None: ...
@overload
def json_safe(x: object) -> Any: ...
def json_safe(x: object) -> Any:
    """``x`` with every non-finite float, at any depth, replaced by None (JSON has no NaN).

    The one rule from numbers to JSON; ``core.run_result`` applies it to arrays, and
    ``core.run_result.nan_array`` is its inverse.
    """
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {k: json_safe(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [json_safe(v) for v in x]
    return x
