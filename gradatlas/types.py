"""The shapes of the service's JSON answers, as the client returns them (docs/contract.md).

Only shapes live here: the client casts the decoded JSON to them and checks
nothing, so a client one version behind the service still reads what it gets.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict

from core.result import Diagnosis, ResultDict, Summary

Status = Literal["queued", "running", "succeeded", "failed", "cancelled"]
SweepStatus = Literal["queued", "running", "succeeded", "failed", "cancelled", "mixed"]
ImageFormat = Literal["png", "svg"]
FINAL: frozenset[str] = frozenset({"succeeded", "failed", "cancelled"})
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
    "SweepPage",
    "SweepRow",
    "SweepStatus",
    "Theory",
]


class ProgressInfo(TypedDict):
    step: int
    total_steps: int
    epoch: int
    fraction: float


class Experiment(TypedDict):
    """``GET /v1/experiments/{id}`` (docs/contract.md § HTTP API)."""

    id: str
    status: Status
    spec: dict[str, Any]
    progress: ProgressInfo
    created_at: str
    started_at: str | None
    finished_at: str | None
    attempts: int
    owner: str | None
    cancel_requested: bool
    summary: Summary | None
    diagnosis: Diagnosis | None
    error: str | None
    #: Where it came from: ``{"derived_from": id, "remedy": k}`` or ``{"sweep": id}``.
    meta: dict[str, str]
    links: dict[str, Any]


class Page(TypedDict):
    items: list[Experiment]
    next_cursor: str | None


class SweepRow(TypedDict):
    """One child of a sweep; its numbers are null until it has finished."""

    id: str
    params: dict[str, Any]
    status: str
    progress: float
    gradient_ratio_log10: float | None
    backprop_ratio_log10: float | None
    decay_per_layer: float | None
    final_val_accuracy: float | None
    verdict: str | None
    error: str | None


class Sweep(TypedDict):
    """``GET /v1/sweeps/{id}`` (docs/insight.md, "Sweeps")."""

    id: str
    name: str
    status: SweepStatus
    progress: float
    created_at: str | None
    owner: str | None
    base: dict[str, Any]
    grid: dict[str, list[Any]]
    counts: dict[str, int]
    #: Absent from the items of ``GET /v1/sweeps`` (the list leaves the table out).
    children: list[SweepRow]
    links: dict[str, Any]


class SweepPage(TypedDict):
    items: list[Sweep]
    next_cursor: str | None


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


class ProblemField(TypedDict):
    """One bad field of a 422 problem."""

    field: str
    message: str
    limit: NotRequired[dict[str, float]]
    allowed: NotRequired[list[str]]
    input: NotRequired[Any]
    # And "in" (query, path or header) for a field outside the body: a Python keyword,
    # so it cannot be declared here; read it with entry.get("in").


class Problem(TypedDict, total=False):
    """An RFC 9457 ``application/problem+json`` body; the service may add members."""

    type: str
    title: str
    status: int
    detail: str
    instance: str
    errors: list[ProblemField]
