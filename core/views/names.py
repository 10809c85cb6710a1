"""The statuses and the figure names: ``Literal`` types, their tuples derived from them."""

from __future__ import annotations

from typing import Literal, get_args

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
