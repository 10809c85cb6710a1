"""The shapes of the service's JSON answers, as the client returns them (docs/contract.md).

The experiment, sweep and problem shapes are the service's own (``core.views``),
under the client's names. The client casts the decoded JSON to them and checks
nothing, so a client one version behind the service still reads what it gets.
"""

from __future__ import annotations

from typing import Literal, TypedDict

from core.errors import FieldErrorJSON as ProblemField
from core.result import Diagnosis, ResultDict, Summary
from core.views import FINAL_STATUSES as FINAL
from core.views import ExperimentPage as Page
from core.views import ExperimentView as Experiment
from core.views import ProblemView as Problem
from core.views import ProgressView as ProgressInfo
from core.views import (
    Status,
    SweepListItem,
    SweepPage,
    SweepRow,
    SweepStatus,
)
from core.views import SweepView as Sweep

ImageFormat = Literal["png", "svg"]
#: A sweep whose children ended differently is ``mixed``, and final too.
SWEEP_FINAL: frozenset[str] = FINAL | {"mixed"}

__all__ = [
    "FINAL",
    "SWEEP_FINAL",
    "ActivationInfo",
    "Activations",
    "Diagnosis",
    "Experiment",
    "ImageFormat",
    "Page",
    "Problem",
    "ProblemField",
    "ProgressInfo",
    "ResultDict",
    "Status",
    "Summary",
    "Sweep",
    "SweepListItem",
    "SweepPage",
    "SweepRow",
    "SweepStatus",
    "Theory",
]


class Theory(TypedDict):
    """``GET /v1/theory``: the mean-field prediction (docs/insight.md)."""

    activation: str
    init: str
    depth: int
    #: False with batch norm or residual blocks; ``note`` says why.
    applies: bool
    note: str | None
    sigma_w2: float | None
    q_star: float | None
    chi_1: float | None
    factor_per_layer: float | None
    backprop_ratio_log10: float | None
    gradient_ratio_log10: float | None
    backprop_profile_log10: list[float | None] | None
    batch_norm_rate: float | None
    batch_norm_factor_per_layer: float | None


class ActivationInfo(TypedDict):
    name: str
    formula: str
    derivative: str
    derivative_max: float
    derivative_max_at: float | None
    derivative_at_0: float
    flat_threshold: float
    #: ``[lo, hi]`` stretches where abs(phi') < flat_threshold; null for an unbounded end.
    flat_ranges: list[list[float | None]]
    batch_norm_rate: float


class Activations(TypedDict):
    """``GET /v1/activations``."""

    activations: list[ActivationInfo]
    flat_threshold: float
    links: dict[str, str]
