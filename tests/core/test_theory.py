"""Mean-field theory: the published numbers, the engine's activations, a Monte Carlo check."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
from numpy.typing import NDArray

from core import theory
from core.errors import SpecError
from core.nn.activations import make_activation
from core.spec import ACTIVATION_NAMES, INIT_NAMES, ExperimentSpec

Arr = NDArray[np.float64]


def spec(**model: object) -> ExperimentSpec:
    return ExperimentSpec.model_validate({"model": {"depth": 20, "width": 256, **model}})


# --- the known values of the issue -------------------------------------------------------


def test_sigmoid_fixed_point_and_chi() -> None:
    q = theory.q_star("sigmoid", 1.0, 1.0)
    assert q == pytest.approx(0.265, abs=5e-4)
    assert theory.chi("sigmoid", 1.0, q) == pytest.approx(0.0557, abs=5e-5)


def test_relu_at_sigma_w2_two_is_critical() -> None:
    assert theory.chi("relu", 2.0, 1.0) == pytest.approx(1.0, abs=1e-12)
    # Every q is a fixed point of ReLU at sigma_w^2 = 2: the iteration stays where it starts.
    assert theory.q_star("relu", 2.0, 3.0) == pytest.approx(3.0, rel=1e-12)


def test_tanh_at_sigma_w2_one_sits_at_chi_one_with_q_zero() -> None:
    q = theory.q_star("tanh", 1.0, 1.0)
    assert q == pytest.approx(0.0, abs=1e-9)
    assert theory.chi("tanh", 1.0, q) == pytest.approx(1.0, abs=1e-9)


@pytest.mark.parametrize(
    ("activation", "rate"), [("relu", 1.4669), ("tanh", 1.1778), ("sigmoid", 1.0336)]
)
def test_batch_norm_rates(activation: str, rate: float) -> None:
    assert theory.batch_norm_rate(activation) == pytest.approx(rate, abs=5e-5)


def test_relu_batch_norm_rate_is_pi_over_pi_minus_one() -> None:
    assert theory.batch_norm_rate("relu") == pytest.approx(math.pi / (math.pi - 1), rel=1e-10)


def test_quadrature_is_accurate_at_the_kink_and_for_large_q() -> None:
    relu_mean = theory.gauss_expect(lambda x: np.maximum(x, 0.0), 1.0)
    assert relu_mean == pytest.approx(1 / math.sqrt(2 * math.pi), rel=1e-12)
    # E[sech^4(16 z)] = (1/16) * (4/3) * N(0; 0, 1) to leading order: a spike that plain
    # Gauss-Hermite misses; a fine trapezoid rule on the same integrand is the reference.
    u = np.linspace(-12.0, 12.0, 400_001)
    density = np.exp(-(u**2) / (2 * 256.0)) / math.sqrt(2 * math.pi * 256.0)
    reference = float(np.trapezoid(density / np.cosh(u) ** 4, u))
    assert theory.gauss_expect(lambda x: 1 / np.cosh(x) ** 4, 256.0) == pytest.approx(
        reference, rel=1e-6
    )


def test_relu_above_criticality_has_no_finite_fixed_point() -> None:
    assert math.isinf(theory.q_star("relu", 3.0, 1.0))


# --- the theory's activations are the engine's, and they are the textbook functions ------

SELU_A, SELU_S = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
GELU_C, GELU_A = math.sqrt(2.0 / math.pi), 0.044715


def reference(name: str, x: Arr, a: float) -> tuple[Arr, Arr]:
    """phi and phi' written out plainly, independently of core.nn."""
    s = 0.5 * (1.0 + np.tanh(0.5 * x))
    t = np.tanh(GELU_C * (x + GELU_A * x**3))
    neg = np.minimum(x, 0.0)
    pairs: dict[str, tuple[Arr, Arr]] = {
        "sigmoid": (s, s * (1.0 - s)),
        "tanh": (np.tanh(x), 1.0 - np.tanh(x) ** 2),
        "relu": (np.maximum(x, 0.0), (x > 0).astype(np.float64)),
        "leaky_relu": (np.where(x > 0, x, a * x), np.where(x > 0, 1.0, a)),
        "swish": (x * s, s * (1.0 + x * (1.0 - s))),
        "gelu": (
            0.5 * x * (1.0 + t),
            0.5 * (1.0 + t) + 0.5 * x * (1.0 - t**2) * GELU_C * (1.0 + 3.0 * GELU_A * x**2),
        ),
        "elu": (np.where(x > 0, x, np.expm1(neg)), np.where(x > 0, 1.0, np.exp(neg))),
        "selu": (
            SELU_S * np.where(x > 0, x, SELU_A * np.expm1(neg)),
            SELU_S * np.where(x > 0, 1.0, SELU_A * np.exp(neg)),
        ),
        "linear": (x, np.ones_like(x)),
    }
    return pairs[name]


