"""The views that list figures with their captions, and the activations described."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, with_config

# Not typing's: pydantic validates only typing_extensions.TypedDict before Python 3.12.
from typing_extensions import TypedDict

from core.views.examples import EXAMPLE_ID, exact
from core.views.names import PLOT_FORMATS, ActivationPlotName, PlotFormat, PlotName, SweepPlotName

# --- figures ------------------------------------------------------------------------------

_PLOT_INFO_EXAMPLE: dict[str, Any] = {
    "name": "gradient-profile",
    "title": "Gradient profile",
    "caption": "log10 of the weight-gradient norm (top) and of the back-propagated norm "
    "(bottom) against layer ...",
    "urls": {f: f"/v1/experiments/{EXAMPLE_ID}/plots/gradient-profile.{f}" for f in PLOT_FORMATS},
}


@with_config(exact(_PLOT_INFO_EXAMPLE))
class PlotInfo(TypedDict):
    """One figure: its name, what it is called, how to read it, and where to get it."""

    name: PlotName
    title: str
    caption: Annotated[str, Field(description="What is drawn and how to read it.")]
    urls: Annotated[
        dict[PlotFormat, str],
        Field(description="The figure in each format; add `?scale=auto` to zoom to this run."),
    ]


@with_config(exact({"experiment_id": EXAMPLE_ID, "plots": [_PLOT_INFO_EXAMPLE]}))
class PlotList(TypedDict):
    """``GET /v1/experiments/{id}/plots``: every figure of an experiment, with its caption."""

    experiment_id: str
    plots: list[PlotInfo]


_SWEEP_PLOT_INFO_EXAMPLE: dict[str, Any] = {
    "name": "ratio-vs-depth",
    "title": "Gradient ratio against depth",
    "caption": "The step-0 log10 ratio of the input layer's gradient to the last hidden "
    "layer's, against depth ...",
    "urls": {f: f"/v1/sweeps/{EXAMPLE_ID}/plots/ratio-vs-depth.{f}" for f in PLOT_FORMATS},
}


@with_config(exact(_SWEEP_PLOT_INFO_EXAMPLE))
class SweepPlotInfo(TypedDict):
    """One figure of a sweep, as ``PlotInfo`` is one of an experiment."""

    name: SweepPlotName
    title: str
    caption: Annotated[str, Field(description="What is drawn and how to read it.")]
    urls: Annotated[dict[PlotFormat, str], Field(description="The figure in each format.")]


@with_config(exact({"sweep_id": EXAMPLE_ID, "plots": [_SWEEP_PLOT_INFO_EXAMPLE]}))
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


@with_config(exact())
class Activations(TypedDict):
    """``GET /v1/activations``: every activation and a link to their derivatives' plot."""

    activations: list[ActivationInfo]
    flat_threshold: Annotated[float, Field(description="|phi'| below this counts as flat.")]
    links: dict[ActivationPlotName, str]
