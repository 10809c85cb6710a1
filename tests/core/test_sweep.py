"""core.sweep: a grid expanded into validated child specs, errors naming path and value."""

from __future__ import annotations

from typing import Any

import pytest

from core.errors import FieldError, SpecError
from core.spec import ExperimentSpec
from core.sweep import check_children, check_grid, count_children, expand, is_spec_path

BASE: dict[str, Any] = {
    "seed": 3,
    "model": {"width": 8, "init": "xavier_normal"},
    "data": {"dataset": "xor", "n_samples": 100},
    "training": {"epochs": 2},
}
GRID: dict[str, list[Any]] = {"model.activation": ["sigmoid", "relu"], "model.depth": [2, 4, 8]}


def errors_of(exc: pytest.ExceptionInfo[SpecError]) -> list[FieldError]:
    return exc.value.errors


def test_expands_the_product_last_path_fastest_over_the_base() -> None:
    children = expand(BASE, GRID, max_children=64, name="act-depth")
    assert [c.params for c in children] == [
        {"model.activation": a, "model.depth": d} for a in ("sigmoid", "relu") for d in (2, 4, 8)
    ]
    for c in children:
        assert c.spec.model.activation == c.params["model.activation"]
        assert c.spec.model.depth == c.params["model.depth"]
        # Everything else comes from the base, the same seed included.
        assert c.spec.seed == 3
        assert c.spec.model.width == 8
        assert c.spec.data.n_samples == 100
    assert children[4].spec.name == "act-depth activation=relu depth=4"
    assert len({c.spec.name for c in children}) == 6


def test_base_not_mutated_and_a_grid_name_wins() -> None:
    base = {"model": {"depth": 3, "activation": "tanh"}}
    children = expand(base, {"name": ["a", "b"]}, max_children=4)
    assert [c.spec.name for c in children] == ["a", "b"]
    assert base == {"model": {"depth": 3, "activation": "tanh"}}


def test_a_bad_value_names_the_grid_path_and_the_value() -> None:
    with pytest.raises(SpecError) as exc:
        expand(BASE, {"model.activation": ["relu"], "model.depth": [4, 900]}, max_children=64)
    (error,) = errors_of(exc)
    assert error.field == "grid.model.depth"
    assert error.input == 900
    assert "900" in error.message
    assert "less than or equal to 500" in error.message


def test_an_unknown_literal_in_the_grid_is_blamed_on_it() -> None:
    with pytest.raises(SpecError) as exc:
        expand(BASE, {"model.activation": ["relu", "softmax"], "model.depth": [2]}, max_children=9)
    (error,) = errors_of(exc)
    assert error.field == "grid.model.activation"
    assert error.input == "softmax"


def test_a_bad_base_field_is_named_once() -> None:
    base = {**BASE, "training": {"epochs": 0}}
    with pytest.raises(SpecError) as exc:
        expand(base, GRID, max_children=64)
    (error,) = errors_of(exc)
    assert error.field == "base.training.epochs"
    assert "(with" not in error.message


def test_a_base_field_that_fails_with_some_values_says_which() -> None:
    # A list of widths fits depth 2 only.
    base = {**BASE, "model": {"width": [8, 8], "activation": "relu"}}
    with pytest.raises(SpecError) as exc:
        expand(base, {"model.depth": [2, 3]}, max_children=9)
    (error,) = errors_of(exc)
    assert error.field == "base.model.width"
    assert "model.depth=3" in error.message


def test_grid_paths_must_be_spec_fields() -> None:
    assert is_spec_path("model.depth")
    assert is_spec_path("seed")
    assert is_spec_path("model")
    assert not is_spec_path("model.dpeth")
    assert not is_spec_path("seed.x")
    assert not is_spec_path("model.depth.x")
    with pytest.raises(SpecError) as exc:
        check_grid({"model.dpeth": [1], "model.depth": [], "seed": [1, 1]}, 64)
    assert [e.field for e in errors_of(exc)] == [
        "grid.model.dpeth",
        "grid.model.depth",
        "grid.seed",
    ]
    with pytest.raises(SpecError):
        check_grid({}, 64)


def test_the_cap_is_checked_before_expanding() -> None:
    grid = {"seed": list(range(100)), "model.depth": list(range(1, 101))}
    assert count_children(grid) == 10_000
    with pytest.raises(SpecError) as exc:
        expand({"model": {"activation": "relu"}}, grid, max_children=64)
    (error,) = errors_of(exc)
    assert error.field == "grid"
    assert "10000" in error.message
    assert "64" in error.message
    assert len(expand(BASE, GRID, max_children=6)) == 6
    with pytest.raises(SpecError):
        expand(BASE, GRID, max_children=5)


def test_child_specs_round_trip() -> None:
    (child,) = expand(BASE, {"model.depth": [3], "model.activation": ["gelu"]}, max_children=1)
    assert ExperimentSpec.model_validate_json(child.spec.model_dump_json()) == child.spec


def test_check_children_blames_a_childs_limits_on_the_grid_or_the_base() -> None:
    def at_most_four_layers(spec: ExperimentSpec) -> None:
        errors = []
        if spec.model.depth > 4:
            errors.append(
                FieldError("model.depth", "too deep", limit={"le": 4}, input=spec.model.depth)
            )
        if spec.training.epochs > 1:
            errors.append(FieldError("training.epochs", "too long", limit={"le": 1}, input=2))
        if errors:
            raise SpecError("over", errors)

    children = expand(BASE, GRID, max_children=64)
    with pytest.raises(SpecError) as exc:
        check_children(children, at_most_four_layers)
    errors = errors_of(exc)
    # In the order met: the first child (depth 2) is already over on epochs.
    assert [e.field for e in errors] == ["base.training.epochs", "grid.model.depth"]
    epochs, depth = errors
    # The first child over the limit is named; the limit and the input are kept.
    assert depth.message == 'too deep (with model.activation="sigmoid" model.depth=8)'
    assert (depth.limit, depth.input) == ({"le": 4}, 8)
    assert epochs.message.startswith("too long (with model.activation=")
    assert "2 limits are exceeded by children of the sweep" in exc.value.detail
    check_children(children[:2], lambda spec: None)  # nothing over: no error
