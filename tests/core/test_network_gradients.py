"""Whole-network gradient checks in float64: every parameter, every option, the loss, dZ.

The reference for dLoss/dtheta is a central difference of the loss in each entry of
theta; the reference for dLoss/dz (``ws.dZ``) is a central difference through a
forward pass written out here from network.py's docstring, with an additive
perturbation on every pre-activation. Relative errors must stay below 1e-6.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import pytest
from numpy.typing import NDArray

from core.nn import INITIALISERS, MLP, make_activation, softmax_cross_entropy
from core.nn.layers import BN_EPS, BN_MOMENTUM, BatchNorm
from core.spec import ACTIVATION_NAMES, INIT_NAMES

Arr = NDArray[np.floating]
SIZES = [3, 5, 5, 5, 4]
BATCH = 7
H = 1e-6
TOL = 1e-6


def make_net(
    activation: str = "tanh",
    init: str = "xavier_normal",
    *,
    sizes: list[int] = SIZES,
    batch_norm: bool = False,
    residual_every: int | None = None,
    seed: int = 0,
) -> MLP:
    net = MLP(
        sizes,
        make_activation(activation, negative_slope=0.2),
        INITIALISERS[init],
        np.random.default_rng(seed),
        batch_norm=batch_norm,
        residual_every=residual_every,
        dtype=np.float64,
    )
    if batch_norm:
        # Move gamma and beta off 1 and 0 so their gradients and their use are both tested.
        bn = np.random.default_rng(seed + 1)
        for g, b in zip(net.gamma.views, net.beta.views, strict=True):
            g[...] = bn.uniform(0.5, 1.5, g.shape)
            b[...] = bn.uniform(-0.5, 0.5, b.shape)
    # Nonzero biases, so a bias that is added twice or not at all changes the loss.
    for b in net.b.views:
        b[...] = np.random.default_rng(seed + 2).uniform(-0.3, 0.3, b.shape)
    return net


def batch(sizes: list[int] = SIZES, seed: int = 3) -> tuple[Arr, NDArray[np.int64]]:
    r = np.random.default_rng(seed)
    return r.standard_normal((BATCH, sizes[0])), r.integers(0, sizes[-1], BATCH)


def loss(net: MLP, x: Arr, y: NDArray[np.int64]) -> float:
    return softmax_cross_entropy(net.forward(x, net.workspace(len(y)), training=True), y)[0]


def backprop(net: MLP, x: Arr, y: NDArray[np.int64]) -> Arr:
    ws = net.workspace(len(y))
    logits = net.forward(x, ws, training=True)
    softmax_cross_entropy(logits, y, ws.dZ.views[-1])
    net.backward(ws)
    return net.grad.copy()


def numeric_grad(net: MLP, x: Arr, y: NDArray[np.int64]) -> Arr:
    theta, out = net.theta, np.empty_like(net.theta)
    for i in range(theta.size):
        keep = theta[i]
        theta[i] = keep + H
        up = loss(net, x, y)
        theta[i] = keep - H
        down = loss(net, x, y)
        theta[i] = keep
        out[i] = (up - down) / (2 * H)
    return out


def rel_error(a: Arr, b: Arr) -> float:
    scale = float(np.linalg.norm(a) + np.linalg.norm(b))
    return float(np.linalg.norm(a - b)) / max(scale, 1e-300)


def check_network(net: MLP) -> None:
    x, y = batch(net.sizes)
    exact = backprop(net, x, y)
    numeric = numeric_grad(net, x, y)
    assert np.linalg.norm(exact) > 1e-6  # a zero gradient would pass trivially
    assert rel_error(exact, numeric) < TOL
    # Entry by entry too, so one wrong small parameter cannot hide behind large ones.
    np.testing.assert_allclose(exact, numeric, rtol=1e-4, atol=1e-7 * np.abs(exact).max())


# --- the options, one at a time ------------------------------------------------------------


@pytest.mark.parametrize("activation", ACTIVATION_NAMES)
def test_every_activation(activation: str) -> None:
    check_network(make_net(activation))


@pytest.mark.parametrize("init", INIT_NAMES)
def test_every_initialiser(init: str) -> None:
    check_network(make_net("tanh", init))


@pytest.mark.parametrize("activation", ACTIVATION_NAMES)
def test_batch_norm(activation: str) -> None:
    check_network(make_net(activation, "he_normal", batch_norm=True))


@pytest.mark.parametrize(
    ("sizes", "every"),
    [
        ([3, 5, 5, 5, 4], 1),
        ([3, 5, 5, 5, 4], 2),  # depth 3: one block of the two hidden-to-hidden layers
        ([3, 5, 5, 5, 5, 4], 2),  # depth 4: a full block and a short one
        ([3, 5, 5, 5, 5, 5, 4], 3),  # depth 5: 4 hidden-to-hidden layers, blocks of 3 and 1
        ([3, 5, 5, 4], 5),  # a block longer than the network
    ],
)
@pytest.mark.parametrize("activation", ["sigmoid", "relu", "selu"])
def test_residual(sizes: list[int], every: int, activation: str) -> None:
    check_network(make_net(activation, "he_normal", sizes=sizes, residual_every=every))


@pytest.mark.parametrize("every", [1, 2, 3])
def test_residual_with_batch_norm(every: int) -> None:
    sizes = [3, 5, 5, 5, 5, 5, 4]
    check_network(
        make_net("tanh", "xavier_normal", sizes=sizes, batch_norm=True, residual_every=every)
    )


def test_unequal_widths_and_batch_of_one() -> None:
    net = make_net("gelu", "lecun_normal", sizes=[4, 6, 3, 7, 2])
    x, y = batch(net.sizes)
    x, y = x[:1], y[:1]
    assert rel_error(backprop(net, x, y), numeric_grad(net, x, y)) < TOL


# --- dLoss/dz against an independent forward pass -----------------------------------------


def reference_logits(net: MLP, x: Arr, extra: Sequence[Arr]) -> Arr:
    """The forward pass of network.py's docstring, with ``extra[l]`` added to z_l."""
    depth, every = net.depth, None
    if net.blocks:
        every = net.blocks[0][1] - net.blocks[0][0]
    starts = set(range(1, depth, every)) if every else set()
    ends = {min(s + every, depth) - 1 for s in starts} if every else set()
    stream, block_in = x, x
    for l in range(depth):
        if l in starts:
            block_in = stream
        z = stream @ net.W.views[l] + net.b.views[l] + extra[l]
        if net.batch_norm:
            z = (z - z.mean(axis=0)) / np.sqrt(z.var(axis=0) + BN_EPS)
            z = z * net.gamma.views[l] + net.beta.views[l]
        h = net.act(z)
        stream = block_in + h if l in ends else h
    out: Arr = stream @ net.W.views[-1] + net.b.views[-1] + extra[-1]
    return out


