"""The activations as the theory needs them: phi, phi', and a description of each.

NumPy only, and self-contained rather than importing ``core.nn``: the formulas
mirror the engine's (GELU in its tanh form, ELU with alpha 1, SELU's published
constants) and are written for clarity, not for the hot path.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]
Fn = Callable[[Array], Array]

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946
_GELU_C = math.sqrt(2.0 / math.pi)
_GELU_A = 0.044715

#: |phi'| below this counts as flat: the gradient through such a unit is all but gone.
FLAT_DERIVATIVE = 1e-2
#: Pre-activation variances beyond this are treated as infinite (float overflow).


def neg(x: Array) -> Array:
    # Only the negative part reaches exp(), so the unused branch of np.where never overflows.
    return np.minimum(x, 0.0)


def _sigmoid(x: Array) -> Array:
    # 0.5 (1 + tanh(x/2)) never overflows, unlike 1 / (1 + exp(-x)).
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _gelu_t(x: Array) -> Array:
    return np.tanh(_GELU_C * (x + _GELU_A * x**3))


def pair(name: str, a: float) -> tuple[Fn, Fn]:
    """phi and phi' for an activation literal; ``a`` is leaky_relu's negative slope."""
    pairs: dict[str, tuple[Fn, Fn]] = {
        "sigmoid": (_sigmoid, lambda x: _sigmoid(x) * (1.0 - _sigmoid(x))),
        "tanh": (np.tanh, lambda x: 1.0 - np.tanh(x) ** 2),
        "relu": (lambda x: np.maximum(x, 0.0), lambda x: (x > 0).astype(np.float64)),
        "leaky_relu": (lambda x: np.where(x > 0, x, a * x), lambda x: np.where(x > 0, 1.0, a)),
        "swish": (
            lambda x: x * _sigmoid(x),
            lambda x: _sigmoid(x) * (1.0 + x * (1.0 - _sigmoid(x))),
        ),
        "gelu": (
            lambda x: 0.5 * x * (1.0 + _gelu_t(x)),
            lambda x: (
                0.5 * (1.0 + _gelu_t(x))
                + 0.5 * x * (1.0 - _gelu_t(x) ** 2) * _GELU_C * (1.0 + 3.0 * _GELU_A * x**2)
            ),
        ),
        "elu": (
            lambda x: np.where(x > 0, x, np.expm1(neg(x))),
            lambda x: np.where(x > 0, 1.0, np.exp(neg(x))),
        ),
        "selu": (
            lambda x: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(neg(x))),
            lambda x: SELU_SCALE * np.where(x > 0, 1.0, SELU_ALPHA * np.exp(neg(x))),
        ),
        "linear": (lambda x: x, np.ones_like),
    }
    if name not in pairs:
        raise KeyError(f"unknown activation {name!r}")
    return pairs[name]


def phi(name: str, x: Array, negative_slope: float = 0.01) -> Array:
    """The activation ``name`` applied elementwise.  x: any shape -> same shape."""
    return pair(name, negative_slope)[0](np.asarray(x, dtype=np.float64))


def dphi(name: str, x: Array, negative_slope: float = 0.01) -> Array:
    """phi'(x) elementwise (0 at ReLU's kink, as the engine has it)."""
    return pair(name, negative_slope)[1](np.asarray(x, dtype=np.float64))
