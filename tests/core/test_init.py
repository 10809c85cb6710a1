"""Initialisers: the variances of init.py's table, orthogonality, seeded reproducibility."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest

from core.nn.init import INITIALISERS
from core.spec import INIT_NAMES

#: Var[W_ij] from init.py's docstring, and the kurtosis E[w^4]/Var^2 of the distribution.
VARIANCE: dict[str, tuple[Callable[[int, int], float], float]] = {
    "normal": (lambda fi, fo: 1.0, 3.0),
    "standard": (lambda fi, fo: 1.0 / (3 * fi), 1.8),
    "xavier_uniform": (lambda fi, fo: 2.0 / (fi + fo), 1.8),
    "xavier_normal": (lambda fi, fo: 2.0 / (fi + fo), 3.0),
    "he_uniform": (lambda fi, fo: 2.0 / fi, 1.8),
    "he_normal": (lambda fi, fo: 2.0 / fi, 3.0),
    "lecun_normal": (lambda fi, fo: 1.0 / fi, 3.0),
}
SHAPES = [(300, 200), (64, 512), (1, 1000)]


def test_registry_covers_the_spec() -> None:
    assert set(INITIALISERS) == set(INIT_NAMES)
    assert set(VARIANCE) | {"orthogonal"} == set(INIT_NAMES)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name", sorted(VARIANCE))
def test_variance_matches_the_table(
    name: str, shape: tuple[int, int], rng: np.random.Generator
) -> None:
    fan_in, fan_out = shape
    var_fn, kurtosis = VARIANCE[name]
    var = var_fn(fan_in, fan_out)
    W = INITIALISERS[name](rng, fan_in, fan_out)
    assert W.shape == shape
    assert W.dtype == np.float64
    m = W.size
    # The mean square of m i.i.d. zero-mean draws has standard error var sqrt((kurt - 1)/m);
    # six standard errors leave a chance of failure around 1e-9 per draw.
    assert np.mean(W**2) == pytest.approx(var, abs=6 * var * math.sqrt((kurtosis - 1) / m))
    assert np.mean(W) == pytest.approx(0.0, abs=6 * math.sqrt(var / m))


@pytest.mark.parametrize("name", ["standard", "xavier_uniform", "he_uniform"])
def test_uniform_bounds(name: str, rng: np.random.Generator) -> None:
    fan_in, fan_out = 50, 70
    var = VARIANCE[name][0](fan_in, fan_out)
    bound = math.sqrt(3 * var)  # U[-a, a] has variance a^2 / 3
    W = INITIALISERS[name](rng, fan_in, fan_out)
    assert np.abs(W).max() <= bound
    assert np.abs(W).max() > 0.99 * bound  # 3500 draws reach the edge


@pytest.mark.parametrize("shape", [(40, 40), (60, 25), (25, 60), (1, 9), (9, 1)])
def test_orthogonal_is_orthogonal(shape: tuple[int, int], rng: np.random.Generator) -> None:
    fan_in, fan_out = shape
    W = INITIALISERS["orthogonal"](rng, fan_in, fan_out)
    assert W.shape == shape
    small = min(shape)
    gram = W.T @ W if fan_in >= fan_out else W @ W.T
    np.testing.assert_allclose(gram, np.eye(small), atol=1e-12)
    # Hence the table's variance, exactly: the squares sum to min(fan_in, fan_out).
    assert np.mean(W**2) == pytest.approx(1.0 / max(shape), rel=1e-12)


def test_orthogonal_is_not_biased_by_the_qr_sign_convention(rng: np.random.Generator) -> None:
    # Householder QR gives R a negative diagonal; without the sign fix-up Q's diagonal
    # leans negative. Haar-distributed Q has diagonal entries of either sign equally often.
    diag = np.concatenate([np.diag(INITIALISERS["orthogonal"](rng, 8, 8)) for _ in range(500)])
    # 4000 symmetric draws: the share of positives has standard error 0.008.
    assert np.mean(diag > 0) == pytest.approx(0.5, abs=0.05)


@pytest.mark.parametrize("name", INIT_NAMES)
def test_same_seed_same_weights(name: str) -> None:
    init = INITIALISERS[name]
    a = init(np.random.default_rng(7), 30, 20)
    b = init(np.random.default_rng(7), 30, 20)
    c = init(np.random.default_rng(8), 30, 20)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
