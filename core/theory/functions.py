"""The activations as the theory needs them: phi and phi' on float64 arrays.

They are the engine's own (``core.nn.activations``), so the theory predicts
exactly the network that is trained; ``derivative`` allocates, which is fine off
the hot path.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import numpy as np
from numpy.typing import ArrayLike, NDArray

from core.nn.activations import make_activation

Array = NDArray[np.float64]
Fn = Callable[[Array], Array]

#: |phi'| below this counts as flat: the gradient through such a unit is all but gone.
FLAT_DERIVATIVE = 1e-2


@lru_cache(maxsize=64)
def pair(name: str, a: float) -> tuple[Fn, Fn]:
    """phi and phi' for an activation literal; ``a`` is leaky_relu's negative slope.

    Raises KeyError for an unknown name.
    """
    act = make_activation(name, a)

    # float64 in, float64 out: the astype only tells the type checker so, without a copy.
    def f(x: Array) -> Array:
        return act(np.asarray(x, dtype=np.float64)).astype(np.float64, copy=False)

    def g(x: Array) -> Array:
        return act.derivative(np.asarray(x, dtype=np.float64)).astype(np.float64, copy=False)

    return f, g


def phi(name: str, x: ArrayLike, negative_slope: float = 0.01) -> Array:
    """The activation ``name`` applied elementwise.  x: any shape -> same shape."""
    return pair(name, negative_slope)[0](np.asarray(x, dtype=np.float64))


def dphi(name: str, x: ArrayLike, negative_slope: float = 0.01) -> Array:
    """phi'(x) elementwise (0 at ReLU's kink, as the engine has it)."""
    return pair(name, negative_slope)[1](np.asarray(x, dtype=np.float64))
