"""The gradient profile, the gradient heatmap and the training curves of one experiment.

Each plot of ``plots.PLOTS`` takes a result, the theory's prediction (drawn by the
profile only) and a scale (``absolute``: fixed ranges, so two runs compare side by
side; ``auto``: zoomed to this run) and returns a Figure; ``plots.render`` turns it
into bytes. Layers are numbered from the input (0) to the output (depth); steps
are training steps.
"""

from __future__ import annotations

import numpy as np
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from core.plots._style import (
    BAD_COLOUR,
    LEGEND_SIZE,
    Scale,
    colour_map,
    decade_limits,
    diverged_line,
    empty,
    integer_ticks,
    log10,
    new_figure,
    step_edges,
)
from core.result import Theory
from core.run_result import F64, RunResult, nan_array

#: The heatmap's fixed colour range, in decades either side of the last hidden layer:
#: twenty sigmoid layers reach about -12, a healthy network stays within +/-1.
HEAT_DECADES = 10.0
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


def gradient_profile(
    result: RunResult, theory: Theory | None = None, scale: Scale = "absolute"
) -> Figure:
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
        drawn = [data[r] for r in records]
        for colour, r in zip(RECORD_COLOURS, records, strict=False):
            ax.plot(x, data[r], "o-", ms=3, lw=1.6, color=colour, label=f"step {steps[r]}")
        line = _theory_line(theory, name)
        anchor = data[0][depth - 1] if depth >= 1 else np.nan
        if line is not None and np.isfinite(anchor) and len(line[0]) == n:
            ax.plot(x, line[0] + anchor, "k--", lw=1.3, label=f"{line[1]} (step 0)")
            drawn.append(line[0] + anchor)
        if scale == "absolute":
            decade_limits(ax, np.concatenate(drawn))
        ax.axvline(depth - 0.5, color="0.6", lw=0.8, ls=":")
        ax.legend(fontsize=LEGEND_SIZE, loc="best")
    top.set_title("Gradient profile\n" + _subtitle(result), fontsize=11)
    bottom.set_xlabel("layer (input on the left; the dotted line separates the output layer)")
    integer_ticks(bottom.xaxis)
    return fig


def relative_to_last_hidden(result: RunResult) -> F64:
    """log10 grad_norm (R, L) minus that of layer depth-1 at the same record, in decades."""
    data = log10(result.stat("grad_norm"))
    ref = max(result.n_layers - 2, 0)
    return data - data[:, ref : ref + 1]


def gradient_heatmap(
    result: RunResult, theory: Theory | None = None, scale: Scale = "absolute"
) -> Figure:
    """Layer x step, colour = log10 grad_norm relative to the last hidden layer (decades)."""
    fig, ax = new_figure(5.0)
    data = relative_to_last_hidden(result)
    n = result.n_layers
    ax.set_title(
        "Weight-gradient norm per layer over training, relative to the last hidden layer\n"
        + _subtitle(result),
        fontsize=11,
    )
    if not result.steps.size:
        empty(ax, "no records yet")
        return fig
    if scale == "absolute":
        half = HEAT_DECADES
    else:
        finite = np.abs(data[np.isfinite(data)])
        half = max(float(finite.max()), 0.5) if finite.size else 1.0
    mesh = ax.pcolormesh(
        step_edges(result.steps),
        np.arange(n + 1) - 0.5,
        np.ma.masked_invalid(data.T),
        cmap=colour_map("RdBu_r"),
        norm=Normalize(-half, half),
        rasterized=True,
    )
    fig.colorbar(
        mesh,
        ax=ax,
        extend="both" if scale == "absolute" else "neither",
        label="decades vs the last hidden layer (blue: smaller)",
    )
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


def training_curves(
    result: RunResult, theory: Theory | None = None, scale: Scale = "absolute"
) -> Figure:
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
    if scale == "absolute":
        right.set_ylim(-0.02, 1.02)
        left.set_ylim(bottom=0.0)
    left.legend(fontsize=LEGEND_SIZE)
    right.legend(fontsize=LEGEND_SIZE)
    return fig
