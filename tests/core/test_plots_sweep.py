"""Plots over several experiments: comparisons, a sweep's profiles and ratios, and the
phase diagram over two grid axes with the theory's chi_1 = 1 line, from real tiny runs."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from typing import Any

import numpy as np
import pytest
from matplotlib.collections import QuadMesh
from matplotlib.figure import Figure
from matplotlib.image import imread
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

from core import plots
from core.plots import captions, phase
from core.result import ResultDict
from core.spec import ExperimentSpec
from core.train import run_experiment

WIDTH = 800
SVG_NS = "{http://www.w3.org/2000/svg}"
HEIGHTS = {"gradient-profiles": 640, "ratio-vs-depth": 500, "phase-diagram": 560}
Runs = list[tuple[ExperimentSpec, ResultDict | None]]


def tiny_spec(**model: Any) -> ExperimentSpec:
    return ExperimentSpec.model_validate(
        {
            "model": {"depth": 4, "width": 16, "activation": "tanh", **model},
            "data": {"dataset": "gaussian", "n_samples": 96, "n_features": 16},
            "training": {"epochs": 1, "batch_size": 32},
            "recording": {"every_steps": 2},
        }
    )


def grid(**axes: list[Any]) -> Runs:
    """A finished run per combination of ``axes`` (model fields), the last varying fastest."""
    (a, xs), (b, ys) = axes.items()
    specs = [tiny_spec(**{a: x, b: y}) for x in xs for y in ys]
    return [(s, run_experiment(s)) for s in specs]


def png_shape(data: bytes) -> tuple[int, ...]:
    return tuple(np.asarray(imread(io.BytesIO(data), format="png")).shape[:2])


@pytest.fixture(scope="module")
def init_by_depth() -> Runs:
    # tanh: "standard" weights are ordered (chi_1 = 1/3), N(0, 1) chaotic, Xavier critical.
    return grid(init=["normal", "standard", "xavier_normal"], depth=[6, 2])


def test_sweep_plots_group_by_what_varies() -> None:
    children: Runs = []
    for activation in ("sigmoid", "relu"):
        for depth in (2, 4, 6):
            init = "he_normal" if activation == "relu" else "xavier_normal"
            spec = tiny_spec(activation=activation, depth=depth, init=init)
            children.append((spec, run_experiment(spec)))
    children.append((tiny_spec(activation="tanh"), None))  # still running: left out
    labels = plots.sweep.group_labels([s for s, _ in children])
    assert labels[0] == "activation=sigmoid, init=xavier_normal"
    assert labels[3] == "activation=relu, init=he_normal"
    for name in plots.SWEEP_PLOTS:
        svg = plots.render_sweep(name, children, "svg")
        assert svg == plots.render_sweep(name, children, "svg")
        root = ET.fromstring(svg)
        assert float(root.attrib["height"].removesuffix("pt")) == pytest.approx(
            HEIGHTS[name] * 0.72
        )
        assert root.findtext(f"{SVG_NS}desc") == captions.SWEEP[name].caption
        assert png_shape(plots.render_sweep(name, children, "png")) == (HEIGHTS[name], WIDTH)
        assert plots.render_sweep(name, children, "pdf").startswith(b"%PDF-")
    empty = plots.render_sweep("ratio-vs-depth", [(tiny_spec(activation="relu"), None)], "png")
    assert png_shape(empty) == (500, WIDTH)


def test_compare_overlays_several_results() -> None:
    pairs = [(a, run_experiment(tiny_spec(activation=a))) for a in ("sigmoid", "relu")]
    assert png_shape(plots.render_compare(pairs, "png")) == (640, WIDTH)
    root = ET.fromstring(plots.render_compare(pairs, "svg"))
    assert root.findtext(f"{SVG_NS}desc") == captions.COMPARE["gradient-profile"].caption


def mesh_of(fig: Figure) -> QuadMesh:
    return next(c for c in fig.axes[0].collections if isinstance(c, QuadMesh))


def cells_of(fig: Figure) -> np.ma.MaskedArray[Any, Any]:
    cells = mesh_of(fig).get_array()
    assert cells is not None
    return np.ma.asarray(cells)


def xdata(line: Line2D) -> list[float]:
    return [float(x) for x in np.asarray(line.get_xdata())]


def edge_lines(fig: Figure) -> list[Line2D]:
    return [ln for ln in fig.axes[0].lines if ln.get_color() == "k"]


def test_phase_diagram_cells_are_the_measured_ratios_in_axis_order(init_by_depth: Runs) -> None:
    fig = phase.phase_diagram(init_by_depth)
    ax = fig.axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("model.init", "model.depth")
    # Categories keep the grid's order; numbers go up (depth was given 6, 2).
    assert [t.get_text() for t in ax.get_xticklabels()] == ["normal", "standard", "xavier_normal"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["2", "6"]
    cells = np.ma.filled(cells_of(fig), np.nan).reshape(2, 3)
    for spec, result in init_by_depth:
        assert result is not None
        i = ["normal", "standard", "xavier_normal"].index(spec.model.init)
        j = [2, 6].index(spec.model.depth)
        assert cells[j, i] == pytest.approx(result["summary"]["backprop_ratio_log10"])
    norm = mesh_of(fig).norm
    assert (norm.vmin, norm.vmax) == (-phase.PHASE_DECADES, phase.PHASE_DECADES)
    zoomed = mesh_of(phase.phase_diagram(init_by_depth, "auto")).norm
    assert zoomed.vmax == pytest.approx(np.nanmax(np.abs(cells)))


def test_phase_diagram_draws_the_edge_of_chaos_where_chi_1_crosses_1(init_by_depth: Runs) -> None:
    fig = phase.phase_diagram(init_by_depth)
    # normal (chaotic) | standard (ordered): one vertical segment per depth, half-way.
    lines = edge_lines(fig)
    assert len(lines) == 2
    for line in lines:
        assert xdata(line) == [0.5, 0.5]
    # Xavier on square tanh layers sits exactly on chi_1 = 1: outlined cells.
    outlined = [p for p in fig.axes[0].patches if isinstance(p, Rectangle) and not p.get_fill()]
    assert sorted(p.get_x() for p in outlined) == [1.5, 1.5]
    svg = plots.render_sweep("phase-diagram", init_by_depth, "svg")
    assert b"edge of chaos" in svg


def test_phase_diagram_interpolates_along_a_numeric_axis() -> None:
    fig = Figure()
    ax = fig.subplots()
    # log chi_1 from -1 to +3 along x: crossing a quarter of the way from cell 0 to 1.
    chi_log = np.array([[-1.0, 3.0], [-1.0, 3.0]])
    phase._edge(ax, chi_log, (True, True))
    assert [xdata(ln) for ln in ax.lines] == [[0.25, 0.25], [0.25, 0.25]]
    ax.cla()
    note, handles = phase._edge(ax, np.full((2, 2), -0.5), (True, True))
    assert "ordered" in note
    assert not handles
    assert not ax.lines
    note, _ = phase._edge(ax, np.full((2, 2), np.nan), (True, True))
    assert "does not apply" in note


def test_phase_diagram_of_a_grid_not_over_two_fields_says_so() -> None:
    runs: Runs = [(tiny_spec(depth=d), None) for d in (2, 4)]
    fig = phase.phase_diagram(runs)
    assert "needs a grid over two fields" in fig.axes[0].texts[0].get_text()
    assert "model.depth" in fig.axes[0].texts[0].get_text()
    assert png_shape(plots.render_sweep("phase-diagram", runs, "png")) == (560, WIDTH)
    # Unfinished children leave grey cells, and the theory still draws its line.
    specs = [tiny_spec(init=i, depth=d) for i in ("normal", "standard") for d in (2, 4)]
    partial: Runs = [(s, None) for s in specs]
    fig = phase.phase_diagram(partial)
    assert np.ma.getmaskarray(cells_of(fig)).all()
    assert len(edge_lines(fig)) == 2


def test_phase_diagram_without_theory_draws_no_line() -> None:
    runs: Runs = [
        (tiny_spec(init=i, depth=d, batch_norm=True), None)
        for i in ("normal", "standard")
        for d in (2, 3)
    ]
    fig = phase.phase_diagram(runs)
    assert not edge_lines(fig)
    assert "does not apply" in fig.axes[0].get_title()
