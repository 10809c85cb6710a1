"""The ``phase-diagram`` of a sweep over two fields: measured decay and the edge of chaos.

The two axes are the two spec fields that vary between the children (name and
seed aside; children sharing a cell are averaged). A numeric field (depth,
init_gain, width ...) is drawn in increasing order, any other (activation,
init ...) in the order the grid gives it. Each cell's colour is the measured
``summary.backprop_ratio_log10``; the black line is the contour chi_1 = 1 of
the mean-field theory (``core.theory.predict``), drawn on the cells' log chi_1.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle

from core.plots._style import LEGEND_SIZE, Scale, colour_map, empty, new_figure
from core.plots.sweep import SweepRun, finished, flat_values
from core.run_result import F64
from core.spec import ExperimentSpec
from core.theory import predict

#: Fixed colour range with ``scale="absolute"``, decades either side of level.
PHASE_DECADES = 10.0
#: |log chi_1| below this counts as on the edge (ReLU + He is exactly 1).
ON_EDGE = 1e-6
#: Cells annotated with their number at most (beyond, the text would not fit).
MAX_LABELLED = 120
#: Paths that never make an axis: they differ between children by construction.
_NOT_AXES = ("name", "seed")


def _numeric(values: Sequence[Any]) -> bool:
    return all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)


def axes_of(specs: Sequence[ExperimentSpec]) -> list[str]:
    """The spec paths whose values differ between ``specs`` (name and seed aside)."""
    flats = [flat_values(s) for s in specs]
    if not flats:
        return []
    return [p for p in flats[0] if p not in _NOT_AXES and len({repr(f.get(p)) for f in flats}) > 1]


def _ordered(values: Sequence[Any]) -> list[Any]:
    unique = list({repr(v): v for v in values}.values())
    return sorted(unique) if _numeric(unique) else unique


def _chi_log(spec: ExperimentSpec, theory: Any) -> float:
    # Batch norm keeps a network off the order-to-chaos line whatever chi_1 says (every
    # batch-normalised net explodes toward the input, Yang et al. 2019): no line to draw.
    if spec.model.batch_norm:
        return float("nan")
    p = theory if theory is not None else predict(spec)
    chi = p.get("chi_1")
    if not p.get("applies") or chi is None or not chi > 0:
        return float("nan")
    return float(np.log(chi))


def phase_diagram(runs: Sequence[SweepRun], scale: Scale = "absolute") -> Figure:
    """Measured log10 back-propagated ratio over the grid's two axes, with chi_1 = 1."""
    fig, ax = new_figure(5.6)
    ax.set_title("Phase diagram: measured back-propagated ratio at step 0", fontsize=11)
    specs = [s for s, _ in runs]
    paths = axes_of(specs)
    if len(paths) != 2:
        varies = ", ".join(paths) or "nothing"
        empty(ax, f"a phase diagram needs a grid over two fields;\nthis sweep varies: {varies}")
        return fig
    # Depth reads best going up, like the layer axes of the other figures.
    x_path, y_path = (paths[1], paths[0]) if paths[0] == "model.depth" else paths
    flats = [flat_values(s) for s in specs]
    xs, ys = _ordered([f[x_path] for f in flats]), _ordered([f[y_path] for f in flats])
    col = {repr(v): i for i, v in enumerate(xs)}
    row = {repr(v): j for j, v in enumerate(ys)}
    sums, counts = np.zeros((len(ys), len(xs))), np.zeros((len(ys), len(xs)))
    chi = np.full((len(ys), len(xs)), np.nan)
    done = {id(s): r for s, r in finished(runs)}
    for spec, f in zip(specs, flats, strict=True):
        j, i = row[repr(f[y_path])], col[repr(f[x_path])]
        result = done.get(id(spec))
        chi[j, i] = _chi_log(spec, result.theory if result is not None else None)
        value = result.summary["backprop_ratio_log10"] if result is not None else None
        if value is not None and np.isfinite(value):
            sums[j, i] += value
            counts[j, i] += 1
    measured = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    handles = _cells(fig, ax, measured, scale)
    edge_note, more = _edge(ax, chi, (_numeric(xs), _numeric(ys)))
    if handles or more:
        # Below the axes: inside, it would hide cells.
        ax.legend(handles=more + handles, fontsize=LEGEND_SIZE, loc="upper center",
                  bbox_to_anchor=(0.5, -0.13), ncol=3, frameon=False)  # fmt: skip
    ax.set_xticks(range(len(xs)), [_label(v) for v in xs], fontsize=9)
    ax.set_yticks(range(len(ys)), [_label(v) for v in ys], fontsize=9)
    ax.set_xlabel(x_path)
    ax.set_ylabel(y_path)
    ax.grid(False)
    ax.set_title(
        "Phase diagram: measured back-propagated ratio at step 0\n" + edge_note, fontsize=11
    )
    return fig