@pytest.mark.parametrize("name", ACTIVATION_NAMES)
def test_phi_and_derivative_are_the_engines_and_the_textbooks(name: str) -> None:
    x = np.linspace(-8.0, 8.0, 1601)
    x = x[np.abs(x) > 1e-9]  # the kink's value at exactly 0 is a convention
    engine = make_activation(name, 0.2)
    np.testing.assert_array_equal(theory.phi(name, x, 0.2), engine(x.copy()))
    np.testing.assert_array_equal(theory.dphi(name, x, 0.2), engine.derivative(x.copy()))
    f, g = reference(name, x, 0.2)
    np.testing.assert_allclose(theory.phi(name, x, 0.2), f, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(theory.dphi(name, x, 0.2), g, rtol=1e-10, atol=1e-12)


def test_the_theorys_sigmoid_keeps_its_precision_in_the_tail() -> None:
    # 0.5 (1 + tanh(x / 2)) rounds sigmoid(-30) to a few digits; 1 / (1 + e^30) does not.
    x = np.array([-30.0, -20.0])
    exact = np.exp(x) / (1.0 + np.exp(x))
    np.testing.assert_allclose(theory.phi("sigmoid", x), exact, rtol=1e-14)


@pytest.mark.parametrize("init", INIT_NAMES)
def test_sigma_w2_matches_the_engines_initialisers(init: str, rng: np.random.Generator) -> None:
    from core.nn.init import INITIALISERS

    for fan_in, fan_out in [(300, 300), (40, 400), (400, 40)]:
        w = INITIALISERS[init](rng, fan_in, fan_out)
        assert fan_in * float(np.var(w)) == pytest.approx(
            theory.sigma_w2(init, fan_in, fan_out), rel=0.06
        )


# --- predictions for a spec --------------------------------------------------------------


def test_deep_sigmoid_with_xavier_is_predicted_to_vanish() -> None:
    p = theory.predict(spec(activation="sigmoid", init="xavier_normal"))
    assert p["applies"] is True
    assert p["factor_per_layer"] == pytest.approx(math.sqrt(0.0557), abs=1e-3)
    # 19 factors of about 0.236 between layer 0 and layer 19.
    assert p["backprop_ratio_log10"] == pytest.approx(19 * math.log10(0.2360), abs=0.3)
    assert len(p["backprop_profile_log10"]) == 21
    assert p["backprop_profile_log10"][19] == 0.0


def test_relu_he_is_level_and_tanh_normal_explodes() -> None:
    relu = theory.predict(spec(activation="relu", init="he_normal"))
    assert relu["backprop_ratio_log10"] == pytest.approx(0.0, abs=1e-9)
    tanh = theory.predict(spec(activation="tanh", init="normal"))
    chi_1, ratio = tanh["chi_1"], tanh["backprop_ratio_log10"]
    assert chi_1 is not None
    assert ratio is not None
    assert chi_1 > 4.0
    assert ratio > 5.0


def test_prediction_is_json_safe_even_when_q_overflows() -> None:
    p = theory.predict(spec(activation="relu", init="normal", depth=500))
    text = json.dumps(p, allow_nan=False)
    assert p["q_star"] is None
    assert None in p["q_per_layer"]
    assert "backprop_ratio_log10" in text


def test_batch_norm_and_residual_have_their_own_theories() -> None:
    bn = theory.predict(spec(activation="relu", init="he_normal", batch_norm=True))
    assert bn["applies"] is True
    assert bn["method"] == "batch_norm_monte_carlo"
    assert bn["note"] is not None
    assert "Yang et al. (2019)" in bn["note"]
    assert bn["batch_norm_profile_log10"] == bn["backprop_profile_log10"]
    assert bn["backprop_ratio_log10"] is not None
    assert bn["backprop_ratio_log10"] > 0.5
    # The same spec, the same prediction: the Monte Carlo is seeded by the spec.
    again = theory.predict(spec(activation="relu", init="he_normal", batch_norm=True))
    assert again == bn
    res = theory.predict(spec(activation="relu", init="he_normal", residual=True))
    assert res["applies"] is True
    assert res["method"] == "reduced_residual"
    assert res["note"] is not None
    assert "Yang & Schoenholz 2017" in res["note"]
    both = theory.predict(spec(activation="relu", init="he_normal", residual=True, batch_norm=True))
    assert both["applies"] is False
    assert both["method"] == "none"
    assert both["note"] is not None
    assert "no prediction" in both["note"]


def test_batch_norm_on_wide_gaussian_inputs_grows_at_about_the_closed_form_rate() -> None:
    # High-dimensional inputs and a large batch: the batch recursion approaches
    # E[phi'(u)^2] / Var[phi(u)] per layer between hidden layers (Yang et al. 2019).
    p = theory.predict_for(
        "relu", "he_normal", 12, width=256, n_features=256, batch_norm=True, batch_size=128
    )
    prof = p["backprop_profile_log10"]
    assert prof[2] is not None
    assert prof[8] is not None
    per_layer = (prof[2] - prof[8]) / 6
    assert per_layer == pytest.approx(0.5 * math.log10(1.4669), abs=0.02)


def test_predict_for_checks_its_arguments() -> None:
    p = theory.predict_for("sigmoid", "lecun_normal", 10, width=64)
    assert p["q_star"] == pytest.approx(0.265, abs=5e-4)
    with pytest.raises(SpecError) as info:
        theory.predict_for("softsign", "he_normal", 0)
    assert {e.field for e in info.value.errors} == {"activation", "depth"}


@pytest.mark.parametrize(
    ("activation", "init"), [("tanh", "he_normal"), ("sigmoid", "xavier_normal")]
)
def test_monte_carlo_network_follows_the_recurrence(
    activation: str, init: str, rng: np.random.Generator
) -> None:
    # A wide random network: the measured back-propagated ratio over 8 layers should
    # match the finite-depth prediction (tanh + He: chi grows from 0.7 to 1.1 as q_l
    # settles; sigmoid + Xavier: about 0.236 per layer).
    width, depth, classes = 600, 8, 10
    p = theory.predict_for(
        activation, init, depth, width=width, n_features=width, n_classes=classes
    )
    dims = [width, *([width] * depth), classes]
    ws = [
        rng.normal(0, math.sqrt(theory.sigma_w2(init, a, b) / a), (a, b))
        for a, b in itertools.pairwise(dims)
    ]
    x = rng.standard_normal((64, width))
    pre = []
    for w in ws[:-1]:
        pre.append(x @ w)
        x = theory.phi(activation, pre[-1])
    delta = rng.standard_normal((64, classes))
    norms = []
    for layer in range(depth - 1, -1, -1):
        delta = (delta @ ws[layer + 1].T) * theory.dphi(activation, pre[layer])
        norms.append(float(np.sqrt(np.mean(np.sum(delta**2, axis=1)))))
    measured = math.log10(norms[-1] / norms[0])
    assert measured == pytest.approx(p["backprop_ratio_log10"], abs=0.1)


# --- the activation catalogue ------------------------------------------------------------


def test_activation_info_numbers() -> None:
    info = theory.ACTIVATION_INFO
    assert set(info) == set(ACTIVATION_NAMES)
    assert info["sigmoid"]["derivative_max"] == pytest.approx(0.25)
    lo, hi = info["sigmoid"]["flat_ranges"]
    assert lo[0] is None
    assert lo[1] == pytest.approx(-4.5849, abs=1e-3)
    assert hi[0] == pytest.approx(4.5849, abs=1e-3)
    assert hi[1] is None
    assert info["relu"]["flat_ranges"] == [[None, 0.0]]
    assert info["elu"]["flat_ranges"] == [[None, pytest.approx(math.log(0.01), abs=1e-3)]]
    assert info["linear"]["flat_ranges"] == []
    assert info["swish"]["derivative_max"] == pytest.approx(1.0998, abs=1e-3)
    json.dumps(info, allow_nan=False)


def test_a_deep_profile_far_from_criticality_stays_finite() -> None:
    # 499 factors of sqrt(chi_1) = 10^-3 each: 10^-1497, far below float64's range, so
    # the profile is computed in logarithms. ReLU's chi_1 does not depend on q: exact.
    p = theory.predict_for("relu", "he_normal", 500, width=256, init_gain=1e-3)
    chi = p["chi_1"]
    ratio = p["backprop_ratio_log10"]
    assert chi is not None
    assert ratio is not None
    assert ratio == pytest.approx(499 * 0.5 * math.log10(chi), rel=1e-9)
    assert ratio < -1400
