"""Plots over several experiments: a comparison of profiles, and a sweep's two views.

A sweep's runs are (spec, result) pairs (``SweepRun``); a run still going or
failed comes with ``None`` and is left out. Children are grouped by whatever varies
between them apart from depth (say activation and initialiser), one colour per
group, so that log10 gradient ratio against depth shows one line per group:
straight lines are exponential decay with depth.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from core.plots._style import (
    LEGEND_SIZE,
    Scale,
    decade_limits,
    empty,
    integer_ticks,
    log10,
    new_figure,
)
from core.result import ResultDict
from core.run_result import RunResult, as_run_result, nan_array
from core.spec import ExperimentSpec
from core.theory import predict

#: One experiment of a sweep: its spec, and its result (JSON or arrays) or None.
SweepRun = tuple[ExperimentSpec, ResultDict | RunResult | None]
#: Paths that never define a group: they differ between children by construction.
_NOT_GROUPS = ("name", "seed", "model.depth")
_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
            "#7f7f7f", "#bcbd22", "#17becf")  # fmt: skip


def _flat(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def flat_values(spec: ExperimentSpec) -> dict[str, Any]:
    """The spec's leaves by dotted path (``"model.depth": 20``), as JSON values."""
    return _flat(spec.model_dump(mode="json"))


def group_labels(specs: Sequence[ExperimentSpec]) -> list[str]:
    """A label per spec naming the values of the fields that vary (depth aside)."""
    flats = [{p: str(v) for p, v in flat_values(s).items()} for s in specs]
    varying = (
        [p for p in flats[0] if p not in _NOT_GROUPS and len({f.get(p) for f in flats}) > 1]
        if flats
        else []
    )
    if not varying:
        return ["all"] * len(specs)
    return [", ".join(f"{p.rsplit('.', 1)[-1]}={f[p]}" for p in varying) for f in flats]


def _profiles(
    fig: Figure,
    axes: Any,
    items: Sequence[tuple[str, str, RunResult]],
    title: str,
    scale: Scale = "absolute",
) -> Figure:
    """Step-0 log10 grad_norm (top) and backprop_norm (bottom) per item, coloured by group."""
    top, bottom = axes
    colours: dict[str, str] = {}
    drawn: dict[str, list[np.ndarray]] = {"grad_norm": [], "backprop_norm": []}
    for group, label, result in items:
        colour = colours.setdefault(group, _COLOURS[len(colours) % len(_COLOURS)])
        for ax, name in ((top, "grad_norm"), (bottom, "backprop_norm")):
            data = log10(result.stat(name))
            if data.shape[0]:
                ax.plot(np.arange(data.shape[1]), data[0], "o-", ms=2.5, lw=1.4, color=colour,
                        alpha=0.85, label=label)  # fmt: skip
                drawn[name].append(data[0])
    if scale == "absolute":
        for ax, name in ((top, "grad_norm"), (bottom, "backprop_norm")):
            if drawn[name]:
                decade_limits(ax, np.concatenate(drawn[name]))
    top.set_title(title, fontsize=11)
    top.set_ylabel("log10 ‖dL/dW‖", fontsize=9)
    bottom.set_ylabel("log10 ‖dL/dz‖ (back-propagated)", fontsize=9)
    bottom.set_xlabel("layer (input on the left)")
    integer_ticks(bottom.xaxis)
    handles, labels = top.get_legend_handles_labels()
    if len({g for g, _, _ in items}) < len(items):  # many lines: one legend entry per group
        handles = [Line2D([], [], color=c, lw=2) for c in colours.values()]
        labels = list(colours)
    top.legend(handles[:12], labels[:12], fontsize=LEGEND_SIZE, loc="best")
    return fig


def compare(
    results: Sequence[tuple[str, ResultDict | RunResult]], scale: Scale = "absolute"
) -> Figure:
    """Several experiments' step-0 profiles overlaid, one labelled line each."""
    fig, axes = new_figure(6.4, nrows=2, sharex=True)
    if not results:
        empty(axes[0], "nothing to compare")
        return fig
    items = [(label, label, as_run_result(result)) for label, result in results]
    return _profiles(fig, axes, items, "Gradient profiles at step 0", scale)


