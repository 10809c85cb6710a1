"""Activation functions with their exact derivatives, forward and backward side by side.

Every function works in place on preallocated buffers: ``forward(z, out)`` writes
``phi(z)`` into ``out``; ``slope(z, h, out, tmp)`` writes ``phi'(z)`` into ``out``, given
``h = phi(z)`` from the forward pass (many derivatives are cheapest from ``h``) and a
scratch buffer ``tmp`` it may overwrite; ``backward(z, h, dh, out, tmp)`` writes
``dh * phi'(z)``. All arrays have the same shape, typically ``(batch, width)``.

``derivative(z)`` allocates and is for plots, theory and tests, not the hot path.
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.floating]

#: SELU's constants (Klambauer et al. 2017, eq. 14), to the published precision.
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946
#: GELU, tanh form (Hendrycks & Gimpel 2016): 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
GELU_C = math.sqrt(2.0 / math.pi)
GELU_A = 0.044715


class ActivationFunction:
    """phi: R -> R applied elementwise."""

    name: ClassVar[str]
    formula: ClassVar[str]
    #: (c, r): an output h is in a flat tail (saturated) where |h - c| > r; None: no tails.
    saturation: ClassVar[tuple[float, float] | None] = None
    #: True where a unit can die: output exactly 0 for every input (ReLU).
    can_die: ClassVar[bool] = False

    def forward(self, z: Array, out: Array) -> Array:
        raise NotImplementedError

    def slope(self, z: Array, h: Array, out: Array, tmp: Array) -> Array:
        """phi'(z) into ``out`` (the recorder's derivative_rms reads it alone)."""
        raise NotImplementedError

    def backward(self, z: Array, h: Array, dh: Array, out: Array, tmp: Array) -> Array:
        self.slope(z, h, out, tmp)
        out *= dh
        return out

    def __call__(self, z: Array) -> Array:
        return self.forward(z, np.empty_like(z))

    def derivative(self, z: Array) -> Array:
        return self.slope(z, self(z), np.empty_like(z), np.empty_like(z))


class Sigmoid(ActivationFunction):
    """sigma(z) = 1 / (1 + e^-z); sigma' = sigma (1 - sigma), at most 1/4."""

    name = "sigmoid"
    formula = "1 / (1 + exp(-x))"
    saturation = (0.5, 0.49)  # h < 0.01 or h > 0.99

    def forward(self, z: Array, out: Array) -> Array:
        return _sigmoid(z, out)

    def slope(self, z: Array, h: Array, out: Array, tmp: Array) -> Array:
        np.subtract(1.0, h, out=out)
        out *= h
        return out


class Tanh(ActivationFunction):
    """tanh z; tanh' = 1 - tanh^2, at most 1."""

    name = "tanh"
    formula = "tanh(x)"
    saturation = (0.0, 0.99)  # |h| > 0.99

    def forward(self, z: Array, out: Array) -> Array:
        return np.tanh(z, out=out)

    def slope(self, z: Array, h: Array, out: Array, tmp: Array) -> Array:
        np.multiply(h, h, out=out)
        np.subtract(1.0, out, out=out)
        return out


class ReLU(ActivationFunction):
    """max(z, 0); derivative 1 for z > 0, else 0 (the subgradient 0 at z = 0)."""

    name = "relu"
    formula = "max(x, 0)"
    can_die = True

    def forward(self, z: Array, out: Array) -> Array:
        return np.maximum(z, 0.0, out=out)

    def slope(self, z: Array, h: Array, out: Array, tmp: Array) -> Array:
        # h > 0 exactly where z > 0: the 0/1 mask.
        return np.greater(h, 0.0, out=out)


class LeakyReLU(ActivationFunction):
    """z for z > 0, else a z, with 0 <= a <= 1."""

    name = "leaky_relu"
    formula = "x if x > 0 else a x"
    # can_die stays False: a leaky unit outputs 0 only where its input is exactly 0.

    def __init__(self, negative_slope: float = 0.01) -> None:
        self.a = negative_slope

    def forward(self, z: Array, out: Array) -> Array:
        # For 0 <= a <= 1, max(z, a z) is z above zero and a z below.
        np.multiply(z, self.a, out=out)
        return np.maximum(z, out, out=out)

    def slope(self, z: Array, h: Array, out: Array, tmp: Array) -> Array:
        # phi' = max(1[z > 0], a): exactly 1 or a, by arithmetic (a masked copy is 10-20x
        # slower: its branches follow the signs of z).
        np.greater(z, 0.0, out=out)
        return np.maximum(out, self.a, out=out)


class Swish(ActivationFunction):
    """z sigma(z) (SiLU); derivative sigma(z) (1 + z (1 - sigma(z)))."""

    name = "swish"
    formula = "x / (1 + exp(-x))"

    def forward(self, z: Array, out: Array) -> Array:
        _sigmoid(z, out)
        out *= z
        return out

    def slope(self, z: Array, h: Array, out: Array, tmp: Array) -> Array:
        # With s = sigma(z) and h = z s:  phi' = s + z s (1 - s) = s (1 - h) + h.
        _sigmoid(z, tmp)
        np.subtract(1.0, h, out=out)
        out *= tmp
        out += h
        return out


