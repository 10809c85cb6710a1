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
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from core.errors import SpecError
from core.spec import ExperimentSpec

#: Errors listed at most in one SpecError: the rest are counted, not listed.
MAX_ERRORS = 20
#: A model validator that names its field writes "model.width: why".
_FIELD_IN_MESSAGE = re.compile(r"^([a-z_]+(?:\.[a-z_]+)+): (.*)$", re.DOTALL)


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
    errors: list[dict[str, Any]] = []
    if not grid:
        errors.append(
            {"loc": ["grid"], "msg": 'give at least one path, e.g. {"model.depth": [5, 10]}'}
        )
    for path, values in grid.items():
        if not is_spec_path(path):
            errors.append(
                {"loc": ["grid", path], "msg": f"{path!r} is not a spec field", "input": path}
            )
        elif not values:
            errors.append({"loc": ["grid", path], "msg": "give at least one value"})
        elif len({_key(v) for v in values}) < len(values):
            errors.append({"loc": ["grid", path], "msg": "a value is listed twice"})
    n = count_children(grid)
    if n > max_children:
        errors.append(
            {
                "loc": ["grid"],
                "msg": f"the grid makes {n} experiments; a sweep runs at most {max_children} "
                f"(GRADATLAS_MAX_SWEEP_CHILDREN): drop values or split the sweep",
                "input": n,
            }
        )
    if errors:
        raise SpecError(_summary(errors), errors=errors)


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
    """
    check_grid(grid, max_children)
    paths = list(grid)
    stem = name or str(base.get("name") or "sweep")
    children: list[SweepChild] = []
    errors: dict[tuple[str, ...], dict[str, Any]] = {}
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
            for e in exc.errors():
                loc, entry = _blame(e, params)
                errors.setdefault(loc, entry)
                failures[loc] = failures.get(loc, 0) + 1
    if errors:
        listed = []
        for loc, entry in errors.items():
            with_params = describe(entry.get("_params", {}))
            if loc[0] == "base" and with_params and failures[loc] < len(combos):
                # A base field that only fails with some grid values: say which.
                entry = {**entry, "msg": f"{entry['msg']} (with {with_params})"}
            listed.append({k: v for k, v in entry.items() if k != "_params"})
        raise SpecError(_summary(listed), errors=listed[:MAX_ERRORS])
    return children


def describe(params: Mapping[str, Any]) -> str:
    """``model.activation="relu" model.depth=4``: a child's values, for messages."""
    return " ".join(f"{p}={json.dumps(v)}" for p, v in params.items())


def _blame(e: Mapping[str, Any], params: dict[str, Any]) -> tuple[tuple[str, ...], dict[str, Any]]:
    """The grid path and value to blame for one pydantic error, else the base field."""
    field = ".".join(str(p) for p in e["loc"] if not str(p).startswith(("function-", "json-")))
    message = str(e["msg"]).removeprefix("Value error, ")
    m = _FIELD_IN_MESSAGE.match(message)
    if m:
        field, message = m.group(1), m.group(2)
    for path, value in params.items():
        if field == path or field.startswith(path + "."):
            entry = {
                "loc": ["grid", path],
                "msg": f"{path} = {json.dumps(value)} gives an invalid spec: {message}",
                "input": value,
            }
            return ("grid", path, _key(value), message), entry
    entry = {"loc": ["base", *field.split(".")], "msg": message, "_params": params}
    if "input" in e and not isinstance(e["input"], dict | list):
        entry["input"] = e["input"]
    return ("base", field, message), entry


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


def _summary(errors: Sequence[Mapping[str, Any]]) -> str:
    n = len(errors)
    listed = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors[:5])
    more = f"; and {n - 5} more" if n > 5 else ""
    return f"{n} problem{'s' if n > 1 else ''} in the sweep: {listed}{more}"
