"""Each activation described for people: formula, derivative, its peak and flat stretches.

``ACTIVATION_INFO`` is computed once, at import, on a 1e-3 grid over [-20, 20]
with the flat stretches' ends refined by bisection (a few milliseconds).
"""

from __future__ import annotations

import numpy as np

from core.theory.functions import FLAT_DERIVATIVE, Fn, pair
from core.theory.meanfield import batch_norm_rate
from core.views import ActivationInfo

_ACTIVATION_TEXT: dict[str, tuple[str, str]] = {
    "sigmoid": ("1 / (1 + exp(-x))", "sigmoid(x) (1 - sigmoid(x))"),
    "tanh": ("tanh(x)", "1 - tanh(x)^2"),
    "relu": ("max(x, 0)", "1 if x > 0 else 0"),
    "leaky_relu": ("x if x > 0 else a x (a = negative_slope)", "1 if x > 0 else a"),
    "swish": ("x sigmoid(x)", "sigmoid(x) (1 + x (1 - sigmoid(x)))"),
    "gelu": (
        "0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))",
        "0.5 (1 + t) + 0.5 x (1 - t^2) sqrt(2/pi) (1 + 0.134145 x^2), t = tanh(...)",
    ),
    "elu": ("x if x > 0 else exp(x) - 1", "1 if x > 0 else exp(x)"),
    "selu": (
        "1.0507 (x if x > 0 else 1.6733 (exp(x) - 1))",
        "1.0507 if x > 0 else 1.7581 exp(x)",
    ),
    "linear": ("x", "1"),
}


#: The x range searched for the derivative's maximum and its flat stretches.
_X_SEARCH = 20.0


def _flat_ranges(g: Fn) -> list[list[float | None]]:
    """Intervals of x where |g(x)| < FLAT_DERIVATIVE; None for an unbounded end."""
    x = np.linspace(-_X_SEARCH, _X_SEARCH, 40_001)
    flat = np.abs(g(x)) < FLAT_DERIVATIVE
    change = np.flatnonzero(np.diff(flat.astype(np.int8)))

    def edge(i: int) -> float:
        # Bisect between grid points i and i + 1 for where |g| crosses the threshold.
        lo, hi = float(x[i]), float(x[i + 1])
        lo_flat = bool(flat[i])
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            if (abs(float(g(np.array([mid]))[0])) < FLAT_DERIVATIVE) == lo_flat:
                lo = mid
            else:
                hi = mid
        return round(0.5 * (lo + hi), 4)

    bounds: list[float | None] = [None] if flat[0] else []
    bounds += [edge(int(i)) for i in change]
    if flat[-1]:
        bounds.append(None)
    return [[bounds[k], bounds[k + 1]] for k in range(0, len(bounds), 2)]


def activation_info(name: str, negative_slope: float = 0.01) -> ActivationInfo:
    """An activation's formula, its derivative's maximum and where the derivative is flat."""
    formula, derivative = _ACTIVATION_TEXT[name]
    g = pair(name, negative_slope)[1]
    x = np.linspace(-_X_SEARCH, _X_SEARCH, 40_001)
    dx = g(x)
    top = int(np.argmax(dx))
    return {
        "name": name,
        "formula": formula,
        "derivative": derivative,
        "derivative_max": float(f"{dx[top]:.6g}"),
        "derivative_max_at": None
        if name in ("relu", "leaky_relu", "linear")
        else round(float(x[top]), 3),
        "derivative_at_0": float(f"{float(g(np.zeros(1))[0]):.6g}"),
        "flat_threshold": FLAT_DERIVATIVE,
        "flat_ranges": _flat_ranges(g),
        "batch_norm_rate": float(f"{batch_norm_rate(name, negative_slope):.6g}"),
    }


#: Every activation, described once at import (a few milliseconds).
ACTIVATION_INFO: dict[str, ActivationInfo] = {
    name: activation_info(name) for name in _ACTIVATION_TEXT
}
