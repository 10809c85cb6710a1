"""Figures, colours and bytes: what every plot shares.

Matplotlib's object API only (``Figure`` + ``FigureCanvasAgg``), never pyplot, so
no global figure state is kept and figures can be drawn from worker threads.
Output is deterministic for the same data: SVG ids come from a fixed hash salt
and no format carries a date. An SVG carries its title and caption as
``<title>`` and ``<desc>`` (what a screen reader or a search reads).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any
from xml.sax.saxutils import escape

import matplotlib as mpl
import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.axis import Axis
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from numpy.typing import NDArray

from core.errors import NotFound
from core.run_result import RunResult
from core.views import PLOT_FORMATS, PLOT_SCALES, PlotFormat, PlotScale

Format = PlotFormat
FORMATS: tuple[str, ...] = PLOT_FORMATS
MEDIA_TYPES: dict[str, str] = {
    "png": "image/png",
    "svg": "image/svg+xml",
    "pdf": "application/pdf",
}
Scale = PlotScale
SCALES: tuple[str, ...] = PLOT_SCALES
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


def to_bytes(fig: Figure, fmt: str, title: str = "", caption: str = "") -> bytes:
    """The figure as PNG, SVG or PDF bytes, the same bytes for the same figure.

    An SVG gets ``title`` and ``caption`` as its ``<title>`` and ``<desc>``.
    """
    check_format(fmt)
    # Without a salt, SVG clip-path ids are random; setting it is idempotent, unlike a
    # per-call rc_context, whose restore could race another thread's render.
    mpl.rcParams["svg.hashsalt"] = "gradatlas"
    buf = io.BytesIO()
    # No dates and no version strings: the same figure is the same bytes.
    keys = {"svg": ("Date", "Creator"), "pdf": ("CreationDate", "Creator", "Producer")}
    metadata: dict[str, str | None] = dict.fromkeys(keys.get(fmt, ("Software",)))
    fig.savefig(buf, format=fmt, dpi=DPI, metadata=metadata)
    data = buf.getvalue()
    return describe_svg(data, title, caption) if fmt == "svg" else data


def check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise NotFound(f"no plot format {fmt!r}; use {', '.join(FORMATS)}")


def check_scale(scale: str) -> None:
    if scale not in SCALES:
        raise NotFound(f"no plot scale {scale!r}; use {' or '.join(SCALES)}")


def describe_svg(data: bytes, title: str, caption: str) -> bytes:
    """``data`` with ``<title>`` and ``<desc>`` as the first children of its root."""
    if not (title or caption):
        return data
    start = data.index(b"<svg")
    end = data.index(b">", start) + 1
    parts = []
    if title:
        parts.append(f"\n <title>{escape(title)}</title>")
    if caption:
        parts.append(f"\n <desc>{escape(caption)}</desc>")
    return data[:end] + "".join(parts).encode() + data[end:]


def decade_limits(ax: Axes, values: F64, half: float = 3.0) -> None:
    """y limits in log10 units that span at least ``half`` decades each side of the
    median of ``values`` (and all of them): a level profile then looks level."""
    finite = values[np.isfinite(values)]
    if not finite.size:
        return
    mid = float(np.median(finite))
    lo, hi = min(float(finite.min()), mid - half), max(float(finite.max()), mid + half)
    pad = 0.04 * (hi - lo)
    ax.set_ylim(lo - pad, hi + pad)


def layer_lines(
    ax: Axes, steps: F64, data: F64, layers: Sequence[int], cmap: Any, norm: Any
) -> None:
    """One line per layer of ``data`` (R, L) against ``steps``, coloured by layer."""
    for layer in layers:
        ax.plot(steps, data[:, layer], lw=1.3, color=cmap(norm(layer)))


def note(ax: Axes, message: str) -> None:
    """Say in the axes why a panel is empty, leaving a shared x axis alone."""
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, fontsize=10)
    ax.set_yticks([])


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


def colour_map(name: str) -> Any:
    """Matplotlib's colour map ``name`` with non-finite cells in ``BAD_COLOUR``."""
    return colormaps[name].with_extremes(bad=BAD_COLOUR)
