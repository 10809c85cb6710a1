"""Mean-field profiles of a network without batch norm: plain, or with residual blocks.

Per-unit second moments flow forward and squared gradient norms flow backward,
layer by layer, under the usual mean-field assumptions (infinite width, weights
drawn afresh for the backward pass: Poole et al. 2016, Schoenholz et al. 2017).
With residual blocks (Yang & Schoenholz 2017's reduced residual network, here
with blocks of ``residual_every`` layers) a block adds its input to its last
activation, so the stream's second moment adds and the gradient of a block's
input is the identity's plus the transform's, their cross terms averaging to 0
over the weights.

Notation, for dense layer l (``dims[l] -> dims[l + 1]``, ``sw2[l]`` = fan_in Var W):

    P_{-1} = 1                          (standardised inputs: E[x^2] = 1 per feature)
    q_l    = sw2[l] P_{l-1} + sb2       the pre-activation's variance
    P_l    = E[phi(sqrt(q_l) z)^2]  (+ P of the block's input where a block ends at l)
    T_l    = |dLoss/d(stream after l)|^2,  N_l = E[phi'(sqrt(q_l) z)^2] T_l = |delta_l|^2
    T_{l-1} = sw2[l] N_l  (+ T of the block's end where a block starts at l)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from core.nn.network import residual_blocks
from core.theory.functions import pair
from core.theory.meanfield import Q_OVERFLOW, gauss_expect


@dataclass(frozen=True)
class Profile:
    """log10 profiles over layers 0 .. depth, relative to layer depth - 1."""

    #: The depth hidden pre-activation variances q_l (inf past overflow).
    q: list[float]
    #: sqrt(sw2[l + 1] E[phi'(sqrt(q_l) z)^2]) for hidden layer l: the plain per-layer factor.
    layer_factors: list[float]
    backprop: list[float]
    grad: list[float]


def _ln(x: float) -> float:
    if math.isnan(x):
        return math.nan
    return math.log(x) if x > 0 else -math.inf


def _log10(x: float) -> float:
    if math.isnan(x):
        return math.nan
    return math.log10(x) if x > 0 else -math.inf


def mean_field_profile(
    act: str,
    dims: list[int],
    sw2: list[float],
    sb2: float,
    negative_slope: float = 0.01,
    residual_every: int | None = None,
) -> Profile:
    """The profiles for dense layers ``dims[i] -> dims[i + 1]``; ``len(dims) = depth + 2``."""
    depth = len(dims) - 2
    f, g = pair(act, negative_slope)
    blocks = residual_blocks(depth, residual_every)
    start_of_end = {stop - 1: start for start, stop in blocks}
    end_of_start = {start: stop - 1 for start, stop in blocks}

    # Forward: P[l + 1] is the stream's second moment per unit after hidden layer l.
    P = [1.0]
    qs: list[float] = []
    for l in range(depth):
        q = sw2[l] * P[l] + sb2
        q = q if q < Q_OVERFLOW else math.inf
        qs.append(q)
        m2 = gauss_expect(lambda x: f(x) ** 2, q) if math.isfinite(q) else math.inf
        if l in start_of_end:
            m2 += P[start_of_end[l]]  # the stream entering the block (after layer start - 1)
        P.append(m2)
    d2 = [gauss_expect(lambda x: g(x) ** 2, q) if math.isfinite(q) else math.nan for q in qs]

    # Backward, in natural logs of squared norms relative to the stream after the last
    # hidden layer: a deep net's product of factors leaves float64's range (depth 500 at
    # a gain far from 1 is 10^+-1500), its logarithm does not.
    LN = [math.nan] * (depth + 1)
    LT = [math.nan] * depth
    LN[depth] = -_ln(sw2[depth])  # so that LT[depth - 1] = ln(sw2[depth]) + LN[depth] = 0
    lt = 0.0
    for l in range(depth - 1, -1, -1):
        LT[l] = lt
        LN[l] = _ln(d2[l]) + lt
        lt = _ln(sw2[l]) + LN[l]
        if l in end_of_start:  # the identity path adds the block's own gradient
            lt = float(np.logaddexp(lt, LT[end_of_start[l]]))
    ref = LN[depth - 1]
    backprop = [0.5 * (n - ref) / math.log(10) for n in LN]
    # One example's weight gradient: |x_l| |delta_l|, |x_l|^2 = dims[l] P_{l-1}.
    grad = [b + 0.5 * _log10(dims[l] * P[l]) for l, b in enumerate(backprop)]
    grad = [x - grad[depth - 1] for x in grad]
    factors = [math.sqrt(sw2[l + 1] * d2[l]) for l in range(depth)]
    return Profile(q=qs, layer_factors=factors, backprop=backprop, grad=grad)
