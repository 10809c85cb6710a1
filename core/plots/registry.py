"""The plots by name, and rendering them to bytes.

Results arrive as JSON (``ResultDict``, say from the store) or as arrays
(``RunResult``); JSON is converted once, here, before any figure reads it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

from matplotlib.figure import Figure

from core.errors import NotFound
from core.plots import activations as _activations
from core.plots import experiment as _experiment
from core.plots import sweep as _sweep
from core.plots._style import FORMATS, Format, to_bytes
from core.plots.sweep import SweepRun
from core.result import ResultDict, Theory
from core.run_result import RunResult, as_run_result

ExperimentPlot = Callable[[RunResult, Theory | None], Figure]
SweepPlot = Callable[[Sequence[SweepRun]], Figure]

#: The plots of one experiment, by the names of docs/contract.md § HTTP API.
PLOTS: dict[str, ExperimentPlot] = {
    "gradient-profile": _experiment.gradient_profile,
    "gradient-heatmap": _experiment.gradient_heatmap,
    "training-curves": _experiment.training_curves,
    "activations": _experiment.activations,
    "update-ratio": _experiment.update_ratio,
}

#: The plots of a sweep (``GET /v1/sweeps/{id}/plots/{name}.{png,svg}``).
SWEEP_PLOTS: dict[str, SweepPlot] = {
    "gradient-profiles": _sweep.sweep_profiles,
    "ratio-vs-depth": _sweep.ratio_vs_depth,
}


P = TypeVar("P")


def _lookup(registry: Mapping[str, P], name: str, what: str) -> P:
    if name not in registry:
        raise NotFound(f"no {what} plot named {name!r}; there are: {', '.join(registry)}")
    return registry[name]


def _check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise NotFound(f"no plot format {fmt!r}; use png or svg")


def render(
    name: str,
    result: ResultDict | RunResult,
    fmt: Format | str,
    theory: Theory | None = None,
) -> bytes:
    """The experiment plot ``name`` of ``result`` as PNG or SVG bytes.

    ``theory`` is ``core.theory.predict(spec)`` (or the result's own): the gradient
    profile then draws the predicted line beside the measured ones; it is drawn
    only when given. Raises NotFound for an unknown name or format.
    """
    plot = _lookup(PLOTS, name, "experiment")
    _check_format(fmt)
    return to_bytes(plot(as_run_result(result), theory), fmt)


def render_compare(
    results: Sequence[tuple[str, ResultDict | RunResult]], fmt: Format | str
) -> bytes:
    """Step-0 gradient profiles of several experiments overlaid, each with its label."""
    _check_format(fmt)
    return to_bytes(_sweep.compare(results), fmt)


def render_sweep(name: str, runs: Sequence[SweepRun], fmt: Format | str) -> bytes:
    """The sweep plot ``name`` over ``(spec, result or None)`` pairs."""
    plot = _lookup(SWEEP_PLOTS, name, "sweep")
    _check_format(fmt)
    return to_bytes(plot(runs), fmt)


def render_derivatives(
    names: Sequence[str],
    fmt: Format | str,
    x_range: tuple[float, float] = (-6.0, 6.0),
    negative_slope: float = 0.01,
) -> bytes:
    """Activations and their derivatives over ``x_range``; SpecError for bad arguments."""
    _check_format(fmt)
    return to_bytes(_activations.derivatives(names, x_range, negative_slope), fmt)
