"""Figures of experiments, comparisons and sweeps, rendered to PNG or SVG bytes.

``render(name, result, fmt, theory, scale)`` draws one of the contract's plots
of an experiment (``PLOTS``); ``render_sweep`` one of a sweep's (``SWEEP_PLOTS``);
``render_compare`` overlays several experiments; ``render_derivatives`` is the
activation demo (all in ``registry``). Every figure is 800 pixels wide
(``_style.WIDTH_IN`` at ``_style.DPI``) and the same data gives the same bytes.
Rendering is CPU work: call it from a worker thread or process, never on an
event loop. ``captions`` holds each figure's title and caption.
"""

from core.plots import captions, sweep
from core.plots._style import DPI, FORMATS, MEDIA_TYPES, SCALES, WIDTH_IN, Format, Scale
from core.plots.activations import check_derivative_args
from core.plots.registry import (
    PLOTS,
    SWEEP_PLOTS,
    ExperimentPlot,
    SweepPlot,
    render,
    render_compare,
    render_derivatives,
    render_sweep,
)
from core.plots.sweep import SweepRun

__all__ = [
    "DPI",
    "FORMATS",
    "MEDIA_TYPES",
    "PLOTS",
    "SCALES",
    "SWEEP_PLOTS",
    "WIDTH_IN",
    "ExperimentPlot",
    "Format",
    "Scale",
    "SweepPlot",
    "SweepRun",
    "captions",
    "check_derivative_args",
    "render",
    "render_compare",
    "render_derivatives",
    "render_sweep",
    "sweep",
]
