"""A sweep's grid, expanded: one experiment spec per combination of values.

A grid maps dotted spec paths to lists of values::

    {"model.activation": ["sigmoid", "relu"], "model.depth": [5, 10, 20, 40]}

and expands, in the grid's order with the last path varying fastest, into the
Cartesian product of its values, each applied to a copy of the base spec (a
JSON object that may leave out what the grid sets). Every child is validated
as an ``ExperimentSpec``; a failure names the grid path and the value that
caused it (``grid.model.depth``, input 900), or the base field when no grid
value is to blame. Pure: no Redis, no HTTP, no NumPy.
"""

from __future__ import annotations

import copy
import itertools
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from pydantic import BaseModel, JsonValue, ValidationError

from core.errors import FieldError, SpecError, field_errors, listed
from core.spec import ExperimentSpec

#: Errors listed at most in one SpecError: the rest are counted, not listed.
MAX_ERRORS = 20


@dataclass(frozen=True)
class SweepChild:
    """One combination: the grid values it takes (path -> value) and the full spec."""

    params: dict[str, Any]
    spec: ExperimentSpec


def is_spec_path(path: str) -> bool:
    """Whether ``path`` (``"model.depth"``) names a field of ``ExperimentSpec``."""
    model: type[BaseModel] = ExperimentSpec
    *parents, leaf = path.split(".")
    for part in parents:
        field = model.model_fields.get(part)
        annotation = field.annotation if field else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return False
        model = annotation
    return leaf in model.model_fields


def count_children(grid: Mapping[str, Sequence[Any]]) -> int:
    return math.prod(len(v) for v in grid.values())


def check_grid(grid: Mapping[str, Sequence[Any]], max_children: int) -> None:
    """Raise SpecError naming each bad path, an empty list, or a product over the cap."""
    errors: list[FieldError] = []
    if not grid:
        errors.append(FieldError("grid", 'give at least one path, e.g. {"model.depth": [5, 10]}'))
    for path, values in grid.items():
        at = f"grid.{path}"
        if not is_spec_path(path):
            errors.append(FieldError(at, f"{path!r} is not a spec field", input=path))
        elif not values:
            errors.append(FieldError(at, "give at least one value"))
        elif len({_key(v) for v in values}) < len(values):
            errors.append(FieldError(at, "a value is listed twice"))
    n = count_children(grid)
    if n > max_children:
        errors.append(
            FieldError(
                "grid",
                f"the grid makes {n} experiments; a sweep runs at most {max_children} "
                f"(GRADATLAS_MAX_SWEEP_CHILDREN): drop values or split the sweep",
                input=n,
            )
        )
    if errors:
        raise SpecError(_summary(errors), errors)


def expand(
    base: Mapping[str, Any],
    grid: Mapping[str, Sequence[Any]],
    *,
    max_children: int,
    name: str | None = None,
) -> list[SweepChild]:
    """Every child spec of ``base`` x ``grid``, validated; SpecError naming what fails.

    Unless the grid sets ``name``, each child is named after the sweep (``name``,
    else the base's) and its values, e.g. ``depth-sweep activation=relu depth=10``.
    A failure is blamed on the grid path whose value caused it (``grid.model.depth``,
    input 900), else on the base field, saying with which values when only some fail.
    """
    check_grid(grid, max_children)
    paths = list(grid)
    stem = name or str(base.get("name") or "sweep")
    children: list[SweepChild] = []
    # One entry per distinct failure, with the values of the first child it failed in.
    errors: dict[tuple[str, ...], tuple[FieldError, dict[str, Any]]] = {}
    failures: dict[tuple[str, ...], int] = {}
    combos = list(itertools.product(*(grid[p] for p in paths)))
    for values in combos:
        params = dict(zip(paths, values, strict=True))
        data = copy.deepcopy(dict(base))
        if "name" not in params:
            data["name"] = _child_name(stem, params)
        for path, value in params.items():
            _set(data, path, value)
        try:
            children.append(SweepChild(params, ExperimentSpec.model_validate(data)))
        except ValidationError as exc:
            for e in field_errors(exc.errors(include_url=False)):
                key, entry = _blame(e, params)
                errors.setdefault(key, (entry, params))
                failures[key] = failures.get(key, 0) + 1
    if errors:
        out = []
        for key, (entry, params) in errors.items():
            if key[0] == "base" and params and failures[key] < len(combos):
                # A base field that only fails with some grid values: say which.
                entry = replace(entry, message=f"{entry.message} (with {describe(params)})")
            out.append(entry)
        raise SpecError(_summary(out), out[:MAX_ERRORS])
    return children


def check_children(children: Sequence[SweepChild], check: Callable[[ExperimentSpec], None]) -> None:
    """Run ``check`` (e.g. a server's limits) on every child; one SpecError for all.

    Each field a child's SpecError names is blamed on the grid path that sets it
    (``grid.model.depth``) or else on the base (``base.training.epochs``), with the
    child's values; the limit and input are kept.
    """
    errors: dict[tuple[str, str], FieldError] = {}
    for child in children:
        try:
            check(child.spec)
        except SpecError as exc:
            for e in exc.errors:
                path = _blamed_path(e.field, child.params)
                where = f"grid.{path}" if path else f"base.{e.field}"
                message = f"{e.message} (with {describe(child.params)})"
                errors.setdefault((where, e.message), replace(e, field=where, message=message))
    if errors:
        out = list(errors.values())
        n = len(out)
        raise SpecError(
            f"{n} {'limits are' if n > 1 else 'limit is'} exceeded by children of the sweep: "
            f"{listed(out, at_most=5)}",
            out[:MAX_ERRORS],
        )


def describe(params: Mapping[str, Any]) -> str:
    """``model.activation="relu" model.depth=4``: a child's values, for messages."""
    return " ".join(f"{p}={json.dumps(v)}" for p, v in params.items())


def _blamed_path(field: str, params: Mapping[str, Any]) -> str | None:
    """The grid path that sets ``field`` (itself or a parent of it), if any."""
    return next((p for p in params if field == p or field.startswith((p + ".", p + "["))), None)


def _blame(e: FieldError, params: Mapping[str, Any]) -> tuple[tuple[str, ...], FieldError]:
    """A child's bad field blamed on the grid path and value that set it, else the base."""
    path = _blamed_path(e.field, params)
    if path is not None:
        value: JsonValue = params[path]
        message = f"{path} = {json.dumps(value)} gives an invalid spec: {e.message}"
        entry = FieldError(f"grid.{path}", message, input=value)
        return ("grid", path, _key(value), e.message), entry
    return ("base", e.field, e.message), replace(e, field=f"base.{e.field}")


def _child_name(stem: str, params: Mapping[str, Any]) -> str:
    parts = " ".join(f"{p.rsplit('.', 1)[-1]}={_text(v)}" for p, v in params.items())
    return f"{stem} {parts}"[:200]


def _text(v: Any) -> str:
    return v if isinstance(v, str) else json.dumps(v)


def _set(data: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    node = data
    for part in parents:
        if part not in node:
            node[part] = {}  # left to its defaults by the base
        child = node[part]
        if not isinstance(child, dict):
            return  # the base's value is not an object: pydantic says so
        node = child
    node[leaf] = copy.deepcopy(value)


def _key(v: Any) -> str:
    return json.dumps(v, sort_keys=True)


def _summary(errors: Sequence[FieldError]) -> str:
    n = len(errors)
    more = f"; and {n - 5} more" if n > 5 else ""
    return f"{n} problem{'s' if n > 1 else ''} in the sweep: {listed(errors, at_most=5)}{more}"
