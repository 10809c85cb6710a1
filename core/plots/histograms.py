"""The ``gradient-histograms`` figure: the recorded log10 |dL/dW| histograms as ridges.

One ridge per layer (input at the bottom, at most ``MAX_LINES`` layers), each
holding the layer's histograms at the recorded steps, early light to late dark.
Each layer's curves are scaled by that layer's largest count, so a ridge's shape
over training compares, and its position on the x axis says how large the
layer's gradients are.
"""

from __future__ import annotations

import numpy as np
from matplotlib.cm import ScalarMappable
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.figure import Figure

from core.plots._style import Scale, colour_map, empty, new_figure, pick_layers
from core.result import Theory
from core.run_result import RunResult

#: A ridge's tallest curve, in rows: a little overlap with the row above reads as ridges.
RIDGE_HEIGHT = 1.25
#: Histograms drawn per layer at most (the recorder keeps about five).
MAX_HISTOGRAMS = 6


def gradient_histograms(
    result: RunResult, theory: Theory | None = None, scale: Scale = "absolute"
) -> Figure:
    """Ridges of log10 |dL/dW| per layer, one curve per recorded histogram step."""
    fig, ax = new_figure(6.4)
    ax.set_title("Distribution of log10 |dL/dW| per layer over training", fontsize=11)
    h = result.grad_histogram
    edges = h.bin_edges_log10
    if not h.steps.size or edges.size < 2:
        empty(ax, "no histogram recorded yet")
        return fig
    centres = (edges[1:] + edges[:-1]) / 2
    picks = pick_layers(h.counts.shape[1])
    which = pick_layers(h.steps.size, MAX_HISTOGRAMS)
    ramp = colour_map("YlGnBu")
    # From a visible light blue (not white) to dark blue, one colour per histogram step.
    colours = [ramp(0.3 + 0.7 * k / max(len(which) - 1, 1)) for k in range(len(which))]
    for row, layer in enumerate(picks):
        counts = h.counts[which, layer, :].astype(np.float64)
        top = counts.max()
        if top <= 0:
            continue
        for k, (hist, colour) in enumerate(zip(counts, colours, strict=True)):
            y = row + RIDGE_HEIGHT * hist / top
            if k == len(which) - 1:
                ax.fill_between(centres, row, y, color=colour, alpha=0.35, lw=0, zorder=2 + row)
            ax.plot(centres, y, color=colour, lw=1.2, zorder=3 + row)
        ax.axhline(row, color="0.7", lw=0.6, zorder=1)
    ax.set_yticks(range(len(picks)), [f"layer {la}" for la in picks], fontsize=8)
    ax.set_ylim(-0.2, len(picks) - 1 + RIDGE_HEIGHT + 0.2)
    if scale == "absolute":
        ax.set_xlim(float(edges[0]), float(edges[-1]))
    else:
        used = np.flatnonzero(h.counts[which].sum(axis=(0, 1)))
        if used.size:
            ax.set_xlim(float(edges[used[0]]), float(edges[used[-1] + 1]))
    ax.set_xlabel("log10 |dL/dW| (values beyond the ends counted in the end bins)")
    ax.grid(False, axis="y")
    steps = h.steps[which]
    bounds = np.arange(len(which) + 1) - 0.5
    bar = fig.colorbar(
        ScalarMappable(norm=BoundaryNorm(bounds, len(which)), cmap=ListedColormap(colours)),
        ax=ax,
        label="recorded at step",
    )
    bar.set_ticks(range(len(which)), labels=[str(s) for s in steps])
    return fig
