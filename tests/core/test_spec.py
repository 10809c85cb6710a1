"""The experiment spec: defaults, bounds that name their field, strictness, cost, frozen."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from core.errors import field_errors
from core.spec import (
    ACTIVATION_NAMES,
    DATASET_NAMES,
    DATASET_SHAPES,
    LAYER_STATS,
    ExperimentSpec,
)

#: The example of docs/contract.md § Spec, verbatim.
CONTRACT_EXAMPLE = """
{
  "name": "sigmoid-20",
  "seed": 0,
  "model": {
    "depth": 20,
    "width": 256,
    "activation": "sigmoid",
    "negative_slope": 0.01,
    "init": "xavier_normal",
    "batch_norm": false,
    "residual": false,
    "residual_every": 2
  },
  "data": {"dataset": "spiral", "n_samples": 2000, "n_features": 2, "n_classes": 3,
           "noise": 0.2, "val_fraction": 0.2},
  "training": {
    "optimizer": "sgd", "learning_rate": 0.05, "momentum": 0.9,
    "batch_size": 64, "epochs": 20, "weight_decay": 0.0, "clip_grad_norm": null
  },
  "recording": {"every_steps": 10, "histogram_bins": 40}
}
"""

MINIMAL: dict[str, Any] = {"model": {"depth": 3, "activation": "relu"}}


def with_(**sections: Any) -> dict[str, Any]:
    """The minimal spec with ``sections`` merged into its sections."""
    out: dict[str, Any] = {"model": dict(MINIMAL["model"])}
    for key, value in sections.items():
        if key in ("name", "seed"):
            out[key] = value
        else:
            out[key] = {**out.get(key, {}), **value}
    return out


def named_fields(exc: ValidationError) -> set[str]:
    """The dotted field each error names, by its location, as the API and the CLI report
    them (a model validator's error is located at its field too)."""
    return {e.field for e in field_errors(exc.errors(include_url=False))}


def errors_for(data: dict[str, Any]) -> set[str]:
    with pytest.raises(ValidationError) as info:
        ExperimentSpec.model_validate(data)
    return named_fields(info.value)


def test_the_contract_example_is_valid_and_round_trips() -> None:
    spec = ExperimentSpec.model_validate_json(CONTRACT_EXAMPLE)
    assert spec.model.depth == 20
    assert spec.data.features == 2
    assert ExperimentSpec.model_validate_json(spec.model_dump_json()) == spec


def test_defaults_for_everything_but_depth_and_activation() -> None:
    spec = ExperimentSpec.model_validate(MINIMAL)
    assert spec.name == "experiment"
    assert spec.seed == 0
    m = spec.model
    assert (m.width, m.init, m.negative_slope, m.dtype) == (128, "xavier_normal", 0.01, "float32")
    assert (m.batch_norm, m.residual, m.residual_every) == (False, False, 2)
    assert m.widths == [128, 128, 128]
    d = spec.data
    assert (d.dataset, d.n_samples, d.n_features, d.n_classes) == ("spiral", None, None, None)
    assert (d.noise, d.val_fraction) == (0.2, 0.2)
    assert (d.samples, d.features, d.classes, d.n_val, d.n_train) == (2000, 2, 3, 400, 1600)
    t = spec.training
    assert (t.optimizer, t.learning_rate, t.momentum, t.batch_size, t.epochs) == (
        "sgd",
        0.05,
        0.9,
        64,
        20,
    )
    assert (t.weight_decay, t.clip_grad_norm, t.beta2, t.eps) == (0.0, None, 0.999, 1e-8)
    assert (spec.recording.every_steps, spec.recording.histogram_bins) == (None, 40)
    assert spec.steps_per_epoch == 25  # ceil(1600 / 64)
    assert spec.total_steps == 500


@pytest.mark.parametrize("missing", ["depth", "activation"])
def test_depth_and_activation_are_required(missing: str) -> None:
    model = {k: v for k, v in MINIMAL["model"].items() if k != missing}
    assert errors_for({"model": model}) == {f"model.{missing}"}
    assert errors_for({}) == {"model"}


@pytest.mark.parametrize("dataset", DATASET_NAMES)
def test_dataset_shapes_resolve(dataset: str) -> None:
    spec = ExperimentSpec.model_validate(with_(data={"dataset": dataset}))
    shape = DATASET_SHAPES[dataset]
    assert (spec.data.samples, spec.data.features, spec.data.classes) == (
        shape.n_samples,
        shape.n_features,
        shape.n_classes,
    )
    assert set(DATASET_SHAPES) == set(DATASET_NAMES)


BAD: list[tuple[str, dict[str, Any]]] = [
    ("model.depth", with_(model={"depth": 0})),
    ("model.depth", with_(model={"depth": 501})),
    ("model.width", with_(model={"width": 0})),
    ("model.width", with_(model={"width": 4097})),
    ("model.width", with_(model={"width": [8, 8]})),  # depth is 3
    ("model.width", with_(model={"width": [8, 0, 8]})),
    ("model.width", with_(model={"width": [8, 9, 8], "residual": True})),
    ("model.activation", with_(model={"activation": "softplus"})),
    ("model.init", with_(model={"init": "kaiming"})),
    ("model.negative_slope", with_(model={"negative_slope": -0.1})),
    ("model.negative_slope", with_(model={"negative_slope": 1.5})),
    ("model.residual_every", with_(model={"residual_every": 0})),
    ("model.dtype", with_(model={"dtype": "float16"})),
    ("data.dataset", with_(data={"dataset": "mnist"})),
    ("data.n_samples", with_(data={"n_samples": 9})),
    ("data.n_samples", with_(data={"dataset": "digits", "n_samples": 1798})),
    ("data.n_features", with_(data={"dataset": "moons", "n_features": 3})),
    ("data.n_features", with_(data={"dataset": "digits", "n_features": 10})),
    ("data.n_features", with_(data={"dataset": "gaussian", "n_features": 0})),
    ("data.n_classes", with_(data={"dataset": "moons", "n_classes": 3})),
    ("data.n_classes", with_(data={"dataset": "gaussian", "n_classes": 1})),
    ("data.noise", with_(data={"noise": -0.1})),
    ("data.val_fraction", with_(data={"val_fraction": 0.0})),
    ("data.val_fraction", with_(data={"val_fraction": 1.0})),
    ("data.val_fraction", with_(data={"n_samples": 10, "val_fraction": 0.01})),  # 0 held out
    ("data.val_fraction", with_(data={"n_samples": 10, "val_fraction": 0.99})),  # 0 to train
    ("training.optimizer", with_(training={"optimizer": "rmsprop"})),
    ("training.learning_rate", with_(training={"learning_rate": 0.0})),
    ("training.learning_rate", with_(training={"learning_rate": 10.5})),
    ("training.momentum", with_(training={"momentum": 1.0})),
    ("training.batch_size", with_(training={"batch_size": 0})),
    ("training.epochs", with_(training={"epochs": 0})),
    ("training.weight_decay", with_(training={"weight_decay": -0.1})),
    ("training.clip_grad_norm", with_(training={"clip_grad_norm": 0.0})),
    ("recording.every_steps", with_(recording={"every_steps": 0})),
    ("recording.histogram_bins", with_(recording={"histogram_bins": 4})),
    ("seed", with_(seed=-1)),
    ("name", with_(name="")),
]


@pytest.mark.parametrize(("field", "data"), BAD, ids=[f"{f}-{i}" for i, (f, _) in enumerate(BAD)])
def test_every_bad_value_names_its_field(field: str, data: dict[str, Any]) -> None:
    names = errors_for(data)
    # A union (int | list[int]) reports per branch: the list's branch names the item.
    assert names, data
    assert all(n == field or n.startswith(f"{field}[") for n in names), names


def test_a_bad_literal_lists_the_allowed_values() -> None:
    with pytest.raises(ValidationError) as info:
        ExperimentSpec.model_validate(with_(model={"activation": "softplus"}))
    message = str(info.value)
    assert all(f"'{name}'" in message for name in ACTIVATION_NAMES)


def test_a_fixed_dataset_may_restate_its_own_shape() -> None:
    spec = ExperimentSpec.model_validate(
        with_(data={"dataset": "moons", "n_features": 2, "n_classes": 2})
    )
    assert (spec.data.features, spec.data.classes) == (2, 2)


def test_residual_with_an_equal_width_list_is_fine() -> None:
    spec = ExperimentSpec.model_validate(with_(model={"width": [8, 8, 8], "residual": True}))
    assert spec.model.widths == [8, 8, 8]


def test_several_errors_are_all_reported() -> None:
    names = errors_for(with_(model={"depth": 0}, training={"epochs": 0, "batch_size": 0}))
    assert names == {"model.depth", "training.epochs", "training.batch_size"}


@pytest.mark.parametrize(
    ("where", "data"),
    [
        ("modle", {**MINIMAL, "modle": {}}),
        ("model.depht", with_(model={"depht": 3})),
        ("data.features", with_(data={"features": 3})),
        ("training.lr", with_(training={"lr": 0.1})),
        ("recording.every", with_(recording={"every": 5})),
    ],
)
def test_unknown_fields_are_rejected(where: str, data: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as info:
        ExperimentSpec.model_validate(data)
    errors = info.value.errors()
    assert [".".join(str(p) for p in e["loc"]) for e in errors] == [where]
    assert errors[0]["type"] == "extra_forbidden"


def test_frozen() -> None:
    spec = ExperimentSpec.model_validate(MINIMAL)
    with pytest.raises(ValidationError):
        spec.seed = 1  # type: ignore[misc]
    with pytest.raises(ValidationError):
        spec.model.depth = 5  # type: ignore[misc]
    assert hash(spec.data) == hash(ExperimentSpec.model_validate(MINIMAL).data)


def test_cost_by_hand() -> None:
    spec = ExperimentSpec.model_validate(
        {
            "model": {"depth": 2, "width": [3, 4], "activation": "tanh", "batch_norm": True},
            "data": {"dataset": "moons", "n_samples": 100},
            "training": {"batch_size": 16, "epochs": 2},
            "recording": {"every_steps": 3},
        }
    )
    cost = spec.cost()
    # Dense layers 2->3, 3->4, 4->2 with biases: 9 + 16 + 10; batch norm gamma, beta: 2 (3 + 4).
    assert cost.parameters == 35 + 14
    # 80 training examples in batches of 16: 5 steps an epoch, 2 epochs.
    assert cost.steps == 10
    # 6 flops per parameter per example a step (2 forward, 4 backward); evaluation 2 per
    # parameter per example, all 100 examples every epoch.
    assert cost.flops == 6 * 16 * 49 * 10 + 2 * 100 * 49 * 2
    assert spec.record_steps == [0, 3, 6, 9]
    assert cost.records == 4
    assert cost.record_values == 4 * 3 * len(LAYER_STATS)


def test_spec_json_schema_is_serialisable() -> None:
    schema = ExperimentSpec.model_json_schema()
    text = json.dumps(schema)
    assert '"depth"' in text
    assert set(schema["required"]) == {"model"}