@pytest.mark.parametrize(
    ("batch_norm", "every"), [(False, None), (True, None), (False, 2), (True, 1)]
)
@pytest.mark.parametrize("activation", ["sigmoid", "elu"])
def test_dz_matches_a_perturbed_pre_activation(
    activation: str, batch_norm: bool, every: int | None
) -> None:
    sizes = [3, 5, 5, 5, 5, 4]
    net = make_net(
        activation, "he_normal", sizes=sizes, batch_norm=batch_norm, residual_every=every
    )
    x, y = batch(sizes)
    backprop(net, x, y)
    ws = net.workspace(BATCH)
    extra = [np.zeros((BATCH, n)) for n in sizes[1:]]
    np.testing.assert_allclose(
        reference_logits(net, x, extra), ws.Z.views[-1], rtol=1e-12, atol=1e-14
    )
    for l, e in enumerate(extra):
        numeric = np.empty_like(e)
        for idx in np.ndindex(*e.shape):
            e[idx] = H
            up = softmax_cross_entropy(reference_logits(net, x, extra), y)[0]
            e[idx] = -H
            down = softmax_cross_entropy(reference_logits(net, x, extra), y)[0]
            e[idx] = 0.0
            numeric[idx] = (up - down) / (2 * H)
        assert rel_error(ws.dZ.views[l], numeric) < TOL, f"layer {l}"


@pytest.mark.parametrize("every", [None, 2])
def test_weight_and_bias_gradients_are_x_transpose_dz(every: int | None) -> None:
    net = make_net("swish", "xavier_uniform", sizes=[3, 5, 5, 5, 5, 4], residual_every=every)
    x, y = batch(net.sizes)
    backprop(net, x, y)
    ws = net.workspace(BATCH)
    inputs = [x] + [ws.S[l] if l in ws.S else ws.H.views[l] for l in range(net.depth)]
    for l in range(net.n_layers):
        np.testing.assert_allclose(net.dW.views[l], inputs[l].T @ ws.dZ.views[l], rtol=1e-12)
        np.testing.assert_allclose(net.db.views[l], ws.dZ.views[l].sum(axis=0), rtol=1e-12)


# --- the loss alone ----------------------------------------------------------------------------


def test_softmax_cross_entropy_value_and_gradient(rng: np.random.Generator) -> None:
    logits = rng.standard_normal((BATCH, 4)) * 3
    y = rng.integers(0, 4, BATCH)
    d = np.empty_like(logits)
    value, correct = softmax_cross_entropy(logits, y, d)
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    assert value == pytest.approx(-np.mean(np.log(p[np.arange(BATCH), y])), rel=1e-14)
    assert correct == int(np.sum(logits.argmax(axis=1) == y))
    numeric = np.empty_like(logits)
    for idx in np.ndindex(*logits.shape):
        keep = logits[idx]
        logits[idx] = keep + H
        up = softmax_cross_entropy(logits, y)[0]
        logits[idx] = keep - H
        down = softmax_cross_entropy(logits, y)[0]
        logits[idx] = keep
        numeric[idx] = (up - down) / (2 * H)
    assert rel_error(d, numeric) < TOL
    onehot = np.eye(4)[y]
    np.testing.assert_allclose(d, (p - onehot) / BATCH, rtol=1e-12, atol=1e-16)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_cross_entropy_is_stable_for_huge_logits(dtype: type[np.floating]) -> None:
    logits = np.array([[1000.0, 0.0, -1000.0], [-1000.0, 1000.0, 999.0]], dtype=dtype)
    y = np.array([0, 2])
    d = np.empty_like(logits)
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is fine
        value, correct = softmax_cross_entropy(logits, y, d)
    # Row 0 is right with certainty (loss 0); row 1 loses 1 + log(1 + 1/e) to the winner.
    # In float32 the logits themselves are only known to 6e-5 (their ulp at 1000).
    rel = 1e-4 if dtype == np.float32 else 1e-12
    assert value == pytest.approx(np.log1p(np.exp(-1.0)) / 2 + 0.5, rel=rel)
    assert correct == 1
    assert np.all(np.isfinite(d))


