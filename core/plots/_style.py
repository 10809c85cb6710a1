"""Figures, colours and bytes: what every plot shares.

Matplotlib's object API only (``Figure`` + ``FigureCanvasAgg``), never pyplot, so
no global figure state is kept and figures can be drawn from worker threads.
Output is deterministic for the same data: SVG ids come from a fixed hash salt
and neither format carries a date.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any, Literal

import matplotlib as mpl
import numpy as np
from matplotlib.axes import Axes
from matplotlib.axis import Axis
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from numpy.typing import NDArray

from core.errors import NotFound
from core.run_result import RunResult

Format = Literal["png", "svg"]
FORMATS: tuple[str, ...] = ("png", "svg")
MEDIA_TYPES = {"png": "image/png", "svg": "image/svg+xml"}
F64 = NDArray[np.float64]

#: 8 inches at 100 dpi: 800 pixels wide, the width plots are designed to be read at.
WIDTH_IN = 8.0
DPI = 100
#: Non-finite cells in heatmaps, and the line marking a divergence.
BAD_COLOUR = "#ff00ff"
DIVERGED_COLOUR = "#d62728"
#: Line plots over layers keep at most this many layers (first and last included).
MAX_LINES = 12

#: Legend text size: small enough for six entries in a 400-pixel panel.
LEGEND_SIZE = 8.5


def new_figure(height_in: float, **subplots: Any) -> tuple[Figure, Any]:
    """A figure ``WIDTH_IN`` wide with constrained layout, and its axes.

    Sizes are set on each artist, never through ``rc_context``: its restore of the
    global rcParams could race a render in another thread.
    """
    fig = Figure(figsize=(WIDTH_IN, height_in), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(**subplots)
    for ax in np.atleast_1d(axes).ravel():
        style(ax)
    return fig, axes


def style(ax: Axes) -> None:
    ax.grid(True, alpha=0.3)
    ax.tick_params(labelsize=9)


def to_bytes(fig: Figure, fmt: str) -> bytes:
    """The figure as PNG or SVG bytes, the same bytes for the same figure."""
    if fmt not in FORMATS:
        raise NotFound(f"no plot format {fmt!r}; use png or svg")
    # Without a salt, SVG clip-path ids are random; setting it is idempotent, unlike a
    # per-call rc_context, whose restore could race another thread's render.
    mpl.rcParams["svg.hashsalt"] = "gradatlas"
    buf = io.BytesIO()
    metadata: dict[str, str | None] = (
        {"Date": None, "Creator": None} if fmt == "svg" else {"Software": None}
    )
    fig.savefig(buf, format=fmt, dpi=DPI, metadata=metadata)
    return buf.getvalue()


def integer_ticks(axis: Axis) -> None:
    """Whole-number ticks (layers, epochs), unless ``empty`` has cleared the axis."""
    locator = axis.get_major_locator()
    if isinstance(locator, MaxNLocator):
        locator.set_params(integer=True)


def empty(ax: Axes, message: str) -> None:
    """Say in the axes why there is nothing to draw."""
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, fontsize=11)
    ax.set_xticks([])
    ax.set_yticks([])


def log10(a: F64) -> F64:
    """log10 with zeros, negatives and NaN as NaN (gaps in a line, bad cells in a map)."""
    out = np.full(a.shape, np.nan)
    ok = np.isfinite(a) & (a > 0)
    out[ok] = np.log10(a[ok])
    return out


def pick_layers(n: int, k: int = MAX_LINES) -> list[int]:
    """At most ``k`` layer indices spread over ``0 .. n-1``, first and last included."""
    if n <= k:
        return list(range(n))
    return sorted({round(float(i)) for i in np.linspace(0, n - 1, k)})


def step_edges(steps: Sequence[int] | NDArray[np.int64]) -> F64:
    """Cell edges for records at ``steps`` (R,): midpoints, half a gap beyond each end."""
    s = np.asarray(steps, dtype=np.float64)
    if s.size == 1:
        return np.array([s[0] - 0.5, s[0] + 0.5])
    mid = (s[1:] + s[:-1]) / 2
    return np.concatenate([[s[0] - (mid[0] - s[0])], mid, [s[-1] + (s[-1] - mid[-1])]])


def diverged_line(ax: Axes, result: RunResult) -> None:
    step = result.summary["diverged_at_step"]
    if step is not None:
        ax.axvline(step, color=DIVERGED_COLOUR, lw=1.5, ls="--", label=f"diverged at step {step}")
