"""The plots of one experiment, keyed in ``plots.PLOTS`` by the contract's names.

Each takes a result (and, for the profile, the theory's prediction) and returns
a Figure; ``plots.render`` turns it into bytes. Layers are numbered from the
input (0) to the output (depth); steps are training steps.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib import colormaps
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from core.plots._style import (
    BAD_COLOUR,
    LEGEND_SIZE,
    diverged_line,
    empty,
    integer_ticks,
    log10,
    new_figure,
    pick_layers,
    step_edges,
)
from core.result import Theory
from core.run_result import F64, RunResult, nan_array

#: The update ratio usually quoted as healthy (about 1e-3 of the weights per step).
UPDATE_GUIDE = 1e-3
RECORD_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c")


def _subtitle(result: RunResult) -> str:
    s = result.summary
    parts = []
    pairs = (
        ("weights", s.get("gradient_ratio_log10")),
        ("backprop", s.get("backprop_ratio_log10")),
    )
    for label, v in pairs:
        if v is not None:
            parts.append(f"{label} 10^{round(v, 1) + 0.0:+.1f}")
    text = "layer 0 / last hidden at step 0: " + ", ".join(parts) if parts else ""
    if s["diverged_at_step"] is not None:
        text += f"  (diverged at step {s['diverged_at_step']})"
    return text


def _theory_line(theory: Theory | None, key: str) -> tuple[F64, str] | None:
    """The predicted profile ``key`` (log10 per layer) and its label, if there is one."""
    if not theory:
        return None
    profile = theory["grad_profile_log10" if key == "grad_norm" else "backprop_profile_log10"]
    if theory["applies"] and profile:
        return nan_array(profile), "mean-field theory"
    bn = theory.get("batch_norm_profile_log10")
    if key == "backprop_norm" and bn:
        return nan_array(bn), "batch-norm mean field"
    return None


def gradient_profile(result: RunResult, theory: Theory | None = None) -> Figure:
    """log10 grad_norm and backprop_norm against layer, at the first, middle and last record."""
    fig, (top, bottom) = new_figure(6.4, nrows=2, sharex=True)
    n = result.n_layers
    depth = n - 1
    x = np.arange(n)
    steps = result.steps
    records = sorted({0, (steps.size - 1) // 2, steps.size - 1})
    panels = (
        (top, "grad_norm", "log10 ‖dL/dW‖ (weight gradient)"),
        (bottom, "backprop_norm", "log10 ‖dL/dz‖ (back-propagated)"),
    )
    for ax, name, label in panels:
        ax.set_ylabel(label, fontsize=9)
        data = log10(result.stat(name))
        if not steps.size:
            empty(ax, "no records yet")
            continue
        for colour, r in zip(RECORD_COLOURS, records, strict=False):
            ax.plot(x, data[r], "o-", ms=3, lw=1.6, color=colour, label=f"step {steps[r]}")
        line = _theory_line(theory, name)
        anchor = data[0][depth - 1] if depth >= 1 else np.nan
        if line is not None and np.isfinite(anchor) and len(line[0]) == n:
            ax.plot(x, line[0] + anchor, "k--", lw=1.3, label=f"{line[1]} (step 0)")
        ax.axvline(depth - 0.5, color="0.6", lw=0.8, ls=":")
        ax.legend(fontsize=LEGEND_SIZE, loc="best")
    top.set_title("Gradient profile\n" + _subtitle(result), fontsize=11)
    bottom.set_xlabel("layer (input on the left; the dotted line separates the output layer)")
    integer_ticks(bottom.xaxis)
    return fig


def gradient_heatmap(result: RunResult, theory: Theory | None = None) -> Figure:
    """Layer x step, colour = log10 grad_norm; non-finite cells and a divergence marked."""
    fig, ax = new_figure(5.0)
    data = log10(result.stat("grad_norm"))
    n = result.n_layers
    ax.set_title("Weight-gradient norm per layer over training\n" + _subtitle(result), fontsize=11)
    if not result.steps.size:
        empty(ax, "no records yet")
        return fig
    finite = data[np.isfinite(data)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    cmap = _cmap("viridis")
    mesh = ax.pcolormesh(
        step_edges(result.steps),
        np.arange(n + 1) - 0.5,
        np.ma.masked_invalid(data.T),
        cmap=cmap,
        norm=Normalize(lo, hi if hi > lo else lo + 1.0),
        rasterized=True,
    )
    fig.colorbar(mesh, ax=ax, label="log10 ‖dL/dW‖")
    handles = []
    if not np.isfinite(data).all():
        handles.append(Patch(color=BAD_COLOUR, label="NaN, infinite or zero"))
    diverged_line(ax, result)
    h, _ = ax.get_legend_handles_labels()
    if handles or h:
        ax.legend(handles=h + handles, fontsize=LEGEND_SIZE, loc="upper right")
    ax.set_xlabel("step")
    ax.set_ylabel("layer (input at the bottom)")
    ax.grid(False)
    integer_ticks(ax.yaxis)
    return fig


def training_curves(result: RunResult, theory: Theory | None = None) -> Figure:
    """Loss and accuracy per epoch, training against validation."""
    fig, (left, right) = new_figure(4.2, ncols=2)
    m = result.metrics
    epochs = m.epoch.astype(np.float64)
    fig.suptitle("Training curves: a gap between training and validation is over-fitting")
    if epochs.size == 0:
        empty(left, "no completed epoch")
        empty(right, "no completed epoch")
        return fig
    marker = "o-" if epochs.size <= 30 else "-"
    panels = (
        (left, m.train_loss, m.val_loss, "loss (cross-entropy)"),
        (right, m.train_accuracy, m.val_accuracy, "accuracy"),
    )
    for ax, train, val, label in panels:
        ax.plot(epochs, train, marker, ms=3, label="training")
        ax.plot(epochs, val, marker, ms=3, label="validation")
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        integer_ticks(ax.xaxis)
    chance = 1.0 / max(result.layers[-1]["fan_out"], 1) if result.layers else 0.5
    right.axhline(chance, color="0.5", ls=":", label=f"chance ({chance:.2f})")
    right.set_ylim(-0.02, 1.02)
    left.legend(fontsize=LEGEND_SIZE)
    right.legend(fontsize=LEGEND_SIZE)
    return fig


def activations(result: RunResult, theory: Theory | None = None) -> Figure:
    """Saturation and dead fraction of each hidden layer over training."""
    fig, (top, bottom) = new_figure(6.4, nrows=2, sharex=True)
    hidden = max(1, result.n_layers - 1)
    fig.suptitle("Hidden units in the flat tails, and units that output 0 for the whole batch")
    panels = ((top, "saturation", "saturated share"), (bottom, "dead_fraction", "dead share"))
    if not result.steps.size:
        empty(top, "no records yet")
        empty(bottom, "no records yet")
        return fig
    meshes = []
    for ax, name, label in panels:
        data = result.stat(name)[:, :hidden]
        mesh = ax.pcolormesh(
            step_edges(result.steps),
            np.arange(hidden + 1) - 0.5,
            np.ma.masked_invalid(data.T),
            cmap=_cmap("magma"),
            norm=Normalize(0.0, 1.0),
            rasterized=True,
        )
        meshes.append(mesh)
        peak = np.nanmax(data) if np.isfinite(data).any() else 0.0
        ax.set_title(f"{label} per layer (largest {peak:.0%})", fontsize=10)
        ax.set_ylabel("hidden layer")
        ax.grid(False)
        integer_ticks(ax.yaxis)
        diverged_line(ax, result)
    bottom.set_xlabel("step")
    fig.colorbar(meshes[0], ax=[top, bottom], label="share of the layer's units")
    return fig


def update_ratio(result: RunResult, theory: Theory | None = None) -> Figure:
    """||dW|| / ||W|| per layer over training, against the usual 1e-3 guide."""
    fig, ax = new_figure(5.0)
    ax.set_title("Update size relative to the weights, per layer", fontsize=11)
    # A copy: the result's arrays may be the recorder's buffers.
    data = np.where(result.stat("update_ratio") > 0, result.stat("update_ratio"), np.nan)
    if not np.isfinite(data).any():
        empty(ax, "no finite update ratio recorded")
        return fig
    n = data.shape[1]
    steps = result.steps.astype(np.float64)
    norm = Normalize(0, max(n - 1, 1))
    cmap = _cmap("viridis")
    for layer in pick_layers(n):
        ax.plot(steps, data[:, layer], lw=1.3, color=cmap(norm(layer)))
    ax.axhline(UPDATE_GUIDE, color="k", ls="--", lw=1.2, label="1e-3 guide")
    diverged_line(ax, result)
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("‖ΔW‖ / ‖W‖")
    ax.legend(fontsize=LEGEND_SIZE, loc="best")
    fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=ax, label="layer (0 = input)")
    return fig


def _cmap(name: str) -> Any:
    return colormaps[name].with_extremes(bad=BAD_COLOUR)