def _label(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def _cells(fig: Figure, ax: Axes, measured: F64, scale: Scale) -> list[Any]:
    finite = np.abs(measured[np.isfinite(measured)])
    if scale == "absolute":
        half = PHASE_DECADES
    else:
        half = max(float(finite.max()), 0.5) if finite.size else 1.0
    ny, nx = measured.shape
    mesh = ax.pcolormesh(
        np.arange(nx + 1) - 0.5,
        np.arange(ny + 1) - 0.5,
        np.ma.masked_invalid(measured),
        cmap=colour_map("RdBu_r").with_extremes(bad="0.85"),
        norm=Normalize(-half, half),
        rasterized=True,
    )
    fig.colorbar(
        mesh,
        ax=ax,
        extend="both" if scale == "absolute" else "neither",
        label="log10 ‖dL/dz‖ layer 0 / last hidden (blue: vanishing)",
    )
    if nx * ny <= MAX_LABELLED:
        for (j, i), v in np.ndenumerate(measured):
            if np.isfinite(v):
                dark = abs(v) > 0.6 * half
                ax.text(i, j, f"{v:+.1f}", ha="center", va="center", fontsize=8,
                        color="white" if dark else "black")  # fmt: skip
    return [] if np.isfinite(measured).all() else [Patch(color="0.85", label="not finished")]


def _crossing(a: float, b: float, numeric: bool) -> float | None:
    """Where between two neighbouring cells (0 and 1) log chi_1 crosses 0, if it does:
    interpolated along a numeric axis, half-way along a categorical one."""
    if not (np.isfinite(a) and np.isfinite(b)) or abs(a) < ON_EDGE or abs(b) < ON_EDGE:
        return None
    if a * b > 0:
        return None
    return a / (a - b) if numeric else 0.5


def _edge(ax: Axes, chi_log: F64, numeric: tuple[bool, bool]) -> tuple[str, list[Any]]:
    """Draw chi_1 = 1 on the cells' log chi_1 (segments between cells whose phases
    differ, outlines round cells exactly on it); say where the theory puts the grid."""
    known = chi_log[np.isfinite(chi_log)]
    if not known.size:
        return "mean-field theory does not apply here (batch norm or residual): no χ₁ line", []
    ny, nx = chi_log.shape
    drawn = False
    for j in range(ny):
        for i in range(nx):
            if abs(chi_log[j, i]) < ON_EDGE:
                ax.add_patch(Rectangle((i - 0.5, j - 0.5), 1, 1, fill=False, ec="k", lw=2.2))
            if (
                i + 1 < nx
                and (t := _crossing(chi_log[j, i], chi_log[j, i + 1], numeric[0])) is not None
            ):
                ax.plot([i + t, i + t], [j - 0.5, j + 0.5], color="k", lw=2.6)
                drawn = True
            if (
                j + 1 < ny
                and (t := _crossing(chi_log[j, i], chi_log[j + 1, i], numeric[1])) is not None
            ):
                ax.plot([i - 0.5, i + 0.5], [j + t, j + t], color="k", lw=2.6)
                drawn = True
    handles: list[Any] = []
    if drawn:
        handles.append(Line2D([], [], color="k", lw=2.6, label="theory: χ₁ = 1 (edge of chaos)"))
    if (np.abs(known) < ON_EDGE).any():
        handles.append(Patch(fill=False, ec="k", lw=2.2, label="theory: χ₁ = 1 in this cell"))
    if handles:
        return "black: the theory's χ₁ = 1, between order (χ₁ < 1) and chaos (χ₁ > 1)", handles
    side = "< 1: ordered, vanishing" if known.max() < 0 else "> 1: chaotic, exploding"
    return f"the theory's χ₁ {side} in every cell (no edge of chaos in this grid)", []
