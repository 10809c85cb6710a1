"""Figures of experiments, comparisons and sweeps, rendered to PNG or SVG bytes.

``render(name, result, fmt)`` draws one of the contract's plots of an
experiment (``PLOTS``); ``render_sweep`` one of a sweep's (``SWEEP_PLOTS``);
``render_compare`` overlays several experiments; ``render_derivatives`` is the
activation demo. Every figure is 800 pixels wide (``_style.WIDTH_IN`` at
``_style.DPI``) and the same data gives the same bytes. Rendering is CPU work:
call it from a worker thread or process, never on an event loop.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from matplotlib.figure import Figure

from core.errors import NotFound
from core.plots import activations as _activations
from core.plots import experiment as _experiment
from core.plots import sweep as _sweep
from core.plots._style import DPI, FORMATS, MEDIA_TYPES, WIDTH_IN, Format, to_bytes
from core.plots.activations import check_derivative_args
from core.plots.sweep import SweepChild
from core.result import ResultDict

__all__ = [
    "DPI",
    "FORMATS",
    "MEDIA_TYPES",
    "PLOTS",
    "SWEEP_PLOTS",
    "WIDTH_IN",
    "Format",
    "SweepChild",
    "check_derivative_args",
    "render",
    "render_compare",
    "render_derivatives",
    "render_sweep",
]

ExperimentPlot = Callable[[ResultDict, "dict[str, Any] | None"], Figure]

#: The plots of one experiment, by the names of docs/contract.md § HTTP API.
PLOTS: dict[str, ExperimentPlot] = {
    "gradient-profile": _experiment.gradient_profile,
    "gradient-heatmap": _experiment.gradient_heatmap,
    "training-curves": _experiment.training_curves,
    "activations": _experiment.activations,
    "update-ratio": _experiment.update_ratio,
}

#: The plots of a sweep (``GET /v1/sweeps/{id}/plots/{name}.{png,svg}``).
SWEEP_PLOTS: dict[str, Callable[[Sequence[SweepChild]], Figure]] = {
    "gradient-profiles": _sweep.sweep_profiles,
    "ratio-vs-depth": _sweep.ratio_vs_depth,
}


def _lookup(registry: dict[str, Any], name: str, what: str) -> Any:
    if name not in registry:
        raise NotFound(f"no {what} plot named {name!r}; there are: {', '.join(registry)}")
    return registry[name]


def _check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise NotFound(f"no plot format {fmt!r}; use png or svg")


def render(
    name: str, result: ResultDict, fmt: Format | str, theory: dict[str, Any] | None = None
) -> bytes:
    """The experiment plot ``name`` of ``result`` as PNG or SVG bytes.

    ``theory`` is ``core.theory.predict(spec)``: the gradient profile then draws
    the predicted line beside the measured ones. Raises NotFound for an unknown
    name or format.
    """
    plot = _lookup(PLOTS, name, "experiment")
    _check_format(fmt)
    return to_bytes(plot(result, theory), fmt)


def render_compare(results: Sequence[tuple[str, ResultDict]], fmt: Format | str) -> bytes:
    """Step-0 gradient profiles of several experiments overlaid, each with its label."""
    _check_format(fmt)
    return to_bytes(_sweep.compare(results), fmt)


def render_sweep(name: str, children: Sequence[SweepChild], fmt: Format | str) -> bytes:
    """The sweep plot ``name`` over ``(spec, result or None)`` pairs."""
    plot = _lookup(SWEEP_PLOTS, name, "sweep")
    _check_format(fmt)
    return to_bytes(plot(children), fmt)


def render_derivatives(
    names: Sequence[str],
    fmt: Format | str,
    x_range: tuple[float, float] = (-6.0, 6.0),
    negative_slope: float = 0.01,
) -> bytes:
    """Activations and their derivatives over ``x_range``; SpecError for bad arguments."""
    _check_format(fmt)
    return to_bytes(_activations.derivatives(names, x_range, negative_slope), fmt)
