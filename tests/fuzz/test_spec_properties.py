"""Properties of the spec validator and the server's limits, by hypothesis.

Valid specs round-trip through JSON unchanged; anything put in place of a field is
accepted or refused with FieldErrors that name real fields, and nothing but a
``ValidationError`` or a ``SpecError`` ever comes out.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from api.limits import check_limits
from core.errors import FieldError, SpecError, field_errors
from core.settings import Settings
from core.spec import (
    ACTIVATION_NAMES,
    DATASET_NAMES,
    INIT_NAMES,
    OPTIMIZER_NAMES,
    ExperimentSpec,
)

SETTINGS = Settings(max_memory_mb=512.0)


def field_paths(model: type[BaseModel], prefix: str = "") -> set[str]:
    """Every dotted field path of ``model`` and of the models inside it."""
    out: set[str] = set()
    for name, info in model.model_fields.items():
        path = f"{prefix}{name}"
        out.add(path)
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            out |= field_paths(annotation, f"{path}.")
    return out


FIELDS = field_paths(ExperimentSpec)
LEAVES = sorted(f for f in FIELDS if not any(g.startswith(f + ".") for g in FIELDS))


def is_real(field: str) -> bool:
    """A FieldError's field names a spec field (``model.width[2]`` is ``model.width``)."""
    return re.sub(r"\[\d+\]", "", field) in FIELDS | {"body"}


valid_specs = st.fixed_dictionaries(
    {
        "seed": st.integers(0, 2**32 - 1),
        "model": st.fixed_dictionaries(
            {
                "depth": st.integers(1, 12),
                "width": st.integers(1, 64),
                "activation": st.sampled_from(ACTIVATION_NAMES),
                "init": st.sampled_from(INIT_NAMES),
                "batch_norm": st.booleans(),
                "residual": st.booleans(),
            }
        ),
        "data": st.fixed_dictionaries(
            {
                "dataset": st.sampled_from([d for d in DATASET_NAMES if d != "digits"]),
                "n_samples": st.integers(20, 2000),
                "noise": st.floats(0, 5, allow_nan=False),
            }
        ),
        "training": st.fixed_dictionaries(
            {
                "optimizer": st.sampled_from(OPTIMIZER_NAMES),
                "learning_rate": st.floats(1e-6, 10, allow_nan=False),
                "batch_size": st.integers(1, 512),
                "epochs": st.integers(1, 50),
            }
        ),
    }
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()  # NaN and infinities included
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(valid_specs)
def test_valid_specs_round_trip_through_json(raw: dict[str, Any]) -> None:
    spec = ExperimentSpec.model_validate(raw)
    again = ExperimentSpec.model_validate_json(spec.model_dump_json())
    assert again == spec
    assert again.memory() == spec.memory()
    assert spec.memory().total > 0


def over_limits(spec: ExperimentSpec) -> list[FieldError]:
    """The limits ``spec`` exceeds, as FieldErrors (none: it fits)."""
    try:
        check_limits(spec, SETTINGS)
    except SpecError as e:
        if not e.errors:
            raise  # a SpecError always names its fields
        return e.errors
    return []


def put(doc: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    *parents, leaf = path.split(".")
    node = out
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value
    return out


@settings(max_examples=500, deadline=None)
@given(valid_specs, st.sampled_from(LEAVES), json_values)
def test_any_value_in_any_field_is_accepted_or_named(
    raw: dict[str, Any], path: str, value: Any
) -> None:
    doc = put(raw, path, value)
    try:
        spec = ExperimentSpec.model_validate(doc)
    except ValidationError as e:
        errors = field_errors(e.errors(include_url=False))
        assert errors
        assert all(is_real(err.field) for err in errors), [err.field for err in errors]
        for err in errors:
            err.to_json()  # always encodable
        return
    # Accepted: no coercion happened (a bool or a string never became a number).
    if isinstance(value, bool | str) and path not in ("name",):
        leaf: Any = spec.model_dump()
        for part in path.split("."):
            leaf = leaf[part]
        assert type(leaf) is type(value), (path, value, leaf)
    assert all(is_real(err.field) for err in over_limits(spec))


@settings(max_examples=200, deadline=None)
@given(valid_specs, st.integers(1, 4096), st.integers(1, 4096))
def test_memory_grows_with_width(raw: dict[str, Any], w1: int, w2: int) -> None:
    small, big = sorted((w1, w2))
    a = ExperimentSpec.model_validate(put(raw, "model.width", small))
    b = ExperimentSpec.model_validate(put(raw, "model.width", big))
    assert a.memory().total <= b.memory().total
    over_memory = [x for x in over_limits(b) if "GRADATLAS_MAX_MEMORY_MB" in x.message]
    assert bool(over_memory) == (b.memory().total > SETTINGS.max_memory_mb * 2**20)