def finished(runs: Sequence[SweepRun]) -> list[tuple[ExperimentSpec, RunResult]]:
    """The runs that have recorded something, as arrays."""
    out = [(s, as_run_result(r)) for s, r in runs if r is not None]
    return [(s, r) for s, r in out if r.steps.size]


def sweep_profiles(runs: Sequence[SweepRun], scale: Scale = "absolute") -> Figure:
    done = finished(runs)
    fig, axes = new_figure(6.4, nrows=2, sharex=True)
    if not done:
        empty(axes[0], "no finished experiment yet")
        return fig
    groups = group_labels([s for s, _ in done])
    items = [(g, f"{g}, depth {s.model.depth}", r) for g, (s, r) in zip(groups, done, strict=True)]
    title = f"Gradient profiles at step 0 ({len(done)} experiments)"
    return _profiles(fig, axes, items, title, scale)


def ratio_vs_depth(runs: Sequence[SweepRun], scale: Scale = "absolute") -> Figure:
    """log10 gradient ratio (layer 0 / last hidden) against depth, one line per group."""
    done = finished(runs)
    fig, ax = new_figure(5.0)
    ax.set_title("log10 gradient ratio, layer 0 / last hidden layer, at step 0", fontsize=11)
    if not done:
        empty(ax, "no finished experiment yet")
        return fig
    groups = group_labels([s for s, _ in done])
    by_group: dict[str, list[tuple[int, RunResult, ExperimentSpec]]] = {}
    for g, (s, r) in zip(groups, done, strict=True):
        by_group.setdefault(g, []).append((s.model.depth, r, s))
    theory_drawn = False
    drawn: list[np.ndarray] = []
    for k, (group, rows) in enumerate(by_group.items()):
        rows.sort(key=lambda row: row[0])
        colour = _COLOURS[k % len(_COLOURS)]
        depth = np.array([d for d, _, _ in rows], dtype=np.float64)
        bp = nan_array([r.summary["backprop_ratio_log10"] for _, r, _ in rows])
        gr = nan_array([r.summary["gradient_ratio_log10"] for _, r, _ in rows])
        ax.plot(depth, bp, "o-", color=colour, lw=1.8, label=group)
        ax.plot(depth, gr, "s--", color=colour, lw=1.0, ms=4, alpha=0.7)
        drawn += [bp, gr]
        predicted = nan_array([_predicted(s, r) for _, r, s in rows])
        if any(np.isfinite(predicted)):
            ax.plot(depth, predicted, ":", color=colour, lw=1.4)
            theory_drawn = True
    ax.axhline(0.0, color="0.5", lw=0.8)
    if scale == "absolute":
        decade_limits(ax, np.concatenate([*drawn, [0.0]]))
    ax.set_xlabel("depth (hidden layers)")
    ax.set_ylabel("log10 (layer 0 / last hidden)")
    handles, labels = ax.get_legend_handles_labels()
    styles = [
        (Line2D([], [], color="k", marker="o", lw=1.8), "back-propagated (solid)"),
        (Line2D([], [], color="k", marker="s", ls="--", lw=1.0), "weight gradient (dashed)"),
    ]
    if theory_drawn:
        styles.append((Line2D([], [], color="k", ls=":", lw=1.4), "mean-field theory (dotted)"))
    ax.legend(
        handles[:10] + [h for h, _ in styles],
        labels[:10] + [t for _, t in styles],
        fontsize=LEGEND_SIZE,
        loc="best",
    )
    integer_ticks(ax.xaxis)
    return fig


def _predicted(spec: ExperimentSpec, result: RunResult) -> float | None:
    """The plain theory's back-propagated ratio: the run's own prediction once it has one."""
    if spec.model.batch_norm or spec.model.residual:
        return None
    p = result.theory if result.theory is not None else predict(spec)
    return p["backprop_ratio_log10"]
