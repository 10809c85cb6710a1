"""Row-wise reductions the recorder (core/stats.py) is built from, exact in float32.

Each kernel maps an ``(n, m)`` array (one row per layer, or per example) to ``(n,)``
float64 values. In float32 the squares of a vanishing gradient (entries below ~1e-19)
fall into the subnormal range, where they are slow, and below it, where they vanish;
``sumsq`` scales such rows by a power of two, which is exact, so a finite gradient always
has a finite, non-zero norm.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.floating]
F64 = NDArray[np.float64]
#: Elements per block of the fused weight pass: W, W_0 and the scratch block
#: (3 x 128 KiB in float32) stay in L2 while the block is read.
CHUNK = 1 << 15
#: A row whose previous mean square was below this is scaled up before squaring:
#: its squares would otherwise reach float32's subnormal range (below 2**-126).
_TINY_MEAN_SQUARE = 2.0**-60
#: Largest power of two applied: 2**126 is finite in float32, and brings any
#: non-zero float32 (at least 2**-149) to 2**-23 or more, so its square is normal.
_MAX_SHIFT = 126
#: Above this many runs of tiny rows, ``sumsq`` scales them through one gathered copy.
_MAX_RUNS = 8


def dots(a: Array) -> Array:
    """Row-wise a . a as a batch of BLAS dot products: 3x faster than einsum, no temporary."""
    out: Array = np.matmul(a[:, None, :], a[:, :, None]).reshape(a.shape[0])
    return out


def max_abs(a: Array) -> Array:
    # max and -min: two fast reductions, and no |a| temporary the size of the weights.
    out: Array = np.maximum(a.max(axis=1), -a.min(axis=1))
    return out


def _scaled_sumsq(a: Array, shift: NDArray[np.int64]) -> F64:
    """sum(a_i^2) of each row after multiplying it by 2**shift (a copy), scaled back.

    A wrong hint may overflow a row to inf: ``sumsq`` then sums it again.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        scaled = a * np.ldexp(1.0, shift).astype(a.dtype)[:, None]
        out: F64 = dots(scaled).astype(np.float64) * np.ldexp(1.0, -2 * shift)
    return out


def sumsq(a: Array, previous: F64 | None = None) -> F64:
    """Row-wise sum of squares of an (n, m) array, as float64 (n,).

    ``previous``: this array's result at the last record, (n,), or None. Rows that were
    tiny then are scaled by the power of two that brought their RMS near 1 (a hint:
    exact whatever it is). Rows that still under- or overflow, or come out tiny, are
    summed again after scaling each by the power of two that brings its largest entry
    into [0.5, 1).
    """
    if a.dtype == np.float64:
        out64: F64 = dots(a).astype(np.float64)
        return out64
    n, m = a.shape
    tiny = None
    if previous is not None and previous.shape == (n,):
        tiny = (previous > 0.0) & (previous < _TINY_MEAN_SQUARE * m)
        if not tiny.any():
            tiny = None
    if tiny is None:
        out: F64 = dots(a).astype(np.float64)
    else:
        assert previous is not None
        shift = np.minimum(-np.frexp(np.sqrt(previous / m))[1], _MAX_SHIFT).astype(np.int64)
        edges = np.flatnonzero(np.diff(tiny.astype(np.int8))) + 1
        if edges.size < _MAX_RUNS:
            # Contiguous runs of rows: tiny layers are usually neighbours (the input end).
            out = np.empty(n)
            for start, stop in zip([0, *edges], [*edges, n], strict=True):
                if tiny[start]:
                    out[start:stop] = _scaled_sumsq(a[start:stop], shift[start:stop])
                else:
                    out[start:stop] = dots(a[start:stop])
        else:
            # Scattered tiny rows (examples the network already fits): all rows, then
            # those again, scaled; a copy of the tiny rows only.
            out = dots(a).astype(np.float64)
            rows = np.flatnonzero(tiny)
            out[rows] = _scaled_sumsq(a[rows], shift[rows])
    # Tiny rows lost their smallest squares to underflow (the first record has no hint):
    # summed again, they become hinted rows at the next record.
    suspect = ~np.isfinite(out) | (out < _TINY_MEAN_SQUARE * m)
    if tiny is not None:
        suspect &= ~tiny | (out == 0.0) | ~np.isfinite(out)
    bad = np.flatnonzero(suspect)
    if bad.size:
        # Row maxima of the whole array are two fast passes and copy nothing; rows that
        # are exactly zero (layers that never moved) then cost nothing more.
        peak = max_abs(a)[bad].astype(np.float64)
        ok = np.isfinite(peak) & (peak > 0.0)  # NaN stays NaN; an all-zero row stays 0
        if ok.any():
            shift = np.minimum(-np.frexp(peak[ok])[1], _MAX_SHIFT).astype(np.int64)
            out[bad[ok]] = _scaled_sumsq(a[bad[ok]], shift)
    return out


def _blocks(n: int, m: int) -> tuple[int, int]:
    """(p, g): view n rows of m as n * p sub-rows of m / p, taken g sub-rows at a time."""
    p = 1
    if m > CHUNK:
        least = -(-m // CHUNK)
        p = next((q for q in range(least, 64 * least) if m % q == 0), 1)
    return p, max(1, CHUNK // (m // p))


def weight_sumsq(w: Array, w0: Array, scratch: Array) -> tuple[F64, F64]:
    """Row-wise sums of squares of w and of w - w0, (n, m) each, in one read of both.

    Blocks of at most ``CHUNK`` elements of ``w - w0`` go through ``scratch`` (at least
    ``CHUNK`` elements of w's dtype): no weight-sized temporary. Rows whose squares
    under- or overflow are summed again by ``sumsq`` (a copy, in that rare case only).
    """
    n, m = w.shape
    p, g = _blocks(n, m)
    rows = n * p
    sub_w, sub_w0 = w.reshape(rows, m // p), w0.reshape(rows, m // p)
    norm2, diff2 = np.empty(rows), np.empty(rows)
    # Sub-rows whose change is exactly 0 (layers the updates no longer move, common
    # where gradients vanish), checked while the block is in cache: no re-sum for them.
    unmoved = np.zeros(rows, dtype=bool)
    for i in range(0, rows, g):
        block = sub_w[i : i + g]
        d = scratch[: block.size].reshape(block.shape)
        np.subtract(block, sub_w0[i : i + g], out=d)
        norm2[i : i + g] = dots(block)
        change = diff2[i : i + g] = dots(d)
        zero = np.flatnonzero(change == 0.0)
        if zero.size:
            unmoved[i + zero] = ~d[zero].any(axis=1)
    norm2 = norm2.reshape(n, p).sum(axis=1)
    diff2 = diff2.reshape(n, p).sum(axis=1)
    if w.dtype != np.float64:
        for k in np.flatnonzero(~np.isfinite(norm2) | (norm2 == 0.0)):
            norm2[k] = sumsq(w[k : k + 1])[0]
        still = unmoved.reshape(n, p).all(axis=1)
        for k in np.flatnonzero((~np.isfinite(diff2) | (diff2 == 0.0)) & ~still):
            diff2[k] = sumsq((w[k] - w0[k])[None])[0]
    return norm2, diff2
