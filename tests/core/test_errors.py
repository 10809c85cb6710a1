"""core.errors: FieldError on the wire, and field_errors over real pydantic errors."""

from __future__ import annotations

import math
from typing import Annotated, Any

import pytest
from pydantic import BaseModel, Field, ValidationError

from core.errors import NO_INPUT, FieldError, SpecError, dotted, field_errors
from core.spec import ACTIVATION_NAMES, ExperimentSpec


def spec_errors(data: Any) -> list[FieldError]:
    with pytest.raises(ValidationError) as info:
        ExperimentSpec.model_validate(data)
    return field_errors(info.value.errors(include_url=False))


def by_field(errors: list[FieldError]) -> dict[str, FieldError]:
    out = {e.field: e for e in errors}
    assert len(out) == len(errors), "one entry per field"
    return out


MODEL: dict[str, Any] = {"depth": 3, "activation": "relu"}


def test_to_json_keeps_only_what_is_known() -> None:
    assert FieldError("model.depth", "too deep").to_json() == {
        "field": "model.depth",
        "message": "too deep",
    }
    full = FieldError(
        "status", "bad", limit={"le": 5}, input=None, allowed=["a", "b"], in_="query"
    ).to_json()
    assert full == {
        "field": "status",
        "message": "bad",
        "in": "query",
        "limit": {"le": 5},
        "allowed": ["a", "b"],
        "input": None,  # JSON null is a value given, echoed
    }
    assert list(full) == ["field", "message", "in", "limit", "allowed", "input"]


@pytest.mark.parametrize("x", [math.nan, math.inf, -math.inf])
def test_a_non_finite_input_echoes_as_text(x: float) -> None:
    assert FieldError("f", "m", input=x).to_json()["input"] == str(x)


def test_nested_fields_are_dotted_with_their_limit_and_input() -> None:
    errors = by_field(spec_errors({"model": {**MODEL, "depth": 900}, "training": {"epochs": 0}}))
    assert set(errors) == {"model.depth", "training.epochs"}
    assert errors["model.depth"].limit == {"le": 500}
    assert errors["model.depth"].input == 900
    assert errors["training.epochs"].limit == {"ge": 1}
    assert errors["training.epochs"].to_json()["input"] == 0


def test_a_bad_literal_lists_the_allowed_values() -> None:
    (error,) = spec_errors({"model": {**MODEL, "activation": "softplus"}})
    assert error.field == "model.activation"
    assert error.allowed == list(ACTIVATION_NAMES)
    assert error.input == "softplus"
    assert error.limit is None


def test_list_items_are_indexed_and_union_tags_dropped() -> None:
    errors = by_field(spec_errors({"model": {**MODEL, "width": [8, 0, 8]}}))
    # int | list[int]: the list's branch names the item, the int branch the field.
    assert set(errors) == {"model.width", "model.width[1]"}
    assert errors["model.width[1]"].limit == {"ge": 1}
    assert errors["model.width[1]"].input == 0
    assert errors["model.width"].input is NO_INPUT  # the list itself is not echoed


class _Holder(BaseModel):
    """A union whose branches both fail by type for a list."""

    value: int | Annotated[str, Field(min_length=3)]


def test_of_a_unions_branches_the_one_whose_type_matched_speaks() -> None:
    # width: int | list[int]. 5000 is an int: the int branch's bound is what is wrong,
    # not "Input should be a valid list".
    (error,) = spec_errors({"model": {**MODEL, "width": 5000}})
    assert error.field == "model.width"
    assert error.message == "Input should be less than or equal to 4096"
    assert error.limit == {"le": 4096}
    assert error.input == 5000


def test_when_every_branch_fails_by_type_all_are_said() -> None:
    with pytest.raises(ValidationError) as info:
        _Holder.model_validate({"value": [1]})
    raw = info.value.errors()
    assert len(raw) == 2  # one per branch
    (error,) = field_errors(raw)
    assert error.field == "value"
    assert error.message == "; or ".join(e["msg"] for e in raw)


def test_model_validators_name_their_field_by_location() -> None:
    cases = [
        ({"model": {**MODEL, "width": [8, 8]}}, "model.width", "one width per hidden layer"),
        (
            {"model": {**MODEL, "width": [8, 9, 8], "residual": True}},
            "model.width",
            "same width",
        ),
        ({"model": MODEL, "data": {"dataset": "moons", "n_features": 3}}, "data.n_features", ""),
        ({"model": MODEL, "data": {"dataset": "xor", "n_classes": 4}}, "data.n_classes", ""),
        ({"model": MODEL, "data": {"dataset": "digits", "n_samples": 5000}}, "data.n_samples", ""),
        (
            {"model": MODEL, "data": {"n_samples": 10, "val_fraction": 0.01}},
            "data.val_fraction",
            "",
        ),
    ]
    for data, field, words in cases:
        with pytest.raises(ValidationError) as info:
            ExperimentSpec.model_validate(data)
        (raw,) = info.value.errors(include_url=False)
        assert ".".join(map(str, raw["loc"])) == field  # structural: pydantic's own loc
        assert not raw["msg"].startswith(field)  # and not restated in the text
        (error,) = field_errors([raw])
        assert error.field == field
        assert words in error.message
        assert error.input is NO_INPUT  # the whole model, as for any model validator


def test_fastapi_locations_say_where_and_drop_body() -> None:
    errors = field_errors(
        [
            {"type": "int_parsing", "loc": ("query", "limit"), "msg": "bad", "input": "x"},
            {"type": "missing", "loc": ("body", "model"), "msg": "Field required", "input": {}},
            {"type": "missing", "loc": ("body",), "msg": "Field required", "input": None},
            {"type": "value_error", "loc": ("path", "k"), "msg": "Value error, no", "input": 3},
        ]
    )
    assert [(e.field, e.in_) for e in errors] == [
        ("limit", "query"),
        ("model", None),
        ("body", None),
        ("k", "path"),
    ]
    assert errors[1].input is NO_INPUT  # an object is not echoed
    assert errors[3].message == "no"  # pydantic's "Value error, " prefix is not the message


def test_json_decode_errors_name_the_body_not_a_position() -> None:
    fastapi_style = {
        "type": "json_invalid",
        "loc": ("body", 11),
        "msg": "JSON decode error",
        "input": {},
        "ctx": {"error": "Expecting value"},
    }
    (error,) = field_errors([fastapi_style])
    assert error.field == "body"
    assert error.message == "the body is not valid JSON (JSON decode error, at character 11)"
    with pytest.raises(ValidationError) as info:
        ExperimentSpec.model_validate_json('{"model": ')
    (error,) = field_errors(info.value.errors())
    assert "not valid JSON" in error.message
    assert error.input is NO_INPUT  # never the whole text back


def test_dotted() -> None:
    assert dotted(["model", "width", "list[constrained-int]", 2]) == "model.width[2]"
    assert dotted(["items", 0, "function-after[_check(), _A]", "size"]) == "items[0].size"
    assert dotted([]) == ""


def test_spec_error_from_a_validation_error() -> None:
    with pytest.raises(ValidationError) as info:
        ExperimentSpec.model_validate({"model": {**MODEL, "depth": 0}, "data": {"noise": -1}})
    exc = SpecError.from_validation_error(info.value)
    assert [e.field for e in exc.errors] == ["model.depth", "data.noise"]
    assert exc.detail.startswith("2 fields are invalid: model.depth: ")
    assert "data.noise: " in exc.detail
    assert SpecError.from_validation_error(info.value, "nope").detail == "nope"
    assert exc.status == 422
