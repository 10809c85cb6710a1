"""The recorder's statistics against their definitions (docs/contract.md § Statistics).

Each test trains a few steps with a record at every step and recomputes every
statistic, layer by layer, from a float64 copy of the network on the same batch.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from core.nn import INITIALISERS, MLP, make_activation, softmax_cross_entropy
from core.spec import LAYER_STATS, ExperimentSpec
from core.stats import HISTOGRAM_RANGE, Recorder, profile_summary
from core.train import Run, build_network, run_experiment

Arr = NDArray[np.floating]
SpecFactory = Callable[..., ExperimentSpec]
STEPS = 4
BATCH = 16


def expected_stats(
    net: MLP, act_name: str, x: Arr, y: NDArray[np.int64], W0: list[Arr]
) -> dict[str, list[float | None]]:
    """Every statistic of every layer, from the definitions, on a float64 network."""
    ws = net.workspace(len(y))
    logits = net.forward(x, ws, training=True)
    softmax_cross_entropy(logits, y, ws.dZ.views[-1])
    net.backward(ws)
    out: dict[str, list[float | None]] = {k: [] for k in LAYER_STATS}
    for l in range(net.n_layers):
        G, W, dZ = net.dW.views[l], net.W.views[l], ws.dZ.views[l]
        h = ws.H.views[l] if l < net.depth else ws.Z.views[-1]
        out["grad_norm"].append(math.sqrt(float(np.sum(G**2))))
        out["grad_mean"].append(float(np.mean(G)))
        out["grad_std"].append(float(np.std(G)))
        out["grad_max_abs"].append(float(np.max(np.abs(G))))
        per_example = np.linalg.norm(dZ, axis=1)  # ||dLoss/dz_b|| for each example b
        out["backprop_norm"].append(math.sqrt(float(np.mean(per_example**2))))
        out["weight_norm"].append(float(np.linalg.norm(W)))
        out["weight_change"].append(float(np.linalg.norm(W - W0[l]) / np.linalg.norm(W0[l])))
        out["activation_mean"].append(float(np.mean(h)))
        out["activation_std"].append(float(np.std(h)))
        hidden = l < net.depth
        if hidden and act_name == "sigmoid":
            out["saturation"].append(float(np.mean((h < 0.01) | (h > 0.99))))
        elif hidden and act_name == "tanh":
            out["saturation"].append(float(np.mean(np.abs(h) > 0.99)))
        else:
            out["saturation"].append(0.0)
        dead = np.all(h == 0.0, axis=0).mean() if hidden and act_name == "relu" else 0.0
        out["dead_fraction"].append(float(dead))
        if hidden:
            d = net.act.derivative(ws.U[l].astype(np.float64))
            out["derivative_rms"].append(math.sqrt(float(np.mean(d**2))))
        else:
            out["derivative_rms"].append(None)
    grads = [dW.astype(np.float64).copy() for dW in net.dW.views]
    per_example = _per_example_gradients(net, x, y, ws)
    for l in range(net.n_layers):
        sq = np.array([np.sum(g[l] ** 2) for g in per_example])  # ||g_b||^2, (batch,)
        B = len(per_example)
        np.testing.assert_allclose(
            np.mean([g[l] for g in per_example], axis=0), grads[l], atol=1e-12
        )
        out["example_grad_rms"].append(math.sqrt(float(np.mean(sq))))
        spread = np.sum(np.var(np.stack([g[l] for g in per_example]), axis=0, ddof=1))
        assert spread == pytest.approx(B / (B - 1) * (np.mean(sq) - np.sum(grads[l] ** 2)))
        out["grad_snr"].append(float(np.sum(grads[l] ** 2) / spread))
    return out


def _per_example_gradients(
    net: MLP, x: Arr, y: NDArray[np.int64], ws: Any
) -> list[list[NDArray[np.float64]]]:
    """g_b = d(loss of example b alone)/dW per layer, for each example b of the batch.

    Without batch norm, a batch of one example: its mean loss is its own loss, so the
    batch's mean-loss gradient is the mean of these. With batch norm an example's
    output depends on the others, so g_b is its term x_b (B delta_b)^T of the batch's
    own backward pass (what the statistic describes then).
    """
    B = len(y)
    if net.batch_norm:
        xs = [np.asarray(d.x, dtype=np.float64).copy() for d in net.dense]
        dz = [np.asarray(v, dtype=np.float64).copy() for v in ws.dZ.views]
        return [[np.outer(xs[l][b], B * dz[l][b]) for l in range(net.n_layers)] for b in range(B)]
    out = []
    one = net.workspace(1)
    for b in range(B):
        logits = net.forward(x[b : b + 1], one, training=True)
        softmax_cross_entropy(logits, y[b : b + 1], one.dZ.views[-1])
        net.backward(one)
        out.append([dW.astype(np.float64).copy() for dW in net.dW.views])
    # leave the network's gradient as the batch's, as the caller found it
    net.forward(x, ws, training=True)
    softmax_cross_entropy(ws.Z.views[-1], y, ws.dZ.views[-1])
    net.backward(ws)
    return out


#: Entries whose value is a difference of similar numbers get an absolute tolerance too.
SCALE_OF = {"grad_mean": "grad_std", "activation_mean": "activation_std"}


CASES: list[dict[str, Any]] = [
    {  # plain SGD: the update ratio comes from the gradient norm, scaled by the clip
        "model": {"activation": "sigmoid", "width": [6, 6, 5], "init": "xavier_uniform"},
        "training": {"clip_grad_norm": 0.01},
    },
    {"model": {"activation": "tanh", "init": "normal"}, "training": {"optimizer": "adam"}},
    {"model": {"activation": "relu", "batch_norm": True}, "training": {"optimizer": "momentum"}},
    {
        "model": {"activation": "relu", "residual": True, "residual_every": 1},
        "training": {"weight_decay": 0.01, "clip_grad_norm": 0.5},
    },
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", CASES, ids=["sigmoid", "tanh-adam", "relu-bn", "relu-res"])
def test_every_stat_matches_its_definition(
    case: dict[str, Any], dtype: str, make_spec: SpecFactory
) -> None:
    spec = make_spec(**{**case, "model": {**case["model"], "dtype": dtype, "depth": 3}})
    rtol = 1e-5 if dtype == "float64" else 1e-4
    run = Run(spec)
    net = run.net
    as64 = spec.model_copy(update={"model": spec.model.model_copy(update={"dtype": "float64"})})
    ref = build_network(as64, np.random.default_rng(0))  # the same network in float64
    W0: list[Arr] = [W.astype(np.float64) for W in net.W.views]
    x, y = run.data.x_train[:BATCH], run.data.y_train[:BATCH]
    expected: list[dict[str, list[float | None]]] = []
    for _ in range(STEPS):
        ref.theta[...] = net.theta
        stats = expected_stats(ref, spec.model.activation, x.astype(np.float64), y, W0)
        theta_before = net.theta.astype(np.float64)
        assert run.train_step(x, y)[2]
        # The update made: in float32, theta_after - theta_before would lose most digits
        # of an update 1e-6 the size of W, so take it from the run's update buffer.
        delta = run.delta.astype(np.float64)
        if dtype == "float64":
            np.testing.assert_allclose(net.theta - theta_before, delta, rtol=1e-6, atol=1e-15)
        stats["update_ratio"] = []
        offset = 0
        for W in net.W.views:
            w = theta_before[offset : offset + W.size]
            dw = delta[offset : offset + W.size]
            stats["update_ratio"].append(float(np.linalg.norm(dw) / np.linalg.norm(w)))
            offset += W.size
        expected.append(stats)

    result = run.result().to_json()
    json.dumps(result, allow_nan=False)
    assert result["steps"] == list(range(STEPS))
    got = result["stats"]
    assert set(got) == set(LAYER_STATS)
    for r in range(STEPS):
        for name in LAYER_STATS:
            row = got[name][r]
            want = expected[r][name]
            assert len(row) == net.n_layers
            scale = expected[r][SCALE_OF[name]] if name in SCALE_OF else [0.0] * len(want)
            for l in range(net.n_layers):
                want_l, sc = want[l], scale[l]
                if want_l is None:
                    assert row[l] is None, f"{name} at step {r}, layer {l}"
                    continue
                assert sc is not None
                assert row[l] == pytest.approx(want_l, rel=rtol, abs=rtol * sc + 1e-300), (
                    f"{name} at step {r}, layer {l}"
                )
    assert all(v == 0.0 for v in got["weight_change"][0])  # nothing has moved at step 0
    assert all(v is not None and v > 0.0 for v in got["weight_change"][-1])


def test_batch_norm_parameters_are_reported(make_spec: SpecFactory) -> None:
    spec = make_spec(model={"batch_norm": True, "dtype": "float64", "depth": 3})
    run = Run(spec)
    x, y = run.data.x_train[:BATCH], run.data.y_train[:BATCH]
    run.train_step(x, y)
    net = run.net
    bn = run.result().to_json()["batch_norm"]
    assert bn["layers"] == ["batch_norm_0", "batch_norm_1", "batch_norm_2"]
    # The gradients in net.dgamma are still those of step 0 (the update does not touch them).
    gamma_grad = [float(np.linalg.norm(g)) for g in net.dgamma.views]
    beta_grad = [float(np.linalg.norm(g)) for g in net.dbeta.views]
    assert bn["gamma_grad_norm"][0] == pytest.approx(gamma_grad, rel=1e-12)
    assert bn["beta_grad_norm"][0] == pytest.approx(beta_grad, rel=1e-12)
    assert min(gamma_grad + beta_grad) > 0.0
    assert bn["gamma_norm"][0] == pytest.approx([math.sqrt(8.0)] * 3, rel=1e-12)  # gamma = 1


def test_histograms_count_every_weight(make_spec: SpecFactory) -> None:
    spec = make_spec(
        model={"width": [6, 7, 5], "dtype": "float64"},
        training={"epochs": 3},
        recording={"histogram_bins": 12},
    )
    run = Run(spec)
    x, y = run.data.x_train[:BATCH], run.data.y_train[:BATCH]
    run.train_step(x, y)  # step 0 always carries a histogram
    h = run.result().to_json()["grad_histogram"]
    assert h["steps"] == [0]
    edges = np.array(h["bin_edges_log10"])
    np.testing.assert_allclose(edges, np.linspace(*HISTOGRAM_RANGE, 13))
    for l, (counts, W) in enumerate(zip(h["counts"][0], run.net.W.views, strict=True)):
        assert len(counts) == 12
        assert sum(counts) == W.size, f"layer {l}"
        with np.errstate(divide="ignore"):  # a dead ReLU unit's gradients are exactly 0
            logs = np.clip(np.log10(np.abs(run.net.dW.views[l])), *HISTOGRAM_RANGE)
        assert counts == np.histogram(logs, bins=edges)[0].tolist()


def test_histograms_at_five_records_spread_over_the_run(make_spec: SpecFactory) -> None:
    spec = make_spec(training={"epochs": 10}, recording={"every_steps": 3})
    planned = spec.record_steps
    result = run_experiment(spec)
    steps = result["grad_histogram"]["steps"]
    assert len(steps) == 5
    assert steps[0] == 0
    assert steps[-1] == planned[-1]
    assert set(steps) <= set(planned)


# --- hand-made cases ---------------------------------------------------------------------------


def recorded(net: MLP, x: Arr, y: NDArray[np.int64]) -> dict[str, Arr]:
    rec = Recorder(net, [0], histogram_bins=10)
    ws = net.workspace(len(y))
    softmax_cross_entropy(net.forward(x, ws, training=True), y, ws.dZ.views[-1])
    net.backward(ws)
    rec.record(0, ws)
    return {k: v[0] for k, v in rec.values.items()}


def small_net(activation: str, sizes: list[int], dtype: type[np.floating] = np.float64) -> MLP:
    return MLP(
        sizes,
        make_activation(activation),
        INITIALISERS["he_normal"],
        np.random.default_rng(0),
        dtype=dtype,
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dead_fraction_on_a_hand_made_net(dtype: type[np.floating]) -> None:
    net = small_net("relu", [3, 4, 4, 2], dtype)
    x = np.random.default_rng(1).standard_normal((10, 3)).astype(dtype)
    y = np.arange(10) % 2
    # Layer 0: unit 0 always below zero (dead), the rest always above.
    net.W.views[0][...] *= 0.01
    net.b.views[0][...] = [-100.0, 100.0, 100.0, 100.0]
    # Layer 1: units 2 and 3 get zero weights and bias, so output relu(0) = 0 everywhere.
    net.W.views[1][:, 2:] = 0.0
    net.b.views[1][...] = [1.0, 1.0, 0.0, 0.0]
    v = recorded(net, x, y)
    np.testing.assert_array_equal(v["dead_fraction"], [0.25, 0.5, 0.0])
    np.testing.assert_array_equal(v["saturation"], [0.0, 0.0, 0.0])


def test_a_unit_alive_for_one_example_is_not_dead() -> None:
    net = small_net("relu", [1, 2, 2])
    net.W.views[0][...] = [[1.0, -1.0]]
    net.b.views[0][...] = 0.0
    x = np.array([[-1.0], [-2.0], [3.0]])  # unit 0 fires for the last example only
    v = recorded(net, x, np.array([0, 1, 0]))
    assert v["dead_fraction"][0] == 0.0
    x = np.array([[-1.0], [-2.0], [-3.0]])
    assert recorded(net, x, np.array([0, 1, 0]))["dead_fraction"][0] == 0.5


@pytest.mark.parametrize(
    ("activation", "sign"), [("sigmoid", 1.0), ("sigmoid", -1.0), ("tanh", 1.0), ("tanh", -1.0)]
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_saturation_on_a_hand_made_net(
    activation: str, sign: float, dtype: type[np.floating]
) -> None:
    net = small_net(activation, [3, 4, 4, 2], dtype)
    x = np.random.default_rng(2).standard_normal((8, 3)).astype(dtype)
    net.W.views[0][...] *= 0.01
    net.b.views[0][...] = [sign * 50.0, 0.0, 0.0, 0.0]  # one unit deep in a tail
    net.W.views[1][...] *= 0.01
    net.b.views[1][...] = [sign * 50.0, -sign * 50.0, 0.0, 0.1]  # two units in the tails
    v = recorded(net, x, np.arange(8) % 2)
    np.testing.assert_array_equal(v["saturation"], [0.25, 0.5, 0.0])
    np.testing.assert_array_equal(v["dead_fraction"], [0.0, 0.0, 0.0])


def test_saturation_thresholds_are_strict() -> None:
    net = small_net("sigmoid", [1, 4, 2])
    # Zero inputs: the outputs are sigmoid(bias), just inside and just outside (0.01, 0.99).
    p = np.array([0.0099, 0.0101, 0.9899, 0.9901])
    net.b.views[0][...] = np.log(p / (1 - p))
    v = recorded(net, np.zeros((3, 1)), np.array([0, 1, 0]))
    assert v["saturation"][0] == 0.5


# --- the summary of a profile -------------------------------------------------------------------


@pytest.mark.parametrize("factor", [0.23, 0.707, 1.0, 1.2, 7.5])
def test_profile_summary_of_a_geometric_profile(factor: float) -> None:
    # Norms shrinking toward the input by ``factor`` per layer: layer l ~ factor^(n-1-l).
    n = 12
    values = [3.0 * factor ** (n - 1 - l) for l in range(n)]
    ratio, decay = profile_summary(values)
    assert ratio == pytest.approx((n - 1) * math.log10(factor), abs=1e-12)
    assert decay == pytest.approx(factor, rel=1e-12)


def test_profile_summary_least_squares_through_a_noisy_profile() -> None:
    logs = np.array([0.0, -1.0, 0.5, -0.2, 1.0])
    slope = np.polyfit(np.arange(5), logs, 1)[0]
    ratio, decay = profile_summary(list(10.0**logs))
    assert ratio == pytest.approx(-1.0, abs=1e-12)  # first over last only
    assert decay == pytest.approx(10.0 ** (-slope), rel=1e-12)


@pytest.mark.parametrize(
    "values", [[], [1.0, None, 2.0], [1.0, 0.0], [1.0, float("nan")], [1.0, -2.0]]
)
def test_profile_summary_gives_none_for_missing_values(values: list[float | None]) -> None:
    assert profile_summary(values) == (None, None)


def test_profile_summary_of_one_layer() -> None:
    assert profile_summary([5.0]) == (0.0, None)


def test_huge_but_finite_float32_values_give_finite_statistics() -> None:
    # Their sums of squares overflow float32 (3.4e38); the statistics must not.
    net = small_net("linear", [3, 4, 4, 2], np.float32)
    x = np.ones((5, 3), dtype=np.float32)
    rec = Recorder(net, [0], histogram_bins=10)
    ws = net.workspace(5)
    softmax_cross_entropy(net.forward(x, ws, training=True), np.zeros(5, np.int64), ws.dZ.views[-1])
    net.backward(ws)
    # Every entry is finite and far from float32's limit (3.4e38): only their squares are not.
    net.dW.views[1][...] = 1e20
    ws.dZ.views[1][...] = 1e20
    ws.H.views[1][...] = np.array([1e20, -1e20], dtype=np.float32).repeat(10).reshape(5, 4)
    with np.errstate(all="ignore"):  # as inside run_experiment
        rec.record(0, ws)
    v = {k: a[0, 1] for k, a in rec.values.items()}
    assert v["grad_norm"] == pytest.approx(1e20 * 4, rel=1e-5)  # sqrt(16 entries) = 4
    assert v["grad_std"] == pytest.approx(0.0, abs=1e15)
    assert v["backprop_norm"] == pytest.approx(1e20 * 2, rel=1e-5)  # sqrt(4 units)
    assert v["activation_std"] == pytest.approx(1e20, rel=1e-5)


def test_tiny_but_nonzero_float32_gradients_give_nonzero_norms() -> None:
    # Squares below ~1e-45 underflow to 0 in float32; a vanishing gradient is not a zero one.
    net = small_net("sigmoid", [3, 4, 4, 2], np.float32)
    rec = Recorder(net, [0], histogram_bins=10)
    ws = net.workspace(5)
    x = np.ones((5, 3), dtype=np.float32)
    softmax_cross_entropy(net.forward(x, ws, training=True), np.zeros(5, np.int64), ws.dZ.views[-1])
    net.backward(ws)
    net.dW.views[0][...] = 1e-25
    net.dW.views[0][0, 0] = 0.0
    ws.dZ.views[0][...] = -3e-30
    with np.errstate(all="ignore"):
        rec.record(0, ws)
    v = {k: a[0, 0] for k, a in rec.values.items()}
    assert v["grad_norm"] == pytest.approx(1e-25 * np.sqrt(11), rel=1e-5)  # 11 of 12 entries
    assert v["backprop_norm"] == pytest.approx(3e-30 * 2, rel=1e-5)  # sqrt(4 units)
    assert v["grad_max_abs"] == pytest.approx(1e-25, rel=1e-6)
