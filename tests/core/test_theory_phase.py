"""chi_1 at q* = 0 as a limit, the depth scales and phase, init_gain and bias_std."""

from __future__ import annotations

import math

import numpy as np
import pytest

from core import theory
from core.errors import SpecError
from core.spec import ExperimentSpec
from core.train import build_network


def test_relu_chi_at_q_star_zero_is_the_limit_not_the_kink() -> None:
    # Square Xavier: sigma_w^2 = 1, so ReLU's q shrinks to 0 and chi_1 = sigma_w^2 / 2.
    p = theory.predict_for("relu", "xavier_normal", 20)
    assert p["q_star"] == 0.0
    assert p["chi_1"] == pytest.approx(0.5, rel=1e-9)
    assert p["factor_per_layer"] == pytest.approx(math.sqrt(0.5), rel=1e-9)
    assert p["layer_factors"][5] == pytest.approx(p["factor_per_layer"], rel=1e-6)
    assert p["phase"] == "ordered"
    assert p["xi_c"] == pytest.approx(-1.0 / math.log(0.5), rel=1e-9)
    # leaky ReLU: the average of both sides' squared slopes.
    a = 0.3
    leaky = theory.predict_for("leaky_relu", "xavier_normal", 20, negative_slope=a)
    assert leaky["chi_1"] == pytest.approx((1 + a * a) / 2, rel=1e-9)


@pytest.mark.parametrize(
    ("activation", "init", "phase"),
    [
        ("relu", "he_normal", "critical"),
        ("tanh", "xavier_normal", "critical"),  # sigma_w^2 = 1, q* = 0, chi_1 = 1
        ("sigmoid", "xavier_normal", "ordered"),
        ("tanh", "normal", "chaotic"),
    ],
)
def test_phases(activation: str, init: str, phase: str) -> None:
    p = theory.predict_for(activation, init, 20)
    assert p["phase"] == phase
    if phase == "critical":
        assert p["xi_c"] is None  # infinite: the gradient keeps its scale at any depth


def test_init_gain_walks_tanh_through_the_critical_point() -> None:
    # Poole et al. 2016: tanh without biases is ordered below sigma_w = 1, chaotic above.
    phases = [
        theory.predict_for("tanh", "lecun_normal", 30, init_gain=g)["phase"]
        for g in (0.8, 1.0, 1.3)
    ]
    assert phases == ["ordered", "critical", "chaotic"]
    ratios = [
        theory.predict_for("tanh", "lecun_normal", 30, init_gain=g)["backprop_ratio_log10"]
        for g in (0.8, 1.3)
    ]
    assert ratios[0] is not None
    assert ratios[0] < -2
    assert ratios[1] is not None
    assert ratios[1] > 0
    p = theory.predict_for("relu", "he_normal", 20, init_gain=1.1)
    assert p["sigma_w2"] == pytest.approx(2.0 * 1.21)
    assert p["chi_1"] == pytest.approx(1.21, rel=1e-9)


def test_bias_variance_enters_the_q_recurrence() -> None:
    sb = 0.3
    p = theory.predict_for("tanh", "lecun_normal", 30, bias_std=sb)
    assert p["sigma_b2"] == pytest.approx(sb * sb)
    q = p["q_star"]
    assert q is not None
    assert q > 0
    f = np.tanh
    z, w = np.polynomial.hermite_e.hermegauss(120)
    w = w / w.sum()
    assert q == pytest.approx(float(np.dot(w, f(math.sqrt(q) * z) ** 2)) + sb * sb, rel=1e-6)
    # Schoenholz et al. 2017: with sigma_b > 0 the edge of chaos moves above sigma_w = 1.
    assert p["phase"] == "ordered"
    assert p["xi_q"] is not None
    assert p["xi_q"] > 0


def test_theory_query_arguments_are_checked() -> None:
    with pytest.raises(SpecError) as info:
        theory.predict_for("tanh", "normal", 5, init_gain=0.0, bias_std=-1.0)
    assert {e.field for e in info.value.errors} == {"init_gain", "bias_std"}


def _spec(**model: object) -> ExperimentSpec:
    return ExperimentSpec.model_validate(
        {"model": {"depth": 3, "width": 8, "activation": "tanh", **model}}
    )


def test_default_gain_and_bias_keep_the_network_bit_for_bit() -> None:
    plain = build_network(_spec(), np.random.default_rng(5))
    explicit = build_network(_spec(init_gain=1.0, bias_std=0.0), np.random.default_rng(5))
    np.testing.assert_array_equal(plain.theta, explicit.theta)
    assert not plain.theta[plain.n_weights :].any()  # biases start at 0


def test_gain_scales_the_weights_and_bias_std_draws_the_biases() -> None:
    plain = build_network(_spec(), np.random.default_rng(5))
    scaled = build_network(_spec(init_gain=2.5, bias_std=0.7), np.random.default_rng(5))
    n = plain.n_weights
    np.testing.assert_allclose(scaled.theta[:n], 2.5 * plain.theta[:n], rtol=1e-6)
    biases = np.concatenate([b.ravel() for b in scaled.b.views])
    assert biases.std() == pytest.approx(0.7, rel=0.35)
    with pytest.raises(ValueError, match="init_gain"):
        _spec(init_gain=0.0)
    with pytest.raises(ValueError, match="bias_std"):
        _spec(bias_std=-0.1)