class GELU(ActivationFunction):
    """0.5 z (1 + tanh(c (z + a z^3))), c = sqrt(2/pi), a = 0.044715 (the tanh form)."""

    name = "gelu"
    formula = "0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))"

    def forward(self, z: Array, out: Array) -> Array:
        np.multiply(z, z, out=out)
        out *= GELU_A
        out += 1.0
        out *= z
        out *= GELU_C
        np.tanh(out, out=out)
        out += 1.0
        out *= z
        out *= 0.5
        return out

    def slope(self, z: Array, h: Array, out: Array, tmp: Array) -> Array:
        # With t = tanh(c (z + a z^3)) and B = 0.5 c z (1 + 3 a z^2):
        # phi' = 0.5 (1 + t) + B (1 - t^2) = (1 + t) (0.5 + B (1 - t)).
        np.multiply(z, z, out=tmp)
        np.multiply(tmp, 3.0 * GELU_A, out=out)
        out += 1.0
        out *= z
        out *= 0.5 * GELU_C  # B
        tmp *= GELU_A
        tmp += 1.0
        tmp *= z
        tmp *= GELU_C
        np.tanh(tmp, out=tmp)  # t
        np.subtract(1.0, tmp, out=tmp)  # 1 - t
        out *= tmp
        out += 0.5
        np.subtract(2.0, tmp, out=tmp)  # 1 + t
        out *= tmp
        return out


class ELU(ActivationFunction):
    """z for z > 0, else e^z - 1 (alpha = 1); derivative 1, else e^z = h + 1."""

    name = "elu"
    formula = "x if x > 0 else exp(x) - 1"

    def forward(self, z: Array, out: Array) -> Array:
        # e^z - 1 >= z everywhere, so max(expm1(min(z, 0)), z) is ELU without a mask.
        np.minimum(z, 0.0, out=out)
        np.expm1(out, out=out)
        return np.maximum(out, z, out=out)

    def slope(self, z: Array, h: Array, out: Array, tmp: Array) -> Array:
        # h + 1 = e^z below zero and exceeds 1 above it, so min(h + 1, 1) is phi'.
        np.add(h, 1.0, out=out)
        np.minimum(out, 1.0, out=out)
        return out


class SELU(ActivationFunction):
    """scale * (z if z > 0 else alpha (e^z - 1)), Klambauer et al.'s constants."""

    name = "selu"
    formula = "1.0507 (x if x > 0 else 1.6733 (exp(x) - 1))"

    def forward(self, z: Array, out: Array) -> Array:
        # Unlike ELU, alpha (e^z - 1) dips below z for small negative z: take z by mask.
        np.minimum(z, 0.0, out=out)
        np.expm1(out, out=out)
        out *= SELU_ALPHA
        np.copyto(out, z, where=z > 0.0)
        out *= SELU_SCALE
        return out

    def slope(self, z: Array, h: Array, out: Array, tmp: Array) -> Array:
        # Below zero phi' = scale alpha e^z = h + scale alpha; above it, scale. By arithmetic,
        # not a masked copy: min(h, 0) + sa is h + sa below zero and sa above (h > 0 iff
        # z > 0), and sa + (scale - sa) is scale exactly (Sterbenz: scale - sa is exact).
        sa, step = _selu_constants(out.dtype)
        np.greater(z, 0.0, out=tmp)
        tmp *= step
        np.minimum(h, 0.0, out=out)
        out += sa
        out += tmp
        return out


def _selu_constants(dtype: np.dtype) -> tuple[float, float]:
    """scale alpha, and scale - scale alpha, as numbers of ``dtype`` (the latter exact)."""
    sa = np.asarray(SELU_SCALE * SELU_ALPHA, dtype=dtype)
    step = np.asarray(SELU_SCALE, dtype=dtype) - sa
    return float(sa), float(step)


class Linear(ActivationFunction):
    """The identity: a deep linear network, for comparison."""

    name = "linear"
    formula = "x"

    def forward(self, z: Array, out: Array) -> Array:
        np.copyto(out, z)
        return out

    def slope(self, z: Array, h: Array, out: Array, tmp: Array) -> Array:
        out.fill(1.0)
        return out

    def backward(self, z: Array, h: Array, dh: Array, out: Array, tmp: Array) -> Array:
        np.copyto(out, dh)  # dh * 1 without the pass that multiplies
        return out


def _sigmoid(z: Array, out: Array) -> Array:
    # 1 / (1 + e^-z) keeps full relative precision in both tails (0.5 (1 + tanh(z/2))
    # rounds sigmoid(-20) to 0). Where e^-z overflows the true value is below the
    # smallest normal float and 1 / inf = 0 is the correctly rounded answer, so the
    # overflow (and, for large z, the underflow of e^-z to 0) is expected and silenced.
    with np.errstate(over="ignore", under="ignore"):
        np.negative(z, out=out)
        np.exp(out, out=out)
    out += 1.0
    return np.reciprocal(out, out=out)


ACTIVATIONS: dict[str, type[ActivationFunction]] = {
    cls.name: cls for cls in (Sigmoid, Tanh, ReLU, LeakyReLU, Swish, GELU, ELU, SELU, Linear)
}


def make_activation(name: str, negative_slope: float = 0.01) -> ActivationFunction:
    """The activation registered under ``name`` (a ``model.activation`` literal)."""
    if name == "leaky_relu":
        return LeakyReLU(negative_slope)
    return ACTIVATIONS[name]()
