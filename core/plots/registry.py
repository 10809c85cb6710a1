"""The plots by name, and rendering them to bytes.

Results arrive as JSON (``ResultDict``, say from the store) or as arrays
(``RunResult``); JSON is converted once, here, before any figure reads it.
Every render names its figure's title and caption (``captions``), which an SVG
carries as ``<title>`` and ``<desc>``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

from matplotlib.figure import Figure

from core.errors import NotFound
from core.plots import activations as _activations
from core.plots import captions
from core.plots import experiment as _experiment
from core.plots import histograms as _histograms
from core.plots import phase as _phase
from core.plots import sweep as _sweep
from core.plots import units as _units
from core.plots import updates as _updates
from core.plots._style import Format, Scale, check_format, check_scale, to_bytes
from core.plots.sweep import SweepRun
from core.result import ResultDict, Theory
from core.run_result import RunResult, as_run_result
from core.views import PlotName, SweepPlotName

ExperimentPlot = Callable[[RunResult, Theory | None, Scale], Figure]
SweepPlot = Callable[[Sequence[SweepRun], Scale], Figure]

#: The plots of one experiment, by ``core.views.PlotName`` (docs/contract.md § HTTP API).
PLOTS: dict[PlotName, ExperimentPlot] = {
    "gradient-profile": _experiment.gradient_profile,
    "gradient-heatmap": _experiment.gradient_heatmap,
    "training-curves": _experiment.training_curves,
    "activations": _units.activations,
    "update-ratio": _updates.update_ratio,
    "gradient-histograms": _histograms.gradient_histograms,
}

#: The plots of a sweep (``GET /v1/sweeps/{id}/plots/{name}.{png,svg,pdf}``).
SWEEP_PLOTS: dict[SweepPlotName, SweepPlot] = {
    "gradient-profiles": _sweep.sweep_profiles,
    "ratio-vs-depth": _sweep.ratio_vs_depth,
    "phase-diagram": _phase.phase_diagram,
}


K = TypeVar("K", bound=str)
P = TypeVar("P")


def _lookup(registry: Mapping[K, P], name: str, what: str) -> tuple[K, P]:
    for key, plot in registry.items():
        if key == name:
            return key, plot
    raise NotFound(f"no {what} plot named {name!r}; there are: {', '.join(registry)}")


def render(
    name: str,
    result: ResultDict | RunResult,
    fmt: Format | str,
    theory: Theory | None = None,
    scale: Scale | str = "absolute",
) -> bytes:
    """The experiment plot ``name`` of ``result`` as PNG, SVG or PDF bytes.

    ``theory`` is ``core.theory.predict(spec)`` (or the result's own): the gradient
    profile then draws the predicted line beside the measured ones, and the
    activations figure the activation's largest derivative; neither is drawn
    without it. ``scale`` is ``absolute`` (fixed ranges, comparable between runs)
    or ``auto`` (zoomed to this run). Raises NotFound for an unknown name, format
    or scale.
    """
    key, plot = _lookup(PLOTS, name, "experiment")
    check_format(fmt)
    check_scale(scale)
    text = captions.EXPERIMENT[key]
    figure = plot(as_run_result(result), theory, "auto" if scale == "auto" else "absolute")
    return to_bytes(figure, fmt, text.title, text.caption)


def render_compare(
    results: Sequence[tuple[str, ResultDict | RunResult]],
    fmt: Format | str,
    scale: Scale | str = "absolute",
) -> bytes:
    """Step-0 gradient profiles of several experiments overlaid, each with its label."""
    check_format(fmt)
    check_scale(scale)
    text = captions.COMPARE["gradient-profile"]
    figure = _sweep.compare(results, "auto" if scale == "auto" else "absolute")
    return to_bytes(figure, fmt, text.title, text.caption)


def render_sweep(
    name: str, runs: Sequence[SweepRun], fmt: Format | str, scale: Scale | str = "absolute"
) -> bytes:
    """The sweep plot ``name`` over ``(spec, result or None)`` pairs."""
    key, plot = _lookup(SWEEP_PLOTS, name, "sweep")
    check_format(fmt)
    check_scale(scale)
    text = captions.SWEEP[key]
    return to_bytes(
        plot(runs, "auto" if scale == "auto" else "absolute"), fmt, text.title, text.caption
    )


def render_derivatives(
    names: Sequence[str],
    fmt: Format | str,
    x_range: tuple[float, float] = (-6.0, 6.0),
    negative_slope: float = 0.01,
) -> bytes:
    """Activations and their derivatives over ``x_range``; SpecError for bad arguments."""
    check_format(fmt)
    text = captions.DERIVATIVES
    figure = _activations.derivatives(names, x_range, negative_slope)
    return to_bytes(figure, fmt, text.title, text.caption)