# --- batch norm's running statistics and evaluation mode -----------------------------------


def test_batch_norm_running_statistics_follow_the_definition(rng: np.random.Generator) -> None:
    width, n = 4, 6
    gamma, beta = rng.uniform(0.5, 1.5, width), rng.uniform(-0.5, 0.5, width)
    bn = BatchNorm(gamma, beta, np.empty(width), np.empty(width))
    ones = np.ones(n)
    mean, var = np.zeros(width), np.ones(width)
    for _ in range(3):
        z = rng.standard_normal((n, width)) * 2 + 1
        y = bn.forward(z, ones, np.empty_like(z), np.empty_like(z), training=True)
        np.testing.assert_allclose(
            y, gamma * (z - z.mean(0)) / np.sqrt(z.var(0) + BN_EPS) + beta, rtol=1e-12
        )
        mean = (1 - BN_MOMENTUM) * mean + BN_MOMENTUM * z.mean(0)
        var = (1 - BN_MOMENTUM) * var + BN_MOMENTUM * z.var(0, ddof=1)  # unbiased
        np.testing.assert_allclose(bn.running_mean, mean, rtol=1e-12)
        np.testing.assert_allclose(bn.running_var, var, rtol=1e-12)
    z = rng.standard_normal((n, width))
    before = bn.running_mean.copy(), bn.running_var.copy()
    y = bn.forward(z, ones, np.empty_like(z), np.empty_like(z), training=False)
    np.testing.assert_allclose(y, gamma * (z - mean) / np.sqrt(var + BN_EPS) + beta, rtol=1e-12)
    np.testing.assert_array_equal(bn.running_mean, before[0])  # evaluation leaves them be
    np.testing.assert_array_equal(bn.running_var, before[1])


def test_batch_norm_matches_pytorch(rng: np.random.Generator) -> None:
    torch = pytest.importorskip("torch")
    width, n = 5, 8
    gamma, beta = rng.uniform(0.5, 1.5, width), rng.uniform(-0.5, 0.5, width)
    bn = BatchNorm(gamma, beta, np.empty(width), np.empty(width))
    t_mean, t_var = torch.zeros(width, dtype=torch.float64), torch.ones(width, dtype=torch.float64)
    F = torch.nn.functional
    for _ in range(2):
        z = rng.standard_normal((n, width))
        ours = bn.forward(z, np.ones(n), np.empty_like(z), np.empty_like(z), training=True)
        theirs = F.batch_norm(
            torch.from_numpy(z),
            t_mean,
            t_var,
            torch.from_numpy(gamma),
            torch.from_numpy(beta),
            training=True,
            momentum=BN_MOMENTUM,
            eps=BN_EPS,
        )
        np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(bn.running_mean, t_mean.numpy(), rtol=1e-12)
    np.testing.assert_allclose(bn.running_var, t_var.numpy(), rtol=1e-12)


def test_network_evaluation_mode_uses_running_statistics() -> None:
    net = make_net("relu", "he_normal", batch_norm=True)
    x, y = batch()
    backprop(net, x, y)  # one training forward moves the running statistics
    x_eval = np.random.default_rng(9).standard_normal((BATCH, SIZES[0]))
    ws = net.workspace(BATCH)
    logits = net.forward(x_eval, ws, training=False).copy()
    stream: Arr = x_eval
    for l in range(net.depth):
        z = stream @ net.W.views[l] + net.b.views[l]
        bn = net.bn[l]
        u = (z - bn.running_mean) / np.sqrt(bn.running_var + BN_EPS)
        stream = net.act(u * net.gamma.views[l] + net.beta.views[l])
    np.testing.assert_allclose(logits, stream @ net.W.views[-1] + net.b.views[-1], rtol=1e-12)
    # Per example: one example alone gives the same logits as inside the batch.
    one = net.forward(x_eval[:1], net.workspace(1), training=False)
    np.testing.assert_allclose(one, logits[:1], rtol=1e-12)


def test_weights_come_first_in_theta() -> None:
    net = make_net("relu", "he_normal", batch_norm=True)
    flat = np.concatenate([W.ravel() for W in net.W.views])
    np.testing.assert_array_equal(net.theta[: net.n_weights], flat)
    assert net.n_weights == sum(a * b for a, b in itertools.pairwise(SIZES))
    assert net.theta.size == net.n_weights + sum(SIZES[1:]) + 2 * sum(SIZES[1:-1])
