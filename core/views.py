"""The wire shapes: every JSON view the API serves and the client reads, declared once.

Each view is a ``TypedDict``: the API's builders return them (so mypy checks
every key), the routes name them as ``response_model`` (so ``/openapi.json``
describes what is served) and the client can return them as they are. The
statuses and plot names are ``Literal`` types with their tuples derived from
them. docs/contract.md § HTTP API is the prose of the same shapes.

No NumPy or matplotlib here: the API imports this module at startup.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, NotRequired, get_args

from pydantic import ConfigDict, Field, GetPydanticSchema, with_config
from pydantic_core import core_schema

# Not typing's: pydantic validates only typing_extensions.TypedDict before Python 3.12.
from typing_extensions import TypedDict

from core.errors import FieldErrorJSON
from core.result import Diagnosis, Summary
from core.spec import ExperimentSpec

__all__ = [
    "COMPARE_PLOT_NAMES",
    "EXPERIMENT_EXAMPLE",
    "FINAL_STATUSES",
    "PLOT_FORMATS",
    "PLOT_NAMES",
    "PLOT_SCALES",
    "PROBLEM_EXAMPLE",
    "STATUSES",
    "SWEEP_EXAMPLE",
    "SWEEP_ITEM_EXAMPLE",
    "SWEEP_PLOT_NAMES",
    "SWEEP_ROW_EXAMPLE",
    "SWEEP_STATUSES",
    "ActivationInfo",
    "ActivationPlotName",
    "Activations",
    "ChildStatus",
    "ComparePlotName",
    "ExperimentLinks",
    "ExperimentPage",
    "ExperimentView",
    "FinalStatus",
    "Liveness",
    "PlotFormat",
    "PlotInfo",
    "PlotList",
    "PlotName",
    "PlotScale",
    "ProblemView",
    "ProgressView",
    "Readiness",
    "SpecJSON",
    "Status",
    "SweepHead",
    "SweepLinks",
    "SweepListItem",
    "SweepPage",
    "SweepPlotInfo",
    "SweepPlotList",
    "SweepPlotName",
    "SweepRow",
    "SweepStatus",
    "SweepView",
]

# --- statuses ---------------------------------------------------------------------------

#: How an experiment ended; a record in one of these never changes again.
FinalStatus = Literal["succeeded", "failed", "cancelled"]
#: An experiment's life: queued -> running -> succeeded | failed | cancelled.
Status = Literal["queued", "running", FinalStatus]
STATUSES: tuple[Status, ...] = get_args(Status)
FINAL_STATUSES: frozenset[FinalStatus] = frozenset(get_args(FinalStatus))
#: A sweep's: its children's common status, or ``mixed`` when they ended differently.
SweepStatus = Literal[Status, "mixed"]
SWEEP_STATUSES: tuple[SweepStatus, ...] = get_args(SweepStatus)
#: A sweep's child: its experiment's status, or ``expired`` once the record is gone.
ChildStatus = Literal[Status, "expired"]

# --- plot names -------------------------------------------------------------------------

#: The formats every figure is served in (``NAME.png``, ``NAME.svg``, ``NAME.pdf``).
PlotFormat = Literal["png", "svg", "pdf"]
PLOT_FORMATS: tuple[PlotFormat, ...] = get_args(PlotFormat)
#: ``?scale=``: ``absolute`` (fixed ranges, so two runs compare side by side) or ``auto``
#: (zoomed to this run's numbers).
PlotScale = Literal["absolute", "auto"]
PLOT_SCALES: tuple[PlotScale, ...] = get_args(PlotScale)
#: ``GET /v1/experiments/{id}/plots/{name}.{png,svg,pdf}``.
PlotName = Literal[
    "gradient-profile",
    "gradient-heatmap",
    "training-curves",
    "activations",
    "update-ratio",
    "gradient-histograms",
]
PLOT_NAMES: tuple[PlotName, ...] = get_args(PlotName)
#: ``GET /v1/sweeps/{id}/plots/{name}.{png,svg,pdf}``.
SweepPlotName = Literal["gradient-profiles", "ratio-vs-depth", "phase-diagram"]
SWEEP_PLOT_NAMES: tuple[SweepPlotName, ...] = get_args(SweepPlotName)
#: ``GET /v1/compare/plots/{name}.{png,svg}``.
ComparePlotName = Literal["gradient-profile"]
COMPARE_PLOT_NAMES: tuple[ComparePlotName, ...] = get_args(ComparePlotName)
#: ``GET /v1/activations/plots/{name}.{png,svg}``.
ActivationPlotName = Literal["derivatives"]


def _spec_schema(_source: Any, handler: Any) -> core_schema.CoreSchema:
    # Validated and documented as an ExperimentSpec, kept as the JSON dict it is on the wire.
    spec = handler(ExperimentSpec)
    return core_schema.no_info_after_validator_function(
        lambda s: s.model_dump(mode="json"),
        spec,
        serialization=core_schema.plain_serializer_function_ser_schema(
            lambda d: d, return_schema=spec
        ),
    )


#: An experiment spec as JSON (docs/contract.md § Spec): every field, defaults filled in.
SpecJSON = Annotated[dict[str, Any], GetPydanticSchema(_spec_schema)]

# --- examples ---------------------------------------------------------------------------

_ID = "0193a1f2c3d4a1b2c3d4e5f6"
_CHILD = "0193a1f2c3d4a1b2c3d4e5f7"
_SPEC_EXAMPLE = ExperimentSpec.model_validate(
    {
        "name": "sigmoid-20",
        "model": {"depth": 20, "width": 256, "activation": "sigmoid", "init": "xavier_normal"},
        "data": {"dataset": "spiral", "n_samples": 2000, "noise": 0.2},
        "training": {"optimizer": "sgd", "learning_rate": 0.05, "batch_size": 64, "epochs": 20},
        "recording": {"every_steps": 10},
    }
).model_dump(mode="json")
_PROGRESS_EXAMPLE = {"step": 500, "total_steps": 500 * 4, "epoch": 5, "fraction": 0.25}
EXPERIMENT_EXAMPLE: dict[str, Any] = {
    "id": _ID,
    "status": "running",
    "spec": _SPEC_EXAMPLE,
    "progress": _PROGRESS_EXAMPLE,
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
        "self": f"/v1/experiments/{_ID}",
        "stats": f"/v1/experiments/{_ID}/stats",
        "cancel": f"/v1/experiments/{_ID}/cancel",
        "plots": {n: f"/v1/experiments/{_ID}/plots/{n}.png" for n in PLOT_NAMES},
    },
}
SWEEP_ROW_EXAMPLE: dict[str, Any] = {
    "id": _CHILD,
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
    "id": _ID,
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
        "self": f"/v1/sweeps/{_ID}",
        "cancel": f"/v1/sweeps/{_ID}/cancel",
        "plots": {n: f"/v1/sweeps/{_ID}/plots/{n}.png" for n in SWEEP_PLOT_NAMES},
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


def _exact(*examples: Any) -> ConfigDict:
    # A view says exactly what is served: a key its declaration lacks fails validation.
    extra: list[Any] = list(examples)
    return ConfigDict(extra="forbid", json_schema_extra={"examples": extra} if extra else None)


# --- experiments ------------------------------------------------------------------------


@with_config(_exact(_PROGRESS_EXAMPLE))
class ProgressView(TypedDict):
    """Where a run stands; ``fraction`` is ``step / total_steps``."""

    step: int
    total_steps: int
    epoch: int
    fraction: Annotated[float, Field(ge=0, le=1)]


@with_config(_exact())
class ExperimentLinks(TypedDict):
    self: str
    stats: str
    cancel: str
    plots: Annotated[
        dict[PlotName, str],
        Field(description="Each figure, as PNG (captions: `GET .../plots`)."),
    ]


@with_config(_exact(EXPERIMENT_EXAMPLE))
class ExperimentView(TypedDict):
    """One experiment: where it stands and how it ended."""

    id: str
    status: Status
    spec: SpecJSON
    progress: ProgressView
    created_at: Annotated[str, Field(description="ISO 8601, UTC.")]
    started_at: str | None
    finished_at: str | None
    attempts: Annotated[
        int, Field(description="Deliveries to a worker (more than 1: a worker died).")
    ]
    owner: Annotated[
        str | None, Field(description="The X-Gradatlas-Owner header it was submitted with.")
    ]
    cancel_requested: bool
    summary: Annotated[
        Summary | None,
        Field(description="docs/contract.md § Result `summary`; null until it has finished."),
    ]
    diagnosis: Annotated[
        Diagnosis | None,
        Field(description="Verdict, evidence and remedies; null until it has finished."),
    ]
    error: Annotated[str | None, Field(description="Why it failed, for a person.")]
    meta: Annotated[
        dict[str, str],
        Field(
            description='Where it came from: {"derived_from": id, "remedy": k} or {"sweep": id}.'
        ),
    ]
    links: ExperimentLinks


@with_config(_exact({"items": [EXPERIMENT_EXAMPLE], "next_cursor": _ID}))
class ExperimentPage(TypedDict):
    """A page of experiments, newest first."""

    items: list[ExperimentView]
    next_cursor: Annotated[
        str | None, Field(description="Pass as `cursor` for the next page; null at the end.")
    ]


# --- sweeps -----------------------------------------------------------------------------


@with_config(_exact(SWEEP_ROW_EXAMPLE))
class SweepRow(TypedDict):
    """One child: its values, where it stands, and its numbers once finished."""

    id: str
    params: Annotated[dict[str, Any], Field(description="The grid's value of each path.")]
    status: ChildStatus
    progress: Annotated[float, Field(ge=0, le=1)]
    gradient_ratio_log10: Annotated[
        float | None, Field(description="As `weight_grad_ratio_log10` (the older name).")
    ]
    backprop_ratio_log10: Annotated[
        float | None,
        Field(
            description="log10 of the back-propagated norm ||dL/dz|| at layer 0 over the "
            "last hidden layer, at step 0 (below 0: vanishing toward the input)."
        ),
    ]
    decay_per_layer: Annotated[
        float | None, Field(description="As `weight_grad_decay_per_layer` (the older name).")
    ]
    weight_grad_ratio_log10: Annotated[
        float | None,
        Field(
            description="log10 of the weight-gradient norm ||dL/dW|| of layer 0 over the "
            "last hidden layer, at step 0."
        ),
    ]
    weight_grad_decay_per_layer: Annotated[
        float | None,
        Field(
            description="Factor per layer of the weight-gradient norm toward the input, "
            "from a least-squares line at step 0 (below 1: shrinking)."
        ),
    ]
    backprop_decay_per_layer: Annotated[
        float | None,
        Field(description="The same factor for the back-propagated norm ||dL/dz||."),
    ]
    final_val_accuracy: Annotated[float | None, Field(description="At the last epoch.")]
    verdict: Annotated[str | None, Field(description="The diagnosis' verdict.")]
    error: Annotated[str | None, Field(description="Why the child failed.")]


@with_config(_exact())
class SweepLinks(TypedDict):
    self: str
    cancel: str
    plots: Annotated[dict[SweepPlotName, str], Field(description="Each figure, as PNG.")]


@with_config(_exact())
class SweepHead(TypedDict):
    """What a sweep and a sweep in a list share."""

    id: str
    name: str
    status: SweepStatus
    progress: Annotated[
        float, Field(ge=0, le=1, description="Mean child progress; final ones count 1.")
    ]
    created_at: Annotated[str | None, Field(description="ISO 8601, UTC.")]
    owner: str | None
    base: Annotated[dict[str, Any], Field(description="The spec every child shares.")]
    grid: Annotated[dict[str, list[Any]], Field(description="Each path's values.")]
    counts: Annotated[dict[ChildStatus, int], Field(description="Children by status.")]
    links: SweepLinks


@with_config(_exact(SWEEP_EXAMPLE))
class SweepView(SweepHead):
    """A sweep: its status and progress read from its children, and the summary table."""

    children: Annotated[list[SweepRow], Field(description="The summary table, one row per child.")]


@with_config(_exact(SWEEP_ITEM_EXAMPLE))
class SweepListItem(SweepHead):
    """A sweep in a list: as ``SweepView``, with the number of children for the table."""

    children_count: int


@with_config(_exact({"items": [SWEEP_ITEM_EXAMPLE], "next_cursor": None}))
class SweepPage(TypedDict):
    """A page of sweeps, newest first (each without its table)."""

    items: list[SweepListItem]
    next_cursor: str | None


# --- figures ------------------------------------------------------------------------------

_PLOT_INFO_EXAMPLE: dict[str, Any] = {
    "name": "gradient-profile",
    "title": "Gradient profile",
    "caption": "log10 of the weight-gradient norm (top) and of the back-propagated norm "
    "(bottom) against layer ...",
    "urls": {f: f"/v1/experiments/{_ID}/plots/gradient-profile.{f}" for f in PLOT_FORMATS},
}


@with_config(_exact(_PLOT_INFO_EXAMPLE))
class PlotInfo(TypedDict):
    """One figure: its name, what it is called, how to read it, and where to get it."""

    name: PlotName
    title: str
    caption: Annotated[str, Field(description="What is drawn and how to read it.")]
    urls: Annotated[
        dict[PlotFormat, str],
        Field(description="The figure in each format; add `?scale=auto` to zoom to this run."),
    ]


@with_config(_exact({"experiment_id": _ID, "plots": [_PLOT_INFO_EXAMPLE]}))
class PlotList(TypedDict):
    """``GET /v1/experiments/{id}/plots``: every figure of an experiment, with its caption."""

    experiment_id: str
    plots: list[PlotInfo]


_SWEEP_PLOT_INFO_EXAMPLE: dict[str, Any] = {
    "name": "ratio-vs-depth",
    "title": "Gradient ratio against depth",
    "caption": "The step-0 log10 ratio of the input layer's gradient to the last hidden "
    "layer's, against depth ...",
    "urls": {f: f"/v1/sweeps/{_ID}/plots/ratio-vs-depth.{f}" for f in PLOT_FORMATS},
}


@with_config(_exact(_SWEEP_PLOT_INFO_EXAMPLE))
class SweepPlotInfo(TypedDict):
    """One figure of a sweep, as ``PlotInfo`` is one of an experiment."""

    name: SweepPlotName
    title: str
    caption: Annotated[str, Field(description="What is drawn and how to read it.")]
    urls: Annotated[dict[PlotFormat, str], Field(description="The figure in each format.")]


@with_config(_exact({"sweep_id": _ID, "plots": [_SWEEP_PLOT_INFO_EXAMPLE]}))
class SweepPlotList(TypedDict):
    """``GET /v1/sweeps/{id}/plots``: every figure of a sweep, with its caption."""

    sweep_id: str
    plots: list[SweepPlotInfo]


# --- activations --------------------------------------------------------------------------


class ActivationInfo(TypedDict):
    """One activation as ``GET /v1/activations`` describes it."""

    name: str
    formula: str
    derivative: str
    derivative_max: float
    #: None where the maximum is a plateau (ReLU, leaky ReLU, linear).
    derivative_max_at: float | None
    derivative_at_0: float
    flat_threshold: float
    #: [low, high] intervals where |phi'| < flat_threshold; None for an unbounded end.
    flat_ranges: list[list[float | None]]
    batch_norm_rate: float


@with_config(_exact())
class Activations(TypedDict):
    """``GET /v1/activations``: every activation and a link to their derivatives' plot."""

    activations: list[ActivationInfo]
    flat_threshold: Annotated[float, Field(description="|phi'| below this counts as flat.")]
    links: dict[ActivationPlotName, str]


# --- problems and health ----------------------------------------------------------------


@with_config(ConfigDict(extra="allow", json_schema_extra={"examples": [dict(PROBLEM_EXAMPLE)]}))
class ProblemView(TypedDict):
    """Every error: RFC 9457 ``application/problem+json``, with members of its own."""

    type: Annotated[str, Field(description="A URN naming the kind of problem.")]
    title: str
    status: int
    detail: Annotated[str, Field(description="What happened and what to do, for a person.")]
    instance: NotRequired[Annotated[str, Field(description="The path that was asked for.")]]
    errors: NotRequired[
        Annotated[list[FieldErrorJSON], Field(description="A 422's bad fields, one entry each.")]
    ]


@with_config(_exact())
class Liveness(TypedDict):
    status: Literal["ok"]


@with_config(_exact())
class Readiness(TypedDict):
    status: Literal["ready"]
    redis: Literal["ok"]
    workers: Annotated[int, Field(ge=1, description="Workers with a fresh heartbeat.")]
