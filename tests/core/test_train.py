"""run_experiment: determinism, the record plan, progress, stopping, divergence, dtypes."""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from core.result import Progress, ResultDict
from core.spec import LAYER_STATS, TARGET_RECORDS, ExperimentSpec
from core.train import Run, run_experiment

SpecFactory = Callable[..., ExperimentSpec]


def dumps(result: ResultDict) -> str:
    """The result as strict JSON: raises on NaN or infinity, or on a NumPy scalar."""
    return json.dumps(result, allow_nan=False, sort_keys=True)


def check_shape(result: ResultDict, spec: ExperimentSpec) -> None:
    """The result's arrays agree with each other and with the spec."""
    n_layers = spec.model.depth + 1
    assert [layer["index"] for layer in result["layers"]] == list(range(n_layers))
    dims = [spec.data.features, *spec.model.widths, spec.data.classes]
    assert [(la["fan_in"], la["fan_out"]) for la in result["layers"]] == list(
        itertools.pairwise(dims)
    )
    assert set(result["stats"]) == set(LAYER_STATS)
    for name, rows in result["stats"].items():
        assert len(rows) == len(result["steps"]), name
        assert all(len(row) == n_layers for row in rows), name
    assert result["steps"] == sorted(set(result["steps"]))
    epochs = result["metrics"]["epoch"]
    assert epochs == list(range(1, len(epochs) + 1))
    metrics = result["metrics"]
    for key in ("train_loss", "val_loss", "train_accuracy", "val_accuracy"):
        assert len(metrics[key]) == len(epochs), key


# --- determinism -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {
            "model": {"batch_norm": True, "activation": "tanh"},
            "training": {"optimizer": "adam", "weight_decay": 0.01, "clip_grad_norm": 1.0},
        },
        {"model": {"residual": True, "activation": "gelu"}, "training": {"optimizer": "momentum"}},
    ],
    ids=["plain", "bn-adam", "residual"],
)
def test_same_spec_same_json(overrides: dict[str, Any], make_spec: SpecFactory) -> None:
    spec = make_spec(**overrides)
    first = run_experiment(spec)
    check_shape(first, spec)
    assert dumps(first) == dumps(run_experiment(spec))


def test_different_seeds_differ(make_spec: SpecFactory) -> None:
    a = run_experiment(make_spec(seed=1))
    b = run_experiment(make_spec(seed=2))
    assert a["stats"]["grad_norm"][0] != b["stats"]["grad_norm"][0]
    assert a["metrics"]["train_loss"] != b["metrics"]["train_loss"]


def test_changing_the_initialiser_keeps_the_data_and_the_batch_order(
    make_spec: SpecFactory,
) -> None:
    a, b = Run(make_spec()), Run(make_spec(model={"init": "orthogonal"}))
    np.testing.assert_array_equal(a.data.x_train, b.data.x_train)
    np.testing.assert_array_equal(a.data.y_val, b.data.y_val)
    np.testing.assert_array_equal(a.shuffle_rng.permutation(50), b.shuffle_rng.permutation(50))
    assert not np.array_equal(a.net.theta, b.net.theta)


# --- the record plan ---------------------------------------------------------------------------


def test_records_at_zero_every_k_and_the_last(make_spec: SpecFactory) -> None:
    # 80 training examples in batches of 16: 5 steps an epoch, 15 in all (steps 0 .. 14).
    spec = make_spec(training={"epochs": 3}, recording={"every_steps": 4})
    assert spec.total_steps == 15
    result = run_experiment(spec)
    assert result["steps"] == [0, 4, 8, 12, 14]
    assert result["summary"]["steps_run"] == 15
    assert result["summary"]["total_steps"] == 15
    check_shape(result, spec)


def test_a_last_step_on_the_grid_is_not_recorded_twice(make_spec: SpecFactory) -> None:
    spec = make_spec(training={"epochs": 3}, recording={"every_steps": 7})
    assert run_experiment(spec)["steps"] == [0, 7, 14]


