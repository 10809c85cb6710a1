"""Mean-field recurrences: Gaussian expectations, q*, chi and the batch-norm rate.

Expectations ``E[f(sqrt(q) z)]``, ``z ~ N(0, 1)``, use composite Gauss-Legendre
quadrature in z, split at 0 and on panels scaled to ``sqrt(q)``. Plain
Gauss-Hermite (``hermegauss``) is exact for smooth integrands at moderate q, but
ReLU's kink at 0 costs it three digits and, for large q, ``phi'(sqrt(q) z)^2`` is
a spike narrower than the node spacing (tanh at q = 256: wrong by 90 % with 200
nodes); the split panels are accurate to about 1e-12 in both cases.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache

import numpy as np

from core.theory.functions import Array, Fn, pair

#: Pre-activation variances beyond this are treated as infinite (float overflow).
Q_OVERFLOW = 1e200

_GL_X, _GL_W = np.polynomial.legendre.leggauss(8)
#: z beyond +-Z_MAX carries less than 1e-18 of the Gaussian's mass.
_Z_MAX = 9.0
#: |u| = |sqrt(q) z| up to this is where every phi and phi' here bends.
_U_ACTIVE = 30.0


def _edges(a: float, b: float, width: float) -> Array:
    n = max(1, math.ceil((b - a) / width))
    return np.linspace(a, b, n + 1)


@lru_cache(maxsize=1024)
def _nodes(q: float) -> tuple[Array, Array]:
    """Nodes z and weights w with sum(w f(sqrt(q) z)) = E[f(sqrt(q) z)], z ~ N(0, 1)."""
    s = math.sqrt(q)
    inner = min(_Z_MAX, _U_ACTIVE / s) if s > 0 else _Z_MAX
    # Panels 0.25 wide in u inside the active region, 0.25 wide in z outside it; 0 is an
    # edge, so ReLU's kink never falls inside a panel.
    width = min(0.25 / s, 0.25) if s > 0 else 0.25
    right = _edges(0.0, inner, width)
    if inner < _Z_MAX:
        right = np.concatenate([right, _edges(inner, _Z_MAX, 0.25)[1:]])
    edges = np.concatenate([-right[:0:-1], right])
    lo, hi = edges[:-1, None], edges[1:, None]
    z = (0.5 * (hi - lo) * _GL_X + 0.5 * (hi + lo)).ravel()
    w = (0.5 * (hi - lo) * _GL_W).ravel() * np.exp(-0.5 * z**2) / math.sqrt(2.0 * math.pi)
    return z, w


#: Where q = 0, f is read this close to 0 on both sides (see ``gauss_expect``).
_Q0_PROBE = 1e-150


def gauss_expect(f: Fn, q: float) -> float:
    """E[f(sqrt(q) z)] for z ~ N(0, 1); at ``q = 0`` and ``q = inf`` the limits.

    As q -> 0 the Gaussian puts half its mass on each side of 0, so the limit is
    (f(0+) + f(0-)) / 2, not f(0): ReLU's E[phi'^2] tends to 1/2, although the
    engine's phi'(0) is 0. For a function continuous at 0 the two agree.
    """
    if q <= 0.0:
        return float(np.mean(f(np.array([_Q0_PROBE, -_Q0_PROBE]))))
    z, w = _nodes(min(float(q), Q_OVERFLOW))
    return float(np.dot(w, f(math.sqrt(min(q, Q_OVERFLOW)) * z)))


# --- the recurrence -----------------------------------------------------------------


def sigma_w2(init: str, fan_in: int, fan_out: int) -> float:
    """sigma_w^2 = fan_in * Var[W_ij] for the initialiser ``init`` (a ``model.init`` literal)."""
    table = {
        "normal": float(fan_in),
        "standard": 1.0 / 3.0,
        "xavier_uniform": 2.0 * fan_in / (fan_in + fan_out),
        "xavier_normal": 2.0 * fan_in / (fan_in + fan_out),
        "he_uniform": 2.0,
        "he_normal": 2.0,
        "lecun_normal": 1.0,
        # Orthonormal columns (fan_in >= fan_out) or rows: Var = 1 / max(fan_in, fan_out).
        "orthogonal": fan_in / max(fan_in, fan_out),
    }
    if init not in table:
        raise KeyError(f"unknown initialiser {init!r}")
    return table[init]


def q_map(act: str, sw2: float, a: float = 0.01, sb2: float = 0.0) -> Callable[[float], float]:
    """q -> sigma_w^2 E[phi(sqrt(q) z)^2] + sigma_b^2: one layer of the variance recurrence."""
    f = pair(act, a)[0]
    return lambda q: sw2 * gauss_expect(lambda x: f(x) ** 2, q) + sb2


def chi(act: str, sw2: float, q: float, negative_slope: float = 0.01) -> float:
    """chi = sigma_w^2 E[phi'(sqrt(q) z)^2]: the squared-norm factor of one layer."""
    g = pair(act, negative_slope)[1]
    return sw2 * gauss_expect(lambda x: g(x) ** 2, q)


def q_star(
    act: str, sw2: float, q0: float, negative_slope: float = 0.01, sb2: float = 0.0
) -> float:
    """The fixed point of q -> sigma_w^2 E[phi(sqrt(q) z)^2] + sigma_b^2 reached from ``q0``.

    The map is increasing in q, so iterates move monotonically to the nearest
    stable fixed point; when they crawl (tanh at sigma_w^2 = 1 approaches 0 like
    1/l) the fixed point is found by bisection between the iterate and the end
    of its path. ``inf`` when q grows without bound (ReLU above sigma_w^2 = 2).
    """
    m = q_map(act, sw2, negative_slope, sb2)
    q = q0
    for _ in range(200):
        nxt = m(q)
        if abs(nxt - q) <= 1e-12 * max(1.0, q):
            return nxt
        if nxt >= Q_OVERFLOW:
            return math.inf
        up, q = nxt > q, nxt

    def g(x: float) -> float:
        return m(x) - x

    # Bracket the root with g(lo) >= 0 >= g(hi), then bisect.
    lo = hi = q
    if up:
        while g(hi) > 0:
            lo, hi = hi, hi * 2.0
            if hi >= Q_OVERFLOW:
                return math.inf
    else:
        while g(lo) < 0:
            lo, hi = lo / 2.0, lo
            if lo < 1e-300:
                return 0.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if g(mid) > 0:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-13 * hi:
            break
    return 0.5 * (lo + hi)


def q_slope(
    act: str, sw2: float, q: float, negative_slope: float = 0.01, sb2: float = 0.0
) -> float:
    """d q_{l+1} / d q_l at ``q``: how fast q approaches its fixed point (xi_q's rate).

    A central difference (one-sided at q = 0, where the map starts), exact to about
    1e-8 relative; the map is smooth in q for every activation here.
    """
    if not math.isfinite(q):
        return math.nan
    m = q_map(act, sw2, negative_slope, sb2)
    h = 1e-5 * max(q, 1e-6)
    if q - h <= 0.0:
        return (m(q + h) - m(q)) / h
    return (m(q + h) - m(q - h)) / (2.0 * h)


def batch_norm_rate(act: str, negative_slope: float = 0.01) -> float:
    """E[phi'(u)^2] / Var[phi(u)], u ~ N(0, 1): per-layer growth of |delta|^2 under batch norm."""
    f, g = pair(act, negative_slope)
    mean = gauss_expect(f, 1.0)
    var = gauss_expect(lambda x: f(x) ** 2, 1.0) - mean**2
    return gauss_expect(lambda x: g(x) ** 2, 1.0) / var
