"""Activations: derivatives against central differences, forwards against PyTorch."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from numpy.typing import NDArray

from core.nn.activations import (
    ACTIVATIONS,
    GELU_A,
    GELU_C,
    SELU_ALPHA,
    SELU_SCALE,
    ActivationFunction,
    make_activation,
)
from core.spec import ACTIVATION_NAMES

Arr = NDArray[np.floating]
SLOPE = 0.2  # a leaky_relu slope far from the default, so a default slipping in shows
#: Where the derivative jumps (ReLU family, SELU) or has a kink in its derivative (ELU).
KINKED = {"relu", "leaky_relu", "elu", "selu"}


def act(name: str) -> ActivationFunction:
    return make_activation(name, negative_slope=SLOPE)


def grid(name: str) -> Arr:
    """Points in [-8, 8], at least 1e-3 away from 0 for the activations with a kink there."""
    z = np.linspace(-8.0, 8.0, 2001)
    if name in KINKED:
        z = z[np.abs(z) > 1e-3]
    return z


def test_registry_covers_the_spec() -> None:
    assert set(ACTIVATIONS) == set(ACTIVATION_NAMES)
    for name in ACTIVATION_NAMES:
        assert act(name).name == name


@pytest.mark.parametrize("name", ACTIVATION_NAMES)
def test_derivative_matches_central_differences(name: str) -> None:
    a, z, h = act(name), grid(name), 1e-6
    numeric = (a(z + h) - a(z - h)) / (2 * h)
    exact = a.derivative(z)
    # Central differences at h = 1e-6 are good to ~1e-10 absolute here.
    np.testing.assert_allclose(exact, numeric, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("name", ACTIVATION_NAMES)
def test_backward_multiplies_the_incoming_gradient(name: str, rng: np.random.Generator) -> None:
    a = act(name)
    z = rng.standard_normal((6, 5)) * 3
    dh = rng.standard_normal((6, 5))
    h = a(z)
    tmp = np.full_like(z, np.nan)  # scratch must be written before it is read
    out = a.backward(z, h, dh, np.empty_like(z), tmp)
    np.testing.assert_allclose(out, dh * a.derivative(z), rtol=1e-13, atol=1e-15)


def _torch_reference(name: str) -> Callable[[Arr], Arr]:
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    fns = {
        "sigmoid": torch.sigmoid,
        "tanh": torch.tanh,
        "relu": F.relu,
        "leaky_relu": lambda t: F.leaky_relu(t, negative_slope=SLOPE),
        "swish": F.silu,
        "gelu": lambda t: F.gelu(t, approximate="tanh"),
        "elu": lambda t: F.elu(t, alpha=1.0),
        "selu": F.selu,
        "linear": lambda t: t,
    }
    fn = fns[name]

    def ref(z: Arr) -> Arr:
        out: Arr = fn(torch.from_numpy(z)).numpy()
        return out

    return ref


@pytest.mark.parametrize("name", ACTIVATION_NAMES)
def test_forward_matches_pytorch_in_float64(name: str) -> None:
    ref = _torch_reference(name)
    z = np.linspace(-12.0, 12.0, 4801)
    np.testing.assert_allclose(act(name)(z), ref(z), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", ACTIVATION_NAMES)
def test_forward_matches_pytorch_in_float32(name: str) -> None:
    ref = _torch_reference(name)
    z = np.linspace(-6.0, 6.0, 1201).astype(np.float32)
    out = act(name)(z)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, ref(z), rtol=2e-6, atol=2e-7)


def test_constants_are_the_published_ones() -> None:
    # Klambauer et al. (2017) and Hendrycks & Gimpel (2016), to the digits they print.
    assert pytest.approx(1.6732632423543772, rel=1e-15) == SELU_ALPHA
    assert pytest.approx(1.0507009873554805, rel=1e-15) == SELU_SCALE
    assert pytest.approx(0.7978845608028654, rel=1e-15) == GELU_C
    assert GELU_A == 0.044715


def test_independent_formulas() -> None:
    """Formulas written out here, for the points where PyTorch is not the reference."""
    z = np.linspace(-5.0, 5.0, 101)
    s = 1.0 / (1.0 + np.exp(-z))
    np.testing.assert_allclose(act("sigmoid")(z), s, rtol=1e-13)
    np.testing.assert_allclose(act("swish").derivative(z), s * (1 + z * (1 - s)), rtol=1e-12)
    np.testing.assert_allclose(act("tanh").derivative(z), 1 - np.tanh(z) ** 2, atol=1e-15)
    neg = z[z < 0]
    np.testing.assert_allclose(
        act("selu").derivative(neg), SELU_SCALE * SELU_ALPHA * np.exp(neg), rtol=1e-12
    )
    np.testing.assert_allclose(act("elu").derivative(neg), np.exp(neg), rtol=1e-12)
    assert np.all(act("leaky_relu").derivative(neg) == SLOPE)
    assert np.all(act("relu").derivative(neg) == 0.0)
    assert np.all(act("relu").derivative(-neg) == 1.0)


def test_leaky_relu_slope_comes_from_the_argument() -> None:
    z = np.array([-2.0, 3.0])
    np.testing.assert_array_equal(make_activation("leaky_relu", 0.5)(z), [-1.0, 3.0])
    np.testing.assert_array_equal(make_activation("leaky_relu")(z), [-0.02, 3.0])


@pytest.mark.parametrize("name", ["sigmoid", "tanh"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_and_tanh_never_overflow(name: str, dtype: type[np.floating]) -> None:
    a = act(name)
    z = np.array([-1000.0, -100.0, 0.0, 100.0, 1000.0], dtype=dtype)
    with np.errstate(all="raise"):  # an overflow raises instead of warning
        h = a(z)
        d = a.derivative(z)
    assert h.dtype == dtype
    assert np.all(np.isfinite(h))
    assert np.all(np.isfinite(d))
    low = 0.0 if name == "sigmoid" else -1.0
    np.testing.assert_array_equal(h[[0, -1]], [low, 1.0])
    np.testing.assert_array_equal(d[[0, -1]], [0.0, 0.0])


def test_sigmoid_derivative_peaks_at_a_quarter_at_zero() -> None:
    a = act("sigmoid")
    assert a.derivative(np.array([0.0]))[0] == 0.25
    z = np.linspace(-10.0, 10.0, 20001)
    d = a.derivative(z)
    assert d.max() == 0.25
    assert z[np.argmax(d)] == 0.0
    assert np.all(d <= 0.25)


def test_sigmoid_keeps_relative_precision_in_the_left_tail() -> None:
    # 0.5 (1 + tanh(z/2)) would give float32 sigmoid(-20) = 0 and float64 sigmoid(-40) = 0.
    a = act("sigmoid")
    z64 = np.array([-20.0, -30.0, -40.0, -80.0])
    np.testing.assert_allclose(a(z64), np.exp(z64) / (1 + np.exp(z64)), rtol=1e-12)
    z32 = np.array([-10.0, -17.0, -20.0, -40.0], dtype=np.float32)
    e32 = np.exp(z32.astype(np.float64))
    np.testing.assert_allclose(a(z32), e32 / (1 + e32), rtol=1e-5)


def test_saturation_tails_and_dying_units_follow_the_contract() -> None:
    # Sigmoid: h < 0.01 or h > 0.99; tanh: |h| > 0.99 (docs/contract.md § Statistics),
    # as |h - c| > r.
    c, r = act("sigmoid").saturation or (np.nan, np.nan)
    assert (c - r, c + r) == pytest.approx((0.01, 0.99), abs=1e-15)
    c, r = act("tanh").saturation or (np.nan, np.nan)
    assert (c - r, c + r) == pytest.approx((-0.99, 0.99), abs=1e-15)
    assert {n for n in ACTIVATION_NAMES if act(n).saturation is not None} == {"sigmoid", "tanh"}
    # Only ReLU outputs exactly 0 for a whole range of inputs.
    assert {n for n in ACTIVATION_NAMES if act(n).can_die} == {"relu"}
