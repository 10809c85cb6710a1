"""Weight initialisers, keyed by the ``model.init`` literals.

Each draws a ``(fan_in, fan_out)`` matrix from a ``np.random.Generator`` in
float64 (so float32 and float64 networks start from the same numbers, rounded)
and writes it into ``out``. ``model.init_gain`` multiplies the drawn matrix (so its
standard deviation, and sigma_w, by the gain: Var[W_ij] is the table's times gain^2),
and biases start at zero unless ``model.bias_std`` draws them N(0, bias_std^2), after
every weight (``core.nn.network.init_parameters``).

==============  ==========================================  =====================
name            distribution                                Var[W_ij]
==============  ==========================================  =====================
normal          N(0, 1), the naive choice                   1
standard        U[-1/sqrt(fan_in), 1/sqrt(fan_in)]          1 / (3 fan_in)
xavier_uniform  U[-a, a], a = sqrt(6 / (fan_in + fan_out))  2 / (fan_in + fan_out)
xavier_normal   N(0, 2 / (fan_in + fan_out))                2 / (fan_in + fan_out)
he_uniform      U[-a, a], a = sqrt(6 / fan_in)              2 / fan_in
he_normal       N(0, 2 / fan_in)                            2 / fan_in
lecun_normal    N(0, 1 / fan_in)                            1 / fan_in
orthogonal      a random (semi-)orthogonal matrix, gain 1   1 / max(fan_in, fan_out)
==============  ==========================================  =====================

"standard" is Glorot & Bengio's (2010) name for the heuristic they compared
Xavier against; "he" follows He et al. (2015) for ReLU (gain sqrt 2).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

Initialiser = Callable[[np.random.Generator, int, int], NDArray[np.float64]]


def normal(rng: np.random.Generator, fan_in: int, fan_out: int) -> NDArray[np.float64]:
    return rng.standard_normal((fan_in, fan_out))


def standard(rng: np.random.Generator, fan_in: int, fan_out: int) -> NDArray[np.float64]:
    a = 1.0 / math.sqrt(fan_in)
    return rng.uniform(-a, a, (fan_in, fan_out))


def xavier_uniform(rng: np.random.Generator, fan_in: int, fan_out: int) -> NDArray[np.float64]:
    a = math.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-a, a, (fan_in, fan_out))


def xavier_normal(rng: np.random.Generator, fan_in: int, fan_out: int) -> NDArray[np.float64]:
    return rng.normal(0.0, math.sqrt(2.0 / (fan_in + fan_out)), (fan_in, fan_out))


def he_uniform(rng: np.random.Generator, fan_in: int, fan_out: int) -> NDArray[np.float64]:
    a = math.sqrt(6.0 / fan_in)
    return rng.uniform(-a, a, (fan_in, fan_out))


def he_normal(rng: np.random.Generator, fan_in: int, fan_out: int) -> NDArray[np.float64]:
    return rng.normal(0.0, math.sqrt(2.0 / fan_in), (fan_in, fan_out))


def lecun_normal(rng: np.random.Generator, fan_in: int, fan_out: int) -> NDArray[np.float64]:
    return rng.normal(0.0, math.sqrt(1.0 / fan_in), (fan_in, fan_out))


def orthogonal(rng: np.random.Generator, fan_in: int, fan_out: int) -> NDArray[np.float64]:
    # Saxe et al. (2014): Q of a Gaussian matrix, with R's diagonal signs folded in so
    # that Q is Haar-distributed rather than biased by the QR convention.
    a = rng.standard_normal((max(fan_in, fan_out), min(fan_in, fan_out)))
    q, r = np.linalg.qr(a)
    q *= np.sign(np.diag(r))
    return q if fan_in >= fan_out else q.T


INITIALISERS: dict[str, Initialiser] = {
    "normal": normal,
    "standard": standard,
    "xavier_uniform": xavier_uniform,
    "xavier_normal": xavier_normal,
    "he_uniform": he_uniform,
    "he_normal": he_normal,
    "lecun_normal": lecun_normal,
    "orthogonal": orthogonal,
}
