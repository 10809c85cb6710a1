"""The recorder's one-read kernels against their definitions, in float64 (core/stats_kernels.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.typing import NDArray

from core.stats_kernels import apply_and_measure, moments, output_moments, sumsq, weight_sumsq

Arr = NDArray[np.floating]
F64 = NDArray[np.float64]


def _sumsq64(a: Arr) -> F64:
    a64 = a.astype(np.float64)
    out: F64 = (a64 * a64).sum(axis=1)
    return out


@pytest.mark.parametrize("exponent", [-149, -140, -126, -90, -72, -40, 0, 40, 127])
def test_sumsq_of_float32_rows_of_any_magnitude_matches_float64(exponent: int) -> None:
    # Subnormal entries (2**-149 .. 2**-126), entries whose squares are subnormal or
    # underflow in float32 (2**-72, 2**-90), entries whose squares overflow it (2**127).
    rng = np.random.default_rng(exponent + 200)
    a = (np.ldexp(1.0, exponent) * rng.uniform(1.0, 1.9, size=(3, 40))).astype(np.float32)
    want = _sumsq64(a)
    assert np.all(want > 0.0)
    assert np.all(np.isfinite(want))
    np.testing.assert_allclose(sumsq(a), want, rtol=1e-12)


def test_sumsq_keeps_zero_rows_zero_and_nan_rows_nan() -> None:
    a = np.zeros((3, 8), dtype=np.float32)
    a[1, 2] = np.nan
    a[2, 0] = np.float32(1e-40)
    out = sumsq(a)
    assert out[0] == 0.0
    assert math.isnan(out[1])
    assert out[2] == pytest.approx(float(np.float32(1e-40)) ** 2, rel=1e-12)


finite32 = st.floats(
    min_value=-(2.0**100), max_value=2.0**100, allow_nan=False, allow_infinity=False, width=32
)


@settings(max_examples=60, deadline=None)
@given(
    a=hnp.arrays(
        np.float32, hnp.array_shapes(min_dims=2, max_dims=2, max_side=70), elements=finite32
    )
)
def test_moments_equal_their_definitions(a: NDArray[np.float32]) -> None:
    got = moments(a)
    a64 = a.astype(np.float64)
    np.testing.assert_allclose(got[:, 0], a64.sum(axis=1), rtol=1e-9, atol=1e-9 * np.abs(a64).sum())
    np.testing.assert_allclose(got[:, 1], _sumsq64(a), rtol=1e-9)
    np.testing.assert_array_equal(got[:, 2], np.abs(a64).max(axis=1))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_moments_propagate_nan_and_infinity(dtype: type[np.floating]) -> None:
    a = np.ones((4, 33), dtype=dtype)
    a[0, 5] = np.nan
    a[1, 7] = -np.inf
    a[2, 9] = np.inf
    a[2, 10] = np.nan  # NaN wins over inf
    a[3] = -2.0
    got = moments(a)
    assert np.isnan(got[0]).all()
    np.testing.assert_array_equal(got[1], [-np.inf, np.inf, np.inf])
    assert np.isnan(got[2]).all()
    np.testing.assert_array_equal(got[3], [-66.0, 132.0, 2.0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(3, 100), (2, 3 * 2**15), (1, 7)])
def test_weight_sumsq_equals_both_definitions(shape: tuple[int, int], dtype: type) -> None:
    rng = np.random.default_rng(3)
    w0: Arr = rng.standard_normal(shape).astype(dtype)
    w: Arr = w0 + rng.standard_normal(shape).astype(dtype) * dtype(1e-3)
    w[0] = w0[0]  # one row equals its start: no change, exactly
    norm2, diff2 = weight_sumsq(w, w0)
    np.testing.assert_allclose(norm2, _sumsq64(w), rtol=1e-12)
    np.testing.assert_allclose(diff2, _sumsq64(w.astype(np.float64) - w0), rtol=1e-12)
    assert diff2[0] == 0.0


def test_weight_sumsq_of_a_vanishing_float32_change_is_not_zero() -> None:
    w0 = np.ones((2, 50), dtype=np.float32)
    w = w0.copy()
    w[1, 3] = np.nextafter(np.float32(1.0), np.float32(2.0))  # a change of 2**-23
    w0[1, 4] = np.float32(1e-30)
    w[1, 4] = np.float32(2e-30)  # squares of 1e-30 underflow in float32
    _, diff2 = weight_sumsq(w, w0)
    assert diff2[0] == 0.0
    want = 2.0**-46 + (float(np.float32(2e-30)) - float(np.float32(1e-30))) ** 2
    assert diff2[1] == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    ("saturation", "can_die"),
    [((0.5, 0.49), False), ((0.0, 0.99), False), (None, True), (None, False)],
)
def test_output_moments_equal_their_definitions(
    dtype: type[np.floating], saturation: tuple[float, float] | None, can_die: bool
) -> None:
    rng = np.random.default_rng(11)
    h = rng.uniform(-1.0, 1.0, size=(3, 9, 13)).astype(dtype)
    h[h < -0.5] = 0.0  # zeros scattered over the batch do not make a unit dead
    h[1, :, 4] = 0.0  # one dead unit in layer 1
    h[2, :, [0, 12]] = 0.0  # two in layer 2
    h[0, 3, 2] = 0.995  # tails on both sides
    h[0, 4, 2] = -0.995
    h[0, 5, 2] = 0.005
    h[1, 2, 4] = -0.0  # a signed zero is zero
    got, rows = output_moments(h, saturation, can_die)
    np.testing.assert_allclose(rows, (h.astype(np.float64) ** 2).sum(axis=2), rtol=1e-12)
    h64 = h.astype(np.float64).reshape(3, -1)
    np.testing.assert_allclose(got[:, 0], h64.sum(axis=1), rtol=1e-12)
    np.testing.assert_allclose(got[:, 1], (h64 * h64).sum(axis=1), rtol=1e-12)
    if saturation is None:
        tails = np.zeros(3)
    else:
        centre, radius = saturation
        tails = (np.abs(h64 - centre) > radius).sum(axis=1)
    np.testing.assert_array_equal(got[:, 2], tails)
    if can_die:
        np.testing.assert_array_equal(got[:, 3], np.all(h == 0.0, axis=1).sum(axis=1))
        np.testing.assert_array_equal(got[:, 3], [0, 1, 2])
    else:
        np.testing.assert_array_equal(got[:, 3], 0.0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_apply_and_measure_updates_like_numpy_and_measures_before(dtype: type) -> None:
    rng = np.random.default_rng(5)
    w0: Arr = rng.standard_normal((4, 300)).astype(dtype)
    w: Arr = w0 + rng.standard_normal((4, 300)).astype(dtype) * dtype(0.1)
    d: Arr = rng.standard_normal((4, 300)).astype(dtype) * dtype(1e-3)
    d[0] = 0.0
    d[1, :3] = [-0.0, np.float32(1e-40), -w[1, 2]]  # signed zero, subnormal, exact cancel
    want = w + d
    before = w.copy()
    got = apply_and_measure(w, d, w0)
    assert w.tobytes() == want.tobytes()  # bit for bit what theta += delta gives
    np.testing.assert_allclose(got[:, 0], _sumsq64(before), rtol=1e-12)
    np.testing.assert_allclose(got[:, 1], _sumsq64(before.astype(np.float64) - w0), rtol=1e-12)
    np.testing.assert_allclose(got[:, 2], _sumsq64(d), rtol=1e-12)
    assert got[0, 2] == 0.0
