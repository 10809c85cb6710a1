"""Batch norm's mean field over an actual batch (Yang et al. 2019), by Monte Carlo.

With batch norm before every activation, a unit's pre-activations over the B
examples of a batch are one Gaussian vector, and what matters is the batch's
Gram matrix, not a single variance. On low-dimensional inputs (a 2-feature
spiral) the first layers' Gram matrices are far from the high-dimensional
limit, which is why the closed-form rate ``E[phi'(u)^2] / Var[phi(u)]`` misses
there. The recursion, per unit, over a batch of B examples:

    z ~ N(0, sw2[l] G_{l-1}),   G_{-1} = X X^T / n_features  (the run's first batch)
    u = (z - mean(z)) / sqrt(var(z) + eps),   h = phi(u)   (gamma = 1, beta = 0)
    G_l = E[h h^T]

and backward, for the covariance C_l (B x B) of one unit's dLoss/dz over the batch:

    g ~ N(0, (dims[l + 2] sw2[l + 1] / dims[l + 1]) C_{l + 1})       (dLoss/dh_l)
    C_l = E[J^T g g^T J],   J^T g = (1/sigma)(d - mean(d) - u mean(d u)),  d = phi'(u) g

starting from C = I at the logits (the softmax's error is close to isotropic over
the examples). ``|delta_l|^2`` is ``dims[l + 1] tr(C_l)`` and the weight
gradient's ``||X^T dZ||_F^2`` is ``dims[l] dims[l + 1] tr(G_{l-1} C_l)``. Each
expectation is an average over ``MC_UNITS`` sampled units from a generator
seeded by the spec's seed: the same spec gives the same prediction. The
finite-width network scatters around it by a few tenths of a decade at width 64
over 20 layers, and converges to it as the width grows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from core.nn.layers import BN_EPS
from core.theory.functions import pair

F64 = NDArray[np.float64]
#: Sampled units per layer: the log10 profile's Monte Carlo error is about 0.01 at depth 20.
MC_UNITS = 1024
#: Batches larger than this are predicted from their first MC_MAX_BATCH examples
#: (the cost grows as the batch squared; batch effects fade well before it).
MC_MAX_BATCH = 128


@dataclass(frozen=True)
class BatchNormProfile:
    """log10 profiles over layers 0 .. depth, relative to layer depth - 1."""

    backprop: list[float]
    grad: list[float]
    #: The batch size the recursion ran at.
    batch: int


def _sample(rng: np.random.Generator, cov: F64, n: int) -> F64:
    """n Gaussian vectors with covariance ``cov`` (B x B, possibly singular): (n, B).

    Every covariance here is a Gram matrix, so positive semi-definite; a jitter of
    1e-10 of its mean diagonal lets Cholesky (8x faster than an eigendecomposition)
    factor the singular ones (a 2-feature batch has rank 2), changing nothing visible.
    """
    b = cov.shape[0]
    jitter = 1e-10 * max(float(np.trace(cov)) / b, 1e-300)
    try:
        root = np.linalg.cholesky(cov + jitter * np.eye(b))
    except np.linalg.LinAlgError:
        lam, vecs = np.linalg.eigh(cov)
        root = vecs * np.sqrt(np.maximum(lam, 0.0))
    out: F64 = rng.standard_normal((n, b)) @ root.T
    return out


def _log10(x: float) -> float:
    return math.log10(x) if x > 0 else -math.inf


def batch_norm_profile(
    act: str,
    dims: list[int],
    sw2: list[float],
    x: F64,
    seed: int,
    negative_slope: float = 0.01,
) -> BatchNormProfile:
    """The batch-norm network's profiles at initialisation, for the input batch ``x``.

    x : (B, dims[0]), the first batch's inputs. ``len(dims) = depth + 2``.
    """
    depth = len(dims) - 2
    f, g = pair(act, negative_slope)
    rng = np.random.default_rng(seed)
    x = x[:MC_MAX_BATCH]
    B = x.shape[0]
    gram = [x @ x.T / x.shape[1]]  # gram[l]: per-unit Gram matrix of layer l's input
    cached: list[tuple[F64, F64]] = []
    for l in range(depth):
        z = _sample(rng, sw2[l] * gram[l], MC_UNITS)
        z -= z.mean(axis=1, keepdims=True)
        inv_std = 1.0 / np.sqrt((z * z).mean(axis=1, keepdims=True) + BN_EPS)
        u = z * inv_std
        h = f(u)
        cached.append((u, inv_std))
        gram.append(h.T @ h / MC_UNITS)

    C = np.eye(B)
    norms = [math.nan] * (depth + 1)
    grads = [math.nan] * (depth + 1)
    norms[depth] = dims[depth + 1] * float(np.trace(C))
    grads[depth] = dims[depth] * dims[depth + 1] * float(np.sum(gram[depth] * C))
    for l in range(depth - 1, -1, -1):
        gvec = _sample(rng, dims[l + 2] * sw2[l + 1] / dims[l + 1] * C, MC_UNITS)
        u, inv_std = cached[l]
        d = g(u) * gvec
        dz = d - d.mean(axis=1, keepdims=True) - u * (d * u).mean(axis=1, keepdims=True)
        dz *= inv_std
        C = dz.T @ dz / MC_UNITS
        norms[l] = dims[l + 1] * float(np.trace(C))
        grads[l] = dims[l] * dims[l + 1] * float(np.sum(gram[l] * C))
    return BatchNormProfile(
        backprop=[0.5 * _log10(n / norms[depth - 1]) for n in norms],
        grad=[0.5 * _log10(v / grads[depth - 1]) for v in grads],
        batch=B,
    )
