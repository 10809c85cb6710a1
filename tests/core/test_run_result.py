"""The JSON boundary: arrays -> JSON -> arrays keeps every value; NaN <-> null; one prediction."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from core import plots
from core.diagnosis import diagnose
from core.result import ResultDict, Theory
from core.result_io import load_npz, save_npz
from core.run_result import (
    BatchNormArrays,
    Histograms,
    MetricArrays,
    RunResult,
    float32_shortest,
    json_rows,
    json_values,
    nan_array,
)
from core.spec import LAYER_STATS, ExperimentSpec
from core.train import Run, run_experiment, train

SpecFactory = Callable[..., ExperimentSpec]
F64 = NDArray[np.float64]
#: Diverges within a few steps (see tests/core/test_train.py).
DIVERGING: dict[str, Any] = {
    "model": {"depth": 4, "width": 32},
    "data": {"n_samples": 200},
    "training": {"batch_size": 32, "epochs": 5, "learning_rate": 10.0},
    "recording": {"every_steps": 2},
}


def through_json(run: RunResult) -> RunResult:
    """``run`` as it comes back from strict JSON text (the store, result.json)."""
    text = json.dumps(run.to_json(), allow_nan=False)
    back: ResultDict = json.loads(text)
    return RunResult.from_json(back)


def as_written(b: RunResult, a: F64) -> F64:
    """``a``, one of b's recorded tables, as b's JSON writes it (float32 runs: float32)."""
    return float32_shortest(a) if b.dtype == "float32" else a


def assert_same(a: RunResult, b: RunResult) -> None:
    """Equal arrays (NaN where NaN, same dtype and shape) and equal JSON entries; a's
    recorded tables equal b's at b's precision (a float32 run's are float32 in JSON)."""
    assert a.layers == b.layers
    np.testing.assert_array_equal(a.steps, b.steps, strict=True)
    assert a.stats.keys() == b.stats.keys()
    for name in a.stats:
        want = as_written(b, b.stats[name])
        np.testing.assert_array_equal(a.stats[name], want, strict=True, err_msg=name)
        if b.dtype == "float32":
            # Exactly the recorded float32 values come back.
            got32, want32 = a.stats[name].astype(np.float32), b.stats[name].astype(np.float32)
            np.testing.assert_array_equal(got32, want32, strict=True, err_msg=name)
    for key in ("steps", "bin_edges_log10", "counts"):
        got, want = getattr(a.grad_histogram, key), getattr(b.grad_histogram, key)
        np.testing.assert_array_equal(got, want, strict=True, err_msg=key)
    for key in ("epoch", "train_loss", "val_loss", "train_accuracy", "val_accuracy"):
        got, want = getattr(a.metrics, key), getattr(b.metrics, key)
        np.testing.assert_array_equal(got, want, strict=True, err_msg=key)
    assert (a.batch_norm is None) is (b.batch_norm is None)
    if a.batch_norm is not None and b.batch_norm is not None:
        assert a.batch_norm.layers == b.batch_norm.layers
        for key in ("gamma_grad_norm", "beta_grad_norm", "gamma_norm"):
            got, want = getattr(a.batch_norm, key), getattr(b.batch_norm, key)
            np.testing.assert_array_equal(got, as_written(b, want), strict=True, err_msg=key)
    assert a.summary == b.summary
    assert a.diagnosis == b.diagnosis
    assert a.theory == b.theory


@pytest.mark.parametrize(
    "overrides",
    [
        {"model": {"activation": "sigmoid", "init": "standard"}},
        {"model": {"batch_norm": True, "activation": "tanh"}, "training": {"optimizer": "adam"}},
        DIVERGING,
        {"model": {"dtype": "float64", "batch_norm": True}},
    ],
    ids=["plain", "batch-norm", "diverging", "float64"],
)
def test_arrays_to_json_and_back_keep_every_value(
    overrides: dict[str, Any], make_spec: SpecFactory
) -> None:
    spec = make_spec(**overrides)
    run = train(spec)
    assert run.theory is not None
    assert run.diagnosis is not None
    assert_same(through_json(run), run)
    # The JSON the run hands out is what run_experiment returns, bit for bit.
    assert json.dumps(run.to_json(), sort_keys=True) == json.dumps(
        run_experiment(spec), sort_keys=True
    )


def test_a_diverged_run_says_not_finite_with_nan_in_arrays_and_null_in_json(
    make_spec: SpecFactory,
) -> None:
    run = train(make_spec(**DIVERGING))
    assert run.summary["diverged_at_step"] is not None
    last = {name: a[-1] for name, a in run.stats.items()}
    assert np.isnan(last["update_ratio"]).all()  # no update was made at the diverged step
    assert np.isnan(last["grad_norm"]).any()
    for name, a in run.stats.items():
        assert not np.isinf(a).any(), name  # infinities are NaN too
        # every earlier record is whole (derivative_rms has no output layer: always NaN)
        whole = a[:-1, :-1] if name == "derivative_rms" else a[:-1]
        assert np.isfinite(whole).all(), name
        if name == "derivative_rms":
            assert np.isnan(a[:, -1]).all()
    rows = run.to_json()["stats"]
    for name, a in run.stats.items():
        nulls = [[v is None for v in row] for row in rows[name]]
        np.testing.assert_array_equal(nulls, np.isnan(a), err_msg=name)


def test_nan_and_infinity_become_null_and_null_becomes_nan() -> None:
    a = np.array([[1.5, np.nan, -2.0], [np.inf, 0.0, -np.inf]])
    assert json_rows(a) == [[1.5, None, -2.0], [None, 0.0, None]]
    assert json_values(a[1]) == [None, 0.0, None]
    assert json_values(a[0, [0, 2]]) == [1.5, -2.0]
    back = nan_array(json_rows(a))
    expected = np.where(np.isfinite(a), a, np.nan)
    np.testing.assert_array_equal(back, expected, strict=True)
    assert nan_array([], (0, 3)).shape == (0, 3)


def test_float32_values_survive_json_exactly(rng: np.random.Generator) -> None:
    # Statistics of a float32 run are float32 numbers held in float64: every one must
    # come back from JSON text as the same float32 (and the same float64).
    values = (rng.standard_normal((6, 5)) * 10.0 ** rng.integers(-30, 30, (6, 5))).astype(
        np.float32
    )
    values[2, 3] = np.nan
    values[4, 0] = np.finfo(np.float32).tiny  # the smallest normal float32
    values[5, 1] = np.finfo(np.float32).max
    wide = values.astype(np.float64)
    back = nan_array(json.loads(json.dumps(json_rows(wide), allow_nan=False)))
    np.testing.assert_array_equal(back, wide, strict=True)
    np.testing.assert_array_equal(back.astype(np.float32), values, strict=True)
    assert back.astype(np.float32).tobytes() == values.tobytes()


def empty_run(n_layers: int = 3, bins: int = 4) -> RunResult:
    none = np.zeros(0)
    return RunResult(
        layers=[
            {"index": i, "name": f"dense_{i}", "fan_in": 4, "fan_out": 4} for i in range(n_layers)
        ],
        steps=np.zeros(0, dtype=np.int64),
        stats={name: np.zeros((0, n_layers)) for name in LAYER_STATS},
        grad_histogram=Histograms(
            steps=np.zeros(0, dtype=np.int64),
            bin_edges_log10=np.linspace(-16.0, 4.0, bins + 1),
            counts=np.zeros((0, n_layers, bins), dtype=np.int64),
        ),
        metrics=MetricArrays(
            epoch=np.zeros(0, dtype=np.int64),
            train_loss=none,
            val_loss=none,
            train_accuracy=none,
            val_accuracy=none,
        ),
        summary={
            "gradient_ratio_log10": None,
            "backprop_ratio_log10": None,
            "decay_per_layer": None,
            "backprop_decay_per_layer": None,
            "final_train_accuracy": None,
            "final_val_accuracy": None,
            "diverged_at_step": None,
            "steps_run": 0,
            "total_steps": 10,
            "stopped": True,
        },
        batch_norm=BatchNormArrays(
            layers=["batch_norm_0", "batch_norm_1"],
            gamma_grad_norm=np.zeros((0, 2)),
            beta_grad_norm=np.zeros((0, 2)),
            gamma_norm=np.zeros((0, 2)),
        ),
    )


def test_a_result_with_no_records_keeps_its_shapes_through_json() -> None:
    run = empty_run()
    back = through_json(run)
    assert_same(back, run)
    assert back.stats["grad_norm"].shape == (0, 3)
    assert back.grad_histogram.counts.shape == (0, 3, 4)
    assert back.batch_norm is not None
    assert back.batch_norm.gamma_norm.shape == (0, 2)
    assert back.stat("no_such_stat").shape == (0, 3)


def test_arrays_and_json_give_the_same_diagnosis_plots_and_npz(
    make_spec: SpecFactory, tmp_path: Path
) -> None:
    spec = make_spec(model={"activation": "tanh", "init": "normal", "batch_norm": True})
    run = train(spec)
    data = run.to_json()
    assert diagnose(run, spec) == diagnose(data, spec) == run.diagnosis
    for name in plots.PLOTS:
        assert plots.render(name, run, "svg", run.theory) == plots.render(
            name, data, "svg", run.theory
        ), name
    save_npz(run, tmp_path / "arrays.npz")
    save_npz(data, tmp_path / "json.npz")
    a, b = load_npz(tmp_path / "arrays.npz"), load_npz(tmp_path / "json.npz")
    assert a.keys() == b.keys()
    for key in a:
        if isinstance(a[key], np.ndarray):
            np.testing.assert_array_equal(a[key], b[key], strict=True, err_msg=key)
        else:
            assert a[key] == b[key], key


def test_the_prediction_is_computed_once_per_run(
    make_spec: SpecFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    import core.diagnosis.remedies
    import core.diagnosis.verdict
    import core.plots.sweep
    import core.train
    from core.theory import predict

    spec = make_spec(model={"activation": "sigmoid", "init": "standard", "depth": 6})
    calls: list[ExperimentSpec] = []

    def counting(s: ExperimentSpec) -> Theory:
        calls.append(s)
        return predict(s)

    for module in (core.train, core.diagnosis.verdict, core.diagnosis.remedies, core.plots.sweep):
        monkeypatch.setattr(module, "predict", counting)
    run = train(spec)
    assert run.diagnosis is not None
    assert run.diagnosis["verdict"] == "vanishing"
    # Remedies predict the changed specs; the run's own spec is predicted once.
    assert sum(s == spec for s in calls) == 1
    assert run.theory == predict(spec)
    calls.clear()
    plots.render_sweep("ratio-vs-depth", [(spec, run.to_json())], "png")
    assert calls == []  # the sweep plot reads the run's own prediction


def test_float32_shortest_is_numpys_shortest_float32_form_and_reads_back_exactly(
    rng: np.random.Generator,
) -> None:
    f32 = np.finfo(np.float32)
    values = np.concatenate(
        [
            rng.standard_normal(4000) * 10.0 ** rng.uniform(-45, 38, 4000),  # every scale
            rng.integers(0, 129, 200) / 128.0,  # fractions such as dead_fraction
            [0.0, -0.0, 1.0, 0.1, f32.tiny, f32.smallest_subnormal, f32.max, -f32.max],
            [np.nan, np.inf, -np.inf, 1e300],  # non-finite, and beyond float32's range
        ]
    )
    short = float32_shortest(values.reshape(-1, 4))
    assert short.shape == (values.size // 4, 4)
    short = short.ravel()
    for x, q in zip(values.tolist(), short.tolist(), strict=True):
        if not abs(x) <= float(f32.max) or abs(x) < float(f32.tiny):
            # Kept as they are: a norm below float32's normal range never reads as 0.
            assert q == x or (np.isnan(q) and np.isnan(x))
            continue
        x32 = np.float32(x)
        assert np.float32(float(repr(q))) == x32  # JSON text -> float -> float32: exact
        assert float(repr(q)) == float(str(x32)), (x, repr(q), str(x32))  # as short as numpy's


def test_a_float32_runs_json_is_about_half_of_float64_precision(make_spec: SpecFactory) -> None:
    run = Run(make_spec(model={"depth": 6}, recording={"every_steps": 1}))
    result = run.execute(None, None, 0.5)
    assert result.dtype == "float32"
    recorded = run.recorder.stats()  # float64 sums of float32 numbers, before publishing
    full = json.dumps({k: json_rows(a) for k, a in recorded.items()}, separators=(",", ":"))
    short = json.dumps(result.to_json(), separators=(",", ":"))
    assert len(json.dumps(json.loads(short)["stats"], separators=(",", ":"))) < 0.65 * len(full)
    for name, a in recorded.items():
        # The published values are exactly the recorded ones rounded to float32.
        got, want = result.stats[name].astype(np.float32), a.astype(np.float32)
        np.testing.assert_array_equal(got, want, strict=True, err_msg=name)
    assert result.rounded  # the arrays hold the published values: to_json rounds nothing
    assert dataclasses.replace(result, rounded=False).to_json() == result.to_json()
    # Read back and written again, the same text: the short forms are stable.
    again = RunResult.from_json(json.loads(short))
    assert json.dumps(again.to_json(), separators=(",", ":")) == short
