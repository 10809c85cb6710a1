"""The ``update-ratio`` figure: how big each step's update is next to the weights.

Per-step ratios are noisy (a batch's gradient is), and a dozen raw lines over
each other read as a tangle; each layer's line is smoothed with a moving
median of log10 values over about a twentieth of the records.
"""

from __future__ import annotations

import numpy as np
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from core.plots._style import (
    LEGEND_SIZE,
    Scale,
    colour_map,
    diverged_line,
    empty,
    layer_lines,
    log10,
    new_figure,
    pick_layers,
)
from core.result import Theory
from core.run_result import F64, RunResult

#: The update ratio usually quoted as healthy (about 1e-3 of the weights per step) ...
UPDATE_GUIDE = 1e-3
#: ... within this factor either way (the shaded band).
UPDATE_BAND = 3.0
#: Lines drawn at most: more than eight layers over each other no longer read.
MAX_UPDATE_LINES = 8
#: With ``scale="absolute"`` the y axis spans at least this range.
ABSOLUTE_RANGE = (1e-6, 1e0)


def smooth(data: F64, window: int) -> F64:
    """Moving median over ``window`` records (odd; NaN ignored) of each column of (R, L)."""
    if window <= 1 or data.shape[0] < 3:
        return data.copy()
    half = window // 2
    padded = np.pad(data, ((half, half), (0, 0)), mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, window, axis=0)
    out = np.full(data.shape, np.nan)
    ok = np.isfinite(windows).any(axis=-1)
    out[ok] = np.nanmedian(windows[ok], axis=-1)
    return out


def update_ratio(
    result: RunResult, theory: Theory | None = None, scale: Scale = "absolute"
) -> Figure:
    """||dW|| / ||W|| per layer over training, smoothed, against the usual 1e-3 band."""
    fig, ax = new_figure(5.0)
    logs = log10(result.stat("update_ratio"))
    window = max(1, (logs.shape[0] // 20) | 1)
    how = f"moving median over {window} records" if window > 1 else "as recorded"
    ax.set_title(f"Update size relative to the weights, per layer ({how})", fontsize=11)
    if not np.isfinite(logs).any():
        empty(ax, "no finite update ratio recorded")
        return fig
    data = 10.0 ** smooth(logs, window)
    n = data.shape[1]
    norm = Normalize(0, max(n - 1, 1))
    cmap = colour_map("viridis")
    ax.axhspan(
        UPDATE_GUIDE / UPDATE_BAND,
        UPDATE_GUIDE * UPDATE_BAND,
        color="0.85",
        alpha=0.6,
        lw=0,
        label=f"healthy: 1e-3 within ×{UPDATE_BAND:g}",
    )
    ax.axhline(UPDATE_GUIDE, color="k", ls="--", lw=1.1, label="1e-3 guide")
    layer_lines(
        ax, result.steps.astype(np.float64), data, pick_layers(n, MAX_UPDATE_LINES), cmap, norm
    )
    diverged_line(ax, result)
    ax.set_yscale("log")
    if scale == "absolute":
        finite = data[np.isfinite(data)]
        lo, hi = ABSOLUTE_RANGE
        ax.set_ylim(min(lo, float(finite.min()) / 2), max(hi, float(finite.max()) * 2))
    ax.set_xlabel("step")
    ax.set_ylabel("‖ΔW‖ / ‖W‖")
    ax.legend(fontsize=LEGEND_SIZE, loc="best")
    fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=ax, label="layer (0 = input)")
    return fig
