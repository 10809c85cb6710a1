"""Row-wise reductions the recorder (core/stats.py) is built from: each array read once.

Each kernel maps an array with one row per layer (or per example) to per-row float64
values, accumulated in float64 as it reads. That makes them exact for float32's vanishing
gradients without any rescaling: the square of any float32, down to 2**-149, is a normal
float64 (2**-298, far above float64's 2**-1022), so a finite, non-zero gradient always
has a finite, non-zero norm, and a huge one (1e20, whose square overflows float32) a
finite norm too.

The kernels are compiled by numba. NumPy needs one pass over memory per reduction (sum,
sum of squares, max, min, each a separate call) plus temporaries for ``|a|`` or
``w - w0``; here a row's sum, sum of squares and largest magnitude come from one read.
``fastmath`` allows only reassociation and contraction, so the sums vectorise while NaN
and infinity still propagate into the results. ``cache=True`` keeps the machine code on
disk (next to this file, or in ``NUMBA_CACHE_DIR``): a new worker process loads it
instead of compiling again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba
import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.floating]
F64 = NDArray[np.float64]
_F = TypeVar("_F", bound=Callable[..., None])
#: Reassociation lets the float64 accumulators vectorise. No flag assumes away NaN, inf or
#: the sign of zero: ``apply_and_measure`` writes parameters, bit for bit as NumPy's ``+=``.
_FASTMATH = {"reassoc", "contract"}
#: Per float dtype: the integer type of its bits and the mask that clears the sign bit.
#: Magnitudes compare as these integers (NaN above inf), which vectorises where a float
#: max of |x| does not.
_BITS: dict[np.dtype[Any], tuple[type[np.signedinteger[Any]], int]] = {
    np.dtype(np.float32): (np.int32, 0x7FFF_FFFF),
    np.dtype(np.float64): (np.int64, 0x7FFF_FFFF_FFFF_FFFF),
}


def _compiled(fn: _F) -> _F:
    return cast(_F, numba.njit(cache=True, nogil=True, fastmath=_FASTMATH)(fn))


@_compiled
def _moments(
    a: Array, bits: NDArray[np.signedinteger[Any]], mask: Any, out: F64, peak: NDArray[Any]
) -> None:
    n, m = a.shape
    for i in range(n):
        s = 0.0
        q = 0.0
        p = mask ^ mask
        for j in range(m):
            x = np.float64(a[i, j])
            s += x
            q += x * x
            p = max(p, bits[i, j] & mask)
        out[i, 0] = s
        out[i, 1] = q
        peak[i] = p


@_compiled
def _sumsq(a: Array, out: F64) -> None:
    n, m = a.shape
    for i in range(n):
        q = 0.0
        for j in range(m):
            x = np.float64(a[i, j])
            q += x * x
        out[i] = q


@_compiled
def _weight_sumsq(w: Array, w0: Array, out: F64) -> None:
    n, m = w.shape
    for i in range(n):
        q = 0.0
        d = 0.0
        for j in range(m):
            x = np.float64(w[i, j])
            y = x - np.float64(w0[i, j])
            q += x * x
            d += y * y
        out[i, 0] = q
        out[i, 1] = d


@_compiled
def _apply_and_measure(w: Array, d: Array, w0: Array, out: F64) -> None:
    n, m = w.shape
    for i in range(n):
        q = 0.0
        c = 0.0
        u = 0.0
        for j in range(m):
            x = w[i, j]
            e = d[i, j]
            x64 = np.float64(x)
            y = x64 - np.float64(w0[i, j])
            e64 = np.float64(e)
            q += x64 * x64
            c += y * y
            u += e64 * e64
            w[i, j] = x + e  # in w's own precision, as theta += delta
        out[i, 0] = q
        out[i, 1] = c
        out[i, 2] = u


@_compiled
def _output_moments(
    h: Array,
    bits: NDArray[np.signedinteger[Any]],
    mask: Any,
    tails: tuple[float, float] | None,
    dies: bool,
    out: F64,
    rows: F64,
    peak: NDArray[Any],
) -> None:
    n, batch, width = h.shape
    # One inner loop per kind of activation: a loop that tests for both tails and dead
    # units runs at half the speed of one that tests for one (none saturates and dies).
    centre, radius = tails if tails is not None else (0.0, 0.0)
    for i in range(n):
        peak[:] = 0
        s = 0.0
        k = 0.0
        for b in range(batch):
            q = 0.0
            if tails is not None:
                for j in range(width):
                    x = np.float64(h[i, b, j])
                    s += x
                    q += x * x
                    k += 1.0 if abs(x - centre) > radius else 0.0
            elif dies:
                for j in range(width):
                    x = np.float64(h[i, b, j])
                    s += x
                    q += x * x
                    peak[j] = max(peak[j], bits[i, b, j] & mask)
            else:
                for j in range(width):
                    x = np.float64(h[i, b, j])
                    s += x
                    q += x * x
            rows[i, b] = q
        out[i, 0] = s
        out[i, 1] = rows[i].sum()
        out[i, 2] = k
        out[i, 3] = width - np.count_nonzero(peak) if dies else 0.0


def moments(a: Array) -> F64:
    """Per row of ``a`` (n, m): its sum, sum of squares and largest magnitude, (n, 3).

    A row holding NaN has NaN for all three; one holding +-inf (and no NaN), an infinite
    sum of squares and peak.
    """
    bits_type, mask = _BITS[a.dtype]
    out = np.empty((a.shape[0], 3))
    peak = np.empty(a.shape[0], dtype=bits_type)
    _moments(a, a.view(bits_type), bits_type(mask), out, peak)
    out[:, 2] = peak.view(a.dtype)
    return out


def sumsq(a: Array) -> F64:
    """Per row of ``a`` (n, m): the sum of its squares, (n,)."""
    out = np.empty(a.shape[0])
    _sumsq(a, out)
    return out


def weight_sumsq(w: Array, w0: Array) -> tuple[F64, F64]:
    """Per row of ``w`` and ``w0`` (n, m) each: sum of squares of w and of w - w0, (n,) each.

    ``w - w0`` is formed in float64, element by element: no weight-sized temporary, and a
    change below float32's resolution is not lost to rounding.
    """
    out = np.empty((w.shape[0], 2))
    _weight_sumsq(w, w0, out)
    return out[:, 0], out[:, 1]


def apply_and_measure(w: Array, d: Array, w0: Array) -> F64:
    """``w += d`` row by row, measuring as it goes, (n, 3): per row of w, d, w0 (n, m) each,
    the sums of squares of w and of w - w0 before the update, and of the update d.

    The update pass reads w and d and writes w anyway: the weight statistics cost it one
    more stream (w0), not passes of their own.
    """
    out = np.empty((w.shape[0], 3))
    _apply_and_measure(w, d, w0, out)
    return out


def output_moments(
    h: Array, saturation: tuple[float, float] | None, can_die: bool
) -> tuple[F64, F64]:
    """Per layer of a stack of outputs ``h`` (n, batch, width), in one read of it.

    Returns ``(n, 4)``: sum, sum of squares, entries in the flat tails
    ``|h - centre| > radius`` (0 when ``saturation`` is None) and, when ``can_die``,
    units that are 0 for every example (dead; else 0); and ``(n, batch)``: each
    example's sum of squares. An activation either saturates or dies, not both.
    """
    assert saturation is None or not can_die
    bits_type, mask = _BITS[h.dtype]
    n, batch, width = h.shape
    out, rows = np.empty((n, 4)), np.empty((n, batch))
    peak = np.empty(width, dtype=bits_type)
    _output_moments(h, h.view(bits_type), bits_type(mask), saturation, can_die, out, rows, peak)
    return out, rows
