"""Optimisers against a reference written out here, against torch.optim, and in a run."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from core.nn import softmax_cross_entropy
from core.nn.optim import clip_global_norm, make_optimizer
from core.spec import OPTIMIZER_NAMES, ExperimentSpec
from core.train import Run

Arr = NDArray[np.floating]
SIZE, N_WEIGHTS = 40, 25  # theta entries; the first N_WEIGHTS are dense weights
LR, MU, BETA2, EPS = 0.03, 0.9, 0.999, 1e-8
STEPS = 6

Stepper = Callable[[Arr, Arr], Arr]


def reference(
    name: str,
    *,
    weight_decay: float = 0.0,
    clip: float | None = None,
    size: int = SIZE,
    n_weights: int = N_WEIGHTS,
) -> Stepper:
    """The textbook update as a closure ``step(theta, grad) -> delta``, keeping its state.

    The gradient is clipped to a global norm first, then the L2 term is added to the
    weights' entries (PyTorch's order: clip_grad_norm_ before optimizer.step).
    """
    v, m, s = np.zeros(size), np.zeros(size), np.zeros(size)
    t = 0

    def step(theta: Arr, grad: Arr) -> Arr:
        nonlocal v, m, s, t
        g = grad.copy()
        norm = float(np.sqrt(np.sum(g**2)))
        if clip is not None and norm > clip:
            g = g * (clip / norm)
        decay = np.zeros(size)
        decay[:n_weights] = weight_decay * theta[:n_weights]
        g = g + decay
        if name == "sgd":
            return -LR * g
        if name == "momentum":
            v = MU * v + g
            return -LR * v
        t += 1
        m = MU * m + (1 - MU) * g
        s = BETA2 * s + (1 - BETA2) * g * g
        m_hat, s_hat = m / (1 - MU**t), s / (1 - BETA2**t)
        return -LR * m_hat / (np.sqrt(s_hat) + EPS)

    return step


def engine(name: str, *, weight_decay: float = 0.0, clip: float | None = None) -> Stepper:
    opt = make_optimizer(
        name,
        lr=LR,
        size=SIZE,
        dtype=np.dtype(np.float64),
        momentum=MU,
        beta2=BETA2,
        eps=EPS,
        weight_decay=weight_decay,
        n_weights=N_WEIGHTS,
    )

    def step(theta: Arr, grad: Arr) -> Arr:
        g = grad.copy()  # the engine works in place on the network's gradient
        if clip is not None:
            clip_global_norm(g, clip)
        return opt.update(theta, g, np.empty(SIZE)).copy()

    return step


def trajectory(step: Stepper, rng: np.random.Generator) -> list[Arr]:
    """Deltas along a run whose gradient depends on theta, so state errors compound."""
    theta = rng.standard_normal(SIZE)
    target = rng.standard_normal(SIZE)
    noise = rng.standard_normal((STEPS, SIZE)) * 0.5
    deltas = []
    for k in range(STEPS):
        grad = (theta - target) * np.linspace(0.1, 3.0, SIZE) + noise[k]
        d = step(theta, grad)
        deltas.append(d)
        theta = theta + d
    return deltas


@pytest.mark.parametrize("clip", [None, 1.0])
@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
@pytest.mark.parametrize("name", OPTIMIZER_NAMES)
def test_update_matches_the_reference(name: str, weight_decay: float, clip: float | None) -> None:
    ours = trajectory(engine(name, weight_decay=weight_decay, clip=clip), np.random.default_rng(5))
    ref = trajectory(
        reference(name, weight_decay=weight_decay, clip=clip), np.random.default_rng(5)
    )
    for k, (a, b) in enumerate(zip(ours, ref, strict=True)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15, err_msg=f"step {k}")


@pytest.mark.parametrize("name", OPTIMIZER_NAMES)
def test_weight_decay_touches_weights_only(name: str) -> None:
    opt = make_optimizer(
        name, lr=LR, size=SIZE, dtype=np.dtype(np.float64), weight_decay=0.5, n_weights=N_WEIGHTS
    )
    theta = np.random.default_rng(1).standard_normal(SIZE)
    delta = opt.update(theta, np.zeros(SIZE), np.empty(SIZE))
    assert np.all(delta[N_WEIGHTS:] == 0.0)
    assert np.all(np.sign(delta[:N_WEIGHTS]) == -np.sign(theta[:N_WEIGHTS]))  # toward zero


def test_clip_global_norm_returns_the_factor_applied() -> None:
    g = np.array([3.0, 4.0, 0.0])
    assert clip_global_norm(g, 10.0) == 1.0
    np.testing.assert_array_equal(g, [3.0, 4.0, 0.0])  # under the limit: untouched
    assert clip_global_norm(g, 1.0) == pytest.approx(0.2, rel=1e-15)
    np.testing.assert_allclose(g, [0.6, 0.8, 0.0], rtol=1e-15)
    assert math.hypot(*g) == pytest.approx(1.0, rel=1e-15)
    g = np.array([3.0, 4.0])
    assert clip_global_norm(g, 1.0, sumsq=25.0) == pytest.approx(0.2, rel=1e-15)  # given norm


def test_clip_global_norm_survives_a_float32_overflow_of_the_sum_of_squares() -> None:
    g = np.array([3e20, 4e20], dtype=np.float32)  # finite, but g @ g is inf in float32
    with np.errstate(over="ignore"):
        sumsq = float(np.dot(g, g))
    assert not math.isfinite(sumsq)
    assert clip_global_norm(g, 1.0, sumsq=sumsq) == pytest.approx(2e-21, rel=1e-6)
    np.testing.assert_allclose(g, [0.6, 0.8], rtol=1e-6)


@pytest.mark.parametrize("name", ["momentum", "adam"])
def test_matches_torch_optim(name: str) -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(11)
    theta0 = rng.standard_normal(SIZE)
    grads = rng.standard_normal((STEPS, SIZE))
    w = torch.tensor(theta0[:N_WEIGHTS].copy(), requires_grad=True)
    rest = torch.tensor(theta0[N_WEIGHTS:].copy(), requires_grad=True)
    # Weight decay on the weights' group only, as the engine does.
    groups = [{"params": [w], "weight_decay": 0.05}, {"params": [rest], "weight_decay": 0.0}]
    if name == "momentum":
        topt: Any = torch.optim.SGD(groups, lr=LR, momentum=MU)
    else:
        topt = torch.optim.Adam(groups, lr=LR, betas=(MU, BETA2), eps=EPS)
    ours = make_optimizer(
        name,
        lr=LR,
        size=SIZE,
        dtype=np.dtype(np.float64),
        momentum=MU,
        beta2=BETA2,
        eps=EPS,
        weight_decay=0.05,
        n_weights=N_WEIGHTS,
    )
    theta = theta0.copy()
    for g in grads:
        w.grad = torch.tensor(g[:N_WEIGHTS].copy())
        rest.grad = torch.tensor(g[N_WEIGHTS:].copy())
        topt.step()
        theta += ours.update(theta, g.copy(), np.empty(SIZE))
        theirs = np.concatenate([w.detach().numpy(), rest.detach().numpy()])
        np.testing.assert_allclose(theta, theirs, rtol=1e-12, atol=1e-14)


# --- in a run: clip, then decay, then the optimiser ----------------------------------------


@pytest.mark.parametrize("name", OPTIMIZER_NAMES)
def test_run_applies_clip_and_decay_to_the_raw_gradient(
    name: str, make_spec: Callable[..., ExperimentSpec]
) -> None:
    spec = make_spec(
        model={"batch_norm": True, "dtype": "float64", "depth": 2, "width": 6},
        training={
            "optimizer": name,
            "learning_rate": LR,
            "momentum": MU,
            "weight_decay": 0.05,
            "clip_grad_norm": 0.3,
        },
    )
    run = Run(spec)
    net = run.net
    ref = reference(name, weight_decay=0.05, clip=0.3, size=net.theta.size, n_weights=net.n_weights)
    x, y = run.data.x_train[:16], run.data.y_train[:16]
    clipped = 0
    for _ in range(4):
        ws = net.workspace(len(y))
        softmax_cross_entropy(net.forward(x, ws, training=True), y, ws.dZ.views[-1])
        net.backward(ws)
        raw = net.grad.copy()
        before = net.theta.copy()
        assert run.train_step(x, y)[2]
        clipped += float(np.linalg.norm(raw)) > 0.3
        expected = ref(before, raw)
        np.testing.assert_allclose(net.theta - before, expected, rtol=1e-9, atol=1e-14)
    assert clipped > 0  # the clip was exercised
