"""result.json and result.npz hold the same numbers; None becomes NaN in the arrays."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from core.result import ResultDict
from core.result_io import load_json, load_npz, result_arrays, save_json, save_npz
from core.spec import LAYER_STATS


def fake_result(n_records: int = 3, n_layers: int = 4, batch_norm: bool = False) -> ResultDict:
    rng = np.random.default_rng(0)
    stats: dict[str, list[list[float | None]]] = {
        name: rng.random((n_records, n_layers)).tolist() for name in LAYER_STATS
    }
    if n_records:
        stats["update_ratio"][0] = [None] * n_layers  # no update before step 0
    result: ResultDict = {
        "layers": [
            {"index": i, "name": f"dense_{i}", "fan_in": 2 + i, "fan_out": 8 + i}
            for i in range(n_layers)
        ],
        "steps": list(range(0, 10 * n_records, 10)),
        "stats": stats,
        "grad_histogram": {
            "steps": [0, 10][: min(2, n_records)],
            "bin_edges_log10": np.linspace(-12, 2, 6).tolist(),
            "counts": rng.integers(0, 50, (min(2, n_records), n_layers, 5)).tolist(),
        },
        "metrics": {
            "epoch": [1, 2],
            "train_loss": [1.1, None],
            "val_loss": [1.2, None],
            "train_accuracy": [0.4, 0.5],
            "val_accuracy": [0.38, 0.45],
        },
        "summary": {
            "gradient_ratio_log10": -3.5,
            "backprop_ratio_log10": None,
            "decay_per_layer": 0.4,
            "backprop_decay_per_layer": None,
            "final_train_accuracy": 0.5,
            "final_val_accuracy": 0.45,
            "diverged_at_step": 12,
            "steps_run": 12,
            "total_steps": 100,
            "stopped": False,
        },
        "diagnosis": {
            "verdict": "vanishing",
            "severity": "severe",
            "evidence": ["x"],
            "notes": [],
            "remedies": [],
        },
    }
    if batch_norm:
        result["batch_norm"] = {
            "layers": [f"bn_{j}" for j in range(n_layers - 1)],
            "gamma_grad_norm": rng.random((n_records, n_layers - 1)).tolist(),
            "beta_grad_norm": rng.random((n_records, n_layers - 1)).tolist(),
            "gamma_norm": rng.random((n_records, n_layers - 1)).tolist(),
        }
    return result


def as_float(rows: list[list[float | None]]) -> np.ndarray:
    return np.array([[math.nan if v is None else v for v in row] for row in rows])


@pytest.mark.parametrize("batch_norm", [False, True])
def test_npz_matches_json(tmp_path: Path, batch_norm: bool) -> None:
    result = fake_result(batch_norm=batch_norm)
    save_json(result, tmp_path / "result.json")
    save_npz(result, tmp_path / "result.npz")
    back = load_json(tmp_path / "result.json")
    assert back == result
    arrays = load_npz(tmp_path / "result.npz")

    assert arrays["steps"].dtype == np.int64
    np.testing.assert_array_equal(arrays["steps"], back["steps"])
    for name in LAYER_STATS:
        table = arrays[f"stats.{name}"]
        assert table.dtype == np.float64
        assert table.shape == (3, 4)
        np.testing.assert_array_equal(table, as_float(back["stats"][name]))
    assert np.isnan(arrays["stats.update_ratio"][0]).all()
    np.testing.assert_array_equal(arrays["layers.fan_in"], [2, 3, 4, 5])
    np.testing.assert_array_equal(arrays["layers.fan_out"], [8, 9, 10, 11])
    assert arrays["layers.name"].tolist() == ["dense_0", "dense_1", "dense_2", "dense_3"]
    np.testing.assert_array_equal(arrays["metrics.epoch"], [1, 2])
    np.testing.assert_array_equal(arrays["metrics.train_loss"], [1.1, np.nan])
    np.testing.assert_array_equal(arrays["metrics.val_accuracy"], [0.38, 0.45])
    assert arrays["grad_histogram.counts"].shape == (2, 4, 5)
    np.testing.assert_array_equal(arrays["grad_histogram.counts"], back["grad_histogram"]["counts"])
    assert arrays["grad_histogram.bin_edges_log10"].shape == (6,)
    assert arrays["summary"] == back["summary"]
    assert arrays["diagnosis"] == back["diagnosis"]
    assert ("batch_norm.gamma_norm" in arrays) is batch_norm
    if batch_norm:
        bn = back["batch_norm"]
        np.testing.assert_array_equal(arrays["batch_norm.gamma_grad_norm"], bn["gamma_grad_norm"])
        assert arrays["batch_norm.layers"].tolist() == bn["layers"]


def test_npz_is_written_at_exactly_the_path(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "out.data"
    save_npz(fake_result(), target)
    assert sorted(p.name for p in target.parent.iterdir()) == ["out.data"]
    assert "stats.grad_norm" in load_npz(target)


def test_empty_result_keeps_its_shapes() -> None:
    arrays = result_arrays(fake_result(n_records=0))
    assert arrays["stats.grad_norm"].shape == (0, 4)
    assert arrays["grad_histogram.counts"].shape == (0, 4, 5)


def test_json_rejects_nan_rather_than_writing_invalid_json(tmp_path: Path) -> None:
    result = fake_result()
    result["stats"]["grad_norm"][1][1] = math.nan
    with pytest.raises(ValueError, match="JSON"):
        save_json(result, tmp_path / "result.json")
    assert not any(tmp_path.iterdir())


def test_json_is_plain_json(tmp_path: Path) -> None:
    save_json(fake_result(), tmp_path / "r.json")
    text = (tmp_path / "r.json").read_text()
    assert "NaN" not in text
    assert json.loads(text)["summary"]["diverged_at_step"] == 12
