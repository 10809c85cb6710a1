"""The ``activations`` figure: what happens inside the hidden layers over training.

Three panels share the step axis: the RMS of phi'(u) per hidden layer (the factor
each layer multiplies the back-propagated gradient by, the article's mechanism),
the saturated share and the dead share. Lines are coloured by layer; a share that
stays small goes on a log scale, and a share that is zero throughout says "none"
rather than drawing a flat line (or, as a heatmap did, a solid black panel).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from core.plots._style import (
    LEGEND_SIZE,
    Scale,
    colour_map,
    diverged_line,
    layer_lines,
    new_figure,
    note,
    pick_layers,
)
from core.result import Theory
from core.run_result import F64, RunResult
from core.theory import ACTIVATION_INFO

#: A share whose largest value stays below this is drawn on a log scale.
SMALL_SHARE = 0.2
#: A colour map and the layers' normalisation: how lines are coloured by layer.
Colours = tuple[Any, Normalize]
#: The log scale's floor with ``scale="absolute"``: under one unit in 10,000.
SHARE_FLOOR = 1e-4


def _hidden(result: RunResult, name: str) -> F64:
    """Statistic ``name`` of the hidden layers, (R, depth); (0, depth) when not recorded."""
    return result.stat(name)[:, : max(1, result.n_layers - 1)]


def _derivative_panel(
    ax: Axes,
    result: RunResult,
    theory: Theory | None,
    scale: Scale,
    layers: list[int],
    colours: Colours,
) -> None:
    data = _hidden(result, "derivative_rms")
    ax.set_ylabel("RMS of φ'(u)", fontsize=9)
    if not data.shape[0] or not np.isfinite(data).any():
        note(ax, "φ'(u) not recorded in this result (recorded from this version on)")
        ax.set_title("derivative of the activation per hidden layer", fontsize=10)
        return
    layer_lines(ax, result.steps.astype(np.float64), data, layers, *colours)
    ax.axhline(1.0, color="0.4", ls=":", lw=1.0, label="1: the gradient passes unchanged")
    info = ACTIVATION_INFO.get(theory["activation"]) if theory else None
    if info is not None and info["derivative_max"] < 0.99:
        top = info["derivative_max"]
        ax.axhline(top, color="k", ls="--", lw=1.1, label=f"{info['name']}'s largest φ' ({top:g})")
    if scale == "absolute":
        ax.set_ylim(0.0, max(1.08, float(np.nanmax(data)) * 1.05))
    ax.legend(fontsize=LEGEND_SIZE, loc="best")
    ax.set_title(
        "RMS of the activation's derivative per hidden layer: "
        "each layer multiplies the gradient by about this",
        fontsize=10,
    )


def _share_panel(
    ax: Axes,
    result: RunResult,
    name: str,
    what: str,
    scale: Scale,
    layers: list[int],
    colours: Colours,
) -> None:
    data = _hidden(result, name)
    finite = data[np.isfinite(data)]
    peak = float(finite.max()) if finite.size else 0.0
    ax.set_ylabel("share of units", fontsize=9)
    if peak <= 0.0:
        note(ax, f"none: no hidden unit was {what} at any record")
        ax.set_title(f"{what} share per hidden layer: none", fontsize=10)
        return
    small = peak < SMALL_SHARE
    shown = np.where(data > 0, data, np.nan) if small else data
    layer_lines(ax, result.steps.astype(np.float64), shown, layers, *colours)
    if small:
        ax.set_yscale("log")
        if scale == "absolute":
            ax.set_ylim(SHARE_FLOOR, 1.0)
    elif scale == "absolute":
        ax.set_ylim(-0.02, 1.02)
    scale_note = " (log scale; a layer at 0 is not drawn)" if small else ""
    ax.set_title(f"{what} share per hidden layer, largest {peak:.1%}{scale_note}", fontsize=10)


def activations(
    result: RunResult, theory: Theory | None = None, scale: Scale = "absolute"
) -> Figure:
    """phi' RMS, saturated share and dead share of each hidden layer over training."""
    fig, (deriv, sat, dead) = new_figure(8.0, nrows=3, sharex=True)
    hidden = max(1, result.n_layers - 1)
    fig.suptitle("Inside the hidden layers: the derivative, saturated units, dead units")
    if not result.steps.size:
        for ax in (deriv, sat, dead):
            note(ax, "no records yet")
        return fig
    layers = pick_layers(hidden)
    norm = Normalize(0, max(hidden - 1, 1))
    cmap = colour_map("viridis")
    _derivative_panel(deriv, result, theory, scale, layers, (cmap, norm))
    _share_panel(sat, result, "saturation", "saturated", scale, layers, (cmap, norm))
    _share_panel(dead, result, "dead_fraction", "dead", scale, layers, (cmap, norm))
    for ax in (deriv, sat, dead):
        diverged_line(ax, result)
    if result.steps.size > 1:
        dead.set_xlim(float(result.steps[0]), float(result.steps[-1]))
    dead.set_xlabel("step")
    fig.colorbar(
        ScalarMappable(norm=norm, cmap=cmap),
        ax=[deriv, sat, dead],
        label="hidden layer (0 = input)",
    )
    return fig
