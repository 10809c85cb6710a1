"""The article's demo: activation functions and their derivatives side by side.

Sigmoid's derivative peaks at 0.25, so every sigmoid layer multiplies the
back-propagated gradient by at most a quarter; ReLU's is a step, 1 wherever the
unit is active.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from core.errors import FieldError, SpecError
from core.nn.activations import make_activation
from core.plots._style import LEGEND_SIZE, new_figure
from core.spec import ACTIVATION_NAMES

#: Largest |x| the demo draws: beyond it every derivative here is flat or constant.
MAX_X = 100.0
#: Points per curve: dense enough that ReLU's step looks like a step.
POINTS = 2001


def check_derivative_args(names: Sequence[str], x_range: tuple[float, float]) -> None:
    """Raise SpecError for unknown activations or a bad range (a 422 for the API)."""
    errors: list[FieldError] = []
    unknown = [n for n in names if n not in ACTIVATION_NAMES]
    if unknown or not names:
        errors.append(
            FieldError(
                "names",
                f"unknown activation(s) {', '.join(unknown) or '(none given)'}; "
                f"choose from {', '.join(ACTIVATION_NAMES)}",
            )
        )
    lo, hi = x_range
    if not (math.isfinite(lo) and math.isfinite(hi) and -MAX_X <= lo < hi <= MAX_X):
        errors.append(FieldError("x_range", f"need -{MAX_X:g} <= low < high <= {MAX_X:g}"))
    if errors:
        raise SpecError("; ".join(e.message for e in errors), errors)


def derivatives(
    names: Sequence[str], x_range: tuple[float, float] = (-6.0, 6.0), negative_slope: float = 0.01
) -> Figure:
    """phi (top) and phi' (bottom) of each activation in ``names`` over ``x_range``."""
    check_derivative_args(names, x_range)
    fig, (top, bottom) = new_figure(6.4, nrows=2, sharex=True, height_ratios=[1.0, 1.4])
    x = np.linspace(x_range[0], x_range[1], POINTS)
    for name in dict.fromkeys(names):  # keep order, drop repeats
        act = make_activation(name, negative_slope)
        y, dy = act(x), act.derivative(x)
        (line,) = top.plot(x, y, lw=1.6, label=name)
        bottom.plot(x, dy, lw=1.8, color=line.get_color(), label=name)
        peak = int(np.argmax(dy))
        # Annotate a peak only where there is one (not on ReLU's or a linear plateau).
        if dy[peak] > dy[0] + 1e-9 and dy[peak] > dy[-1] + 1e-9:
            bottom.annotate(
                f"max {dy[peak]:.3g}",
                (x[peak], dy[peak]),
                xytext=(6, 6),
                textcoords="offset points",
                fontsize=9,
                color=line.get_color(),
            )
    bottom.margins(y=0.12)  # room for the peak labels
    bottom.axhline(1.0, color="0.4", ls=":", lw=1.0, label="1: gradient passes unchanged")
    top.set_title("Activation functions (top) and their derivatives (bottom)", fontsize=11)
    top.set_ylabel("φ(x)")
    bottom.set_ylabel("φ'(x)")
    bottom.set_xlabel("x (pre-activation)")
    top.legend(fontsize=LEGEND_SIZE, loc="upper left")
    bottom.legend(fontsize=LEGEND_SIZE, loc="upper left")
    return fig