@pytest.mark.parametrize("epochs", [1, 7, 100, 999, 1000, 1001, 10_000])
def test_automatic_every_steps_keeps_the_record_bounded(
    epochs: int, make_spec: SpecFactory
) -> None:
    # 160 000 examples in batches of 1 for up to 10 000 epochs: up to 1.6e9 steps, not run.
    spec = make_spec(
        data={"dataset": "gaussian", "n_samples": 200_000},
        training={"epochs": epochs, "batch_size": 1},
        recording={"every_steps": None},
    )
    steps = spec.record_steps
    assert len(steps) <= TARGET_RECORDS + 1
    assert len(steps) >= TARGET_RECORDS  # not far fewer either
    assert steps[0] == 0
    assert steps[-1] == spec.total_steps - 1
    assert steps == sorted(set(steps))
    assert spec.cost().records == len(steps)


def test_automatic_every_steps_on_a_short_run_records_every_step(make_spec: SpecFactory) -> None:
    spec = make_spec(recording={"every_steps": None})
    assert spec.every_steps == 1
    assert run_experiment(spec)["steps"] == list(range(spec.total_steps))


# --- progress and stopping ---------------------------------------------------------------------


def test_progress_reports_rising_steps_and_valid_partial_results(
    make_spec: SpecFactory,
) -> None:
    spec = make_spec(training={"epochs": 3}, recording={"every_steps": 2})
    seen: list[Progress] = []
    partials: list[ResultDict] = []

    def on_progress(p: Progress, partial: Callable[[], ResultDict]) -> None:
        seen.append(p)
        if len(seen) % 4 == 1 or p.step == spec.total_steps:
            partials.append(json.loads(dumps(partial())))

    result = run_experiment(spec, on_progress=on_progress, progress_every_s=0.0)
    steps = [p.step for p in seen]
    assert len(seen) == spec.total_steps + 1  # every step, then once at the end
    assert steps[:-1] == list(range(1, spec.total_steps + 1))
    assert steps[-1] == spec.total_steps
    assert seen[-1].fraction == 1.0
    assert all(p.total_steps == spec.total_steps for p in seen)
    assert all(p.fraction == pytest.approx(p.step / p.total_steps) for p in seen)
    assert [p.epoch for p in seen] == sorted(p.epoch for p in seen)
    assert seen[-1].to_dict() == {"step": 15, "total_steps": 15, "epoch": 3, "fraction": 1.0}
    for partial in partials:
        check_shape(partial, spec)
        assert set(partial["steps"]) <= set(result["steps"])
    # The partial record is a prefix of the final one.
    mid = partials[1]
    n = len(mid["steps"])
    assert 0 < n < len(result["steps"])
    assert mid["stats"]["grad_norm"] == result["stats"]["grad_norm"][:n]
    assert partials[-1] == json.loads(dumps(result))  # the last call hands over the result


def test_progress_is_called_once_at_the_end_when_the_interval_is_long(
    make_spec: SpecFactory,
) -> None:
    calls: list[int] = []
    run_experiment(make_spec(), on_progress=lambda p, _: calls.append(p.step), progress_every_s=1e6)
    assert calls == [make_spec().total_steps]


@pytest.mark.parametrize("n", [1, 3, 7])
def test_should_stop_ends_the_run_within_one_step(n: int, make_spec: SpecFactory) -> None:
    spec = make_spec(training={"epochs": 4})
    calls = 0

    def stop() -> bool:
        nonlocal calls
        calls += 1
        return calls >= n

    result = run_experiment(spec, should_stop=stop)
    summary = result["summary"]
    assert summary["stopped"] is True
    assert summary["steps_run"] == n  # checked after every step: the n-th check stops it
    assert calls == n
    assert summary["diverged_at_step"] is None
    assert summary["total_steps"] == spec.total_steps
    assert max(result["steps"]) < n
    check_shape(result, spec)
    dumps(result)


def test_a_stop_check_that_never_fires(make_spec: SpecFactory) -> None:
    spec = make_spec()
    result = run_experiment(spec, should_stop=lambda: False)
    assert result["summary"]["stopped"] is False
    assert result["summary"]["steps_run"] == spec.total_steps
    assert dumps(result) == dumps(run_experiment(spec))  # the check changes nothing


# --- divergence --------------------------------------------------------------------------------

