"""Diagnosis: verdicts on hand-built results at the thresholds, and on real tiny runs."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import pytest

from core import diagnosis as dx
from core.diagnosis import apply_remedy, diagnose
from core.errors import SpecError
from core.result import LayerInfo, ResultDict
from core.spec import ExperimentSpec
from core.train import run_experiment

DEPTH = 6


def hand_result(
    *,
    ratio: float = 0.0,
    backprop_ratio: float | None = None,
    records: int = 4,
    update: tuple[float, float] = (1e-3, 1e-3),
    saturation: float = 0.0,
    dead: float = 0.0,
    diverged_at: int | None = None,
    train_acc: list[float] | None = None,
    val_acc: list[float] | None = None,
    growth: float = 1.0,
) -> ResultDict:
    """A result with ``DEPTH`` hidden layers whose step-0 profile falls by ``ratio`` (log10)."""
    n = DEPTH + 1
    bp = ratio if backprop_ratio is None else backprop_ratio

    def profile(r: float, scale: float) -> list[float | None]:
        # log-linear from layer 0 to layer DEPTH-1, the output one step further
        return [scale * 10 ** (r * (1 - i / (DEPTH - 1))) for i in range(n)]

    def rows(value: Sequence[float | None]) -> list[list[float | None]]:
        return [list(value) for _ in range(records)]

    grad = [profile(ratio, 1e-2 * (growth if r else 1.0)) for r in range(records)]
    upd = [update[0] + (update[1] - update[0]) * i / (n - 1) for i in range(n)]
    acc_t = train_acc if train_acc is not None else [0.6, 0.8, 0.9]
    acc_v = val_acc if val_acc is not None else [0.6, 0.78, 0.88]
    stats: dict[str, list[list[float | None]]] = {
        "grad_norm": grad,
        "backprop_norm": rows(profile(bp, 1e-1)),
        "update_ratio": rows(list(upd)),
        "saturation": rows([saturation] * DEPTH + [0.0]),
        "dead_fraction": rows([dead] * DEPTH + [0.0]),
        "weight_change": rows([0.01] * n),
    }
    layers: list[LayerInfo] = [
        {"index": i, "name": f"dense_{i}", "fan_in": 2 if i == 0 else 16, "fan_out": 16}
        for i in range(DEPTH)
    ]
    layers.append({"index": DEPTH, "name": f"dense_{DEPTH}", "fan_in": 16, "fan_out": 3})
    return {
        "layers": layers,
        "steps": [10 * r for r in range(records)],
        "stats": stats,
        "grad_histogram": {"steps": [], "bin_edges_log10": [], "counts": []},
        "metrics": {
            "epoch": list(range(1, len(acc_t) + 1)),
            "train_loss": [1.0 / (i + 1) for i in range(len(acc_t))],
            "val_loss": [1.1 / (i + 1) for i in range(len(acc_t))],
            "train_accuracy": acc_t,
            "val_accuracy": acc_v,
        },
        "summary": {
            "gradient_ratio_log10": ratio,
            "backprop_ratio_log10": bp,
            "decay_per_layer": 10 ** (ratio / (DEPTH - 1)),
            "backprop_decay_per_layer": 10 ** (bp / (DEPTH - 1)),
            "final_train_accuracy": acc_t[-1] if acc_t else None,
            "final_val_accuracy": acc_v[-1] if acc_v else None,
            "diverged_at_step": diverged_at,
            "steps_run": 10 * (records - 1),
            "total_steps": 10 * (records - 1),
            "stopped": False,
        },
        "diagnosis": None,
    }


def spec_of(**model: Any) -> ExperimentSpec:
    training = model.pop("training", {})
    return ExperimentSpec.model_validate(
        {
            "model": {"depth": DEPTH, "width": 16, **model},
            "data": {"dataset": "spiral", "n_samples": 300},
            "training": {"epochs": 3, **training},
        }
    )


# --- thresholds on hand-built results ---------------------------------------------------


def test_level_profile_is_healthy_with_no_remedies() -> None:
    d = diagnose(hand_result())
    assert d["verdict"] == "healthy"
    assert d["remedies"] == []
    assert any("No gradient problem" in e for e in d["evidence"])


@pytest.mark.parametrize(
    ("ratio", "verdict"),
    [(-1.9, "healthy"), (-2.1, "vanishing"), (1.9, "healthy"), (2.1, "exploding")],
)
def test_ratio_thresholds(ratio: float, verdict: str) -> None:
    # A run that learns somewhat (0.55 against 1/3 by chance), but not well.
    partial = [0.4, 0.5, 0.55]
    d = diagnose(hand_result(ratio=ratio, train_acc=partial, val_acc=partial))
    assert d["verdict"] == verdict
    assert d["severity"] == (None if verdict == "healthy" else "mild")


def test_severity_grows_with_the_ratio_and_with_chance_accuracy() -> None:
    partial = [0.4, 0.5, 0.55]
    assert diagnose(hand_result(ratio=-4.5, val_acc=partial))["severity"] == "severe"
    assert diagnose(hand_result(ratio=-3.0, val_acc=partial))["severity"] == "mild"
    chance = [0.33, 0.34, 0.34]
    assert diagnose(hand_result(ratio=-3.0, val_acc=chance))["severity"] == "severe"


def test_growth_toward_the_input_in_a_run_that_learns_is_healthy_with_a_note() -> None:
    d = diagnose(hand_result(ratio=2.5))  # validation accuracy 0.88
    assert d["verdict"] == "healthy"
    assert d["severity"] is None
    assert any("Yang et al. 2019" in n and "10^+2.5" in n for n in d["notes"])


def test_near_chance_without_a_gradient_problem_is_not_learning() -> None:
    chance = [0.33, 0.34, 0.35]
    spec = spec_of(activation="relu", init="he_normal")
    d = diagnose(hand_result(val_acc=chance), spec)
    assert d["verdict"] == "not_learning"
    assert any("validation accuracy is 0.35" in e for e in d["evidence"])
    changes = [r["change"] for r in d["remedies"]]
    assert {"training.epochs": 6} in changes
    assert {"training.learning_rate": 0.15} in changes
    assert {"training.optimizer": "adam", "training.learning_rate": 1e-3} in changes


def test_backprop_vanishing_counts_even_when_weight_gradients_are_level() -> None:
    d = diagnose(hand_result(ratio=0.0, backprop_ratio=-3.0))
    assert d["verdict"] == "vanishing"
    assert any("10^-3.0" in e and "back-propagated" in e for e in d["evidence"])


def test_stalled_first_layer_is_vanishing_even_with_a_level_profile() -> None:
    d = diagnose(hand_result(update=(1e-7, 1e-3)))
    assert d["verdict"] == "vanishing"
    assert any("stopped learning" in e for e in d["evidence"])


def test_huge_updates_and_growing_gradients_are_exploding() -> None:
    assert diagnose(hand_result(update=(5.0, 5.0)))["verdict"] == "exploding"
    d = diagnose(hand_result(growth=1e4, update=(0.2, 0.2)))
    assert d["verdict"] == "exploding"
    assert d["severity"] == "severe"
    assert any("grew 10^+4.0-fold" in e for e in d["evidence"])


def test_growth_from_a_small_start_with_small_steps_is_not_explosion() -> None:
    d = diagnose(hand_result(growth=1e4))  # update ratios stay at 1e-3
    assert d["verdict"] == "healthy"
    assert any("not an explosion" in n for n in d["notes"])


def test_divergence_outranks_everything() -> None:
    d = diagnose(hand_result(ratio=-5.0, diverged_at=7))
    assert d["verdict"] == "diverged"
    assert "step 7" in d["evidence"][0]


def test_saturation_and_dead_units() -> None:
    assert diagnose(hand_result(saturation=0.6))["verdict"] == "saturated"
    assert diagnose(hand_result(saturation=0.4))["verdict"] == "healthy"
    assert diagnose(hand_result(dead=0.6))["verdict"] == "dead_units"
    assert any("60%" in e for e in diagnose(hand_result(dead=0.6))["evidence"])


def test_overfitting_is_evidence_and_proposes_weight_decay() -> None:
    d = diagnose(
        hand_result(train_acc=[0.9, 0.99], val_acc=[0.8, 0.75]), spec_of(activation="relu")
    )
    assert d["verdict"] == "healthy"
    assert any("over-fitting" in e for e in d["evidence"])
    assert d["remedies"][0]["change"] == {"training.weight_decay": 1e-4}


def test_missing_values_are_tolerated() -> None:
    r = hand_result(ratio=-3.0)
    r["stats"]["update_ratio"][0] = [None] * (DEPTH + 1)
    r["stats"]["grad_norm"][-1][0] = None
    r["summary"]["backprop_ratio_log10"] = None
    r["metrics"] = {
        "epoch": [],
        "train_loss": [],
        "val_loss": [],
        "train_accuracy": [],
        "val_accuracy": [],
    }
    d = diagnose(r)
    assert d["verdict"] == "vanishing"
    json.dumps(d, allow_nan=False)


# --- remedies ---------------------------------------------------------------------------


def test_remedies_never_propose_what_the_spec_has() -> None:
    spec = spec_of(activation="relu", init="he_normal", batch_norm=True)
    d = diagnose(hand_result(ratio=-3.0), spec)
    assert d["remedies"], "vanishing must come with remedies"
    for remedy in d["remedies"]:
        assert remedy["change"]
        for path, value in remedy["change"].items():
            section, field = path.split(".")
            assert getattr(getattr(spec, section), field) != value
        apply_remedy(spec, remedy)  # every remedy is a valid spec


def test_sigmoid_vanishing_remedies_rank_relu_he_first_and_quote_theory() -> None:
    d = diagnose(hand_result(ratio=-4.0), spec_of(activation="sigmoid", init="standard"))
    first = d["remedies"][0]
    assert first["change"] == {"model.activation": "relu", "model.init": "he_normal"}
    assert "mean-field theory predicts" in first["why"]
    changes = [r["change"] for r in d["remedies"]]
    assert {"model.init": "xavier_normal"} in changes
    assert len(d["remedies"]) <= dx.remedies.MAX_REMEDIES


def test_exploding_remedies_fix_the_init_then_clip_then_lower_the_rate() -> None:
    spec = spec_of(activation="tanh", init="normal", training={"learning_rate": 0.2})
    chance = [0.33, 0.34, 0.34]  # exploding, not a network that learns regardless
    result = hand_result(ratio=3.0, val_acc=chance)
    changes = [r["change"] for r in diagnose(result, spec)["remedies"]]
    assert changes[:3] == [
        {"model.init": "xavier_normal"},
        {"training.clip_grad_norm": 1.0},
        {"training.learning_rate": 0.02},
    ]


def test_residual_is_not_proposed_over_unequal_widths() -> None:
    spec = ExperimentSpec.model_validate(
        {"model": {"depth": 3, "width": [8, 16, 8], "activation": "relu", "init": "he_normal"}}
    )
    changes = [r["change"] for r in diagnose(hand_result(ratio=-3.0), spec)["remedies"]]
    assert {"model.residual": True} not in changes


def test_apply_remedy_keeps_the_seed_and_rejects_bad_paths() -> None:
    spec = spec_of(activation="sigmoid").model_copy(update={"seed": 42})
    changed = apply_remedy(spec, {"change": {"model.activation": "relu"}, "why": ""})
    assert changed.model.activation == "relu"
    assert changed.seed == 42
    assert changed.data == spec.data
    with pytest.raises(SpecError, match="not a spec field"):
        apply_remedy(spec, {"change": {"model.colour": "red"}})
    with pytest.raises(SpecError) as info:
        apply_remedy(spec, {"change": {"model.depth": 0}})
    assert info.value.errors[0].field == "model.depth"


# --- the canonical cases, trained for real ----------------------------------------------


def run(model: dict[str, Any], **training: Any) -> tuple[ExperimentSpec, ResultDict]:
    spec = ExperimentSpec.model_validate(
        {
            "seed": 0,
            "model": {"width": 32, **model},
            "data": {"dataset": "spiral", "n_samples": 600},
            "training": {"epochs": 3, **training},
        }
    )
    return spec, run_experiment(spec)


def test_deep_sigmoid_with_xavier_vanishes_and_the_first_remedy_cures_it() -> None:
    spec, result = run({"depth": 10, "activation": "sigmoid", "init": "xavier_normal"})
    d = diagnose(result, spec)
    assert d["verdict"] == "vanishing"
    ratio = result["summary"]["backprop_ratio_log10"]
    assert ratio is not None
    assert ratio < -4  # 9 factors of about 0.24
    assert any("Mean-field theory predicts" in e for e in d["evidence"])
    cured = apply_remedy(spec, d["remedies"][0])
    assert diagnose(run_experiment(cured), cured)["verdict"] == "healthy"


def test_relu_with_he_is_healthy() -> None:
    spec, result = run({"depth": 10, "activation": "relu", "init": "he_normal"})
    d = diagnose(result, spec)
    assert d["verdict"] == "healthy", d["evidence"]


def test_tanh_with_unit_normal_weights_explodes() -> None:
    spec, result = run({"depth": 10, "activation": "tanh", "init": "normal"})
    d = diagnose(result, spec)
    assert d["verdict"] == "exploding", d["evidence"]
    assert d["remedies"][0]["change"] == {"model.init": "xavier_normal"}


def test_a_huge_learning_rate_diverges_or_explodes() -> None:
    spec, result = run({"depth": 10, "activation": "relu", "init": "he_normal"}, learning_rate=10.0)
    d = diagnose(result, spec)
    assert d["verdict"] in ("diverged", "exploding")
    lowered = [r for r in d["remedies"] if "training.learning_rate" in r["change"]]
    assert lowered
    lr = lowered[0]["change"]["training.learning_rate"]
    assert isinstance(lr, float)
    assert math.isclose(lr, 1.0)