#: ReLU + He at the largest learning rate the spec allows: over 40 seeds this spec
#: diverged at step 3 to 7 of 25, every time (linear activations: at step 3, every time).
DIVERGING: dict[str, Any] = {
    "model": {"depth": 4, "width": 32},
    "data": {"n_samples": 200},
    "training": {"batch_size": 32, "epochs": 5, "learning_rate": 10.0},
    "recording": {"every_steps": 2},
}


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("activation", ["relu", "linear"])
def test_divergence_is_a_result(seed: int, activation: str, make_spec: SpecFactory) -> None:
    spec = make_spec(
        seed=seed, **{**DIVERGING, "model": {**DIVERGING["model"], "activation": activation}}
    )
    result = run_experiment(spec)  # no exception, and no warning (warnings are errors here)
    text = dumps(result)
    summary = result["summary"]
    at = summary["diverged_at_step"]
    assert at is not None
    assert 0 < at < spec.total_steps
    assert summary["steps_run"] == at  # the diverged step applied no update
    assert summary["stopped"] is False
    assert result["steps"][-1] == at  # recorded even off the every-2 grid
    last = {name: rows[-1] for name, rows in result["stats"].items()}
    assert all(v is None for v in last["update_ratio"])  # no update was made
    assert any(v is None for v in last["grad_norm"])
    # Every earlier record is whole, however large its (finite) gradients had grown.
    for name, rows in result["stats"].items():
        # derivative_rms has no output layer: its last column is always null
        whole = [row[:-1] for row in rows[:-1]] if name == "derivative_rms" else rows[:-1]
        assert all(v is not None and math.isfinite(v) for row in whole for v in row), name
    assert summary["decay_per_layer"] is not None  # step 0 was healthy
    check_shape(result, spec)
    assert '"NaN"' not in text  # no NaN smuggled in as a string either


# --- dtypes ------------------------------------------------------------------------------------


def test_float64_spec_runs_and_agrees_with_float32_at_step_0(make_spec: SpecFactory) -> None:
    r32 = run_experiment(make_spec())
    spec64 = make_spec(model={"dtype": "float64"})
    run = Run(spec64)
    assert run.net.theta.dtype == np.float64
    assert run.data.x_train.dtype == np.float64
    r64 = run.execute(None, None, 0.5).to_json()
    check_shape(r64, spec64)
    dumps(r64)
    # Same seed, same draws: the two precisions start from the same network and batch.
    for name in ("grad_norm", "backprop_norm", "weight_norm", "activation_std"):
        assert r64["stats"][name][0] == pytest.approx(r32["stats"][name][0], rel=1e-4), name
    assert r64["summary"]["final_val_accuracy"] is not None


def test_summary_follows_the_contract(make_spec: SpecFactory) -> None:
    spec = make_spec(model={"depth": 5, "activation": "sigmoid", "init": "xavier_normal"})
    result = run_experiment(spec)
    s = result["summary"]
    g0 = result["stats"]["grad_norm"][0][: spec.model.depth]
    b0 = result["stats"]["backprop_norm"][0][: spec.model.depth]
    assert all(v is not None for v in g0 + b0)
    g = np.log10(np.array(g0, dtype=np.float64))
    b = np.log10(np.array(b0, dtype=np.float64))
    assert s["gradient_ratio_log10"] == pytest.approx(g[0] - g[-1], abs=1e-12)
    assert s["backprop_ratio_log10"] == pytest.approx(b[0] - b[-1], abs=1e-12)
    slope = np.polyfit(np.arange(spec.model.depth), g, 1)[0]
    assert s["decay_per_layer"] == pytest.approx(10 ** (-slope), rel=1e-12)
    slope_b = np.polyfit(np.arange(spec.model.depth), b, 1)[0]
    assert s["backprop_decay_per_layer"] == pytest.approx(10 ** (-slope_b), rel=1e-12)
    assert s["final_val_accuracy"] is not None
    assert s["final_train_accuracy"] == result["metrics"]["train_accuracy"][-1]
    assert 0.0 <= s["final_val_accuracy"] <= 1.0
    assert s["diverged_at_step"] is None
