"""The errors gradatlas raises on purpose, and the bad fields they name.

::

    GradatlasError              base: anything gradatlas means to raise
     +-- SpecError              a spec is invalid or exceeds a limit      (422)
     |                          .errors: list[FieldError], one per bad field
     +-- NotFound               no such experiment, sweep, plot or remedy (404)
     +-- Conflict               the request clashes with the state        (409)
     +-- Throttled              too many requests or experiments          (429)
     +-- StoreUnavailable       Redis cannot be reached right now         (503)

A :class:`FieldError` names one bad field the way a spec is written
(``model.depth``, ``model.width[2]``, ``grid.model.depth``) with the limit or
the allowed values; :func:`field_errors` makes them from pydantic's errors, for
the API, the sweeps and the command line alike. The API maps each class to one
HTTP status in a single exception handler; the worker turns anything else into
a ``failed`` experiment with the message.
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal, NotRequired

from pydantic import JsonValue, ValidationError
from pydantic_core import ErrorDetails

# Not typing's: pydantic validates only typing_extensions.TypedDict before Python 3.12.
from typing_extensions import TypedDict


class GradatlasError(Exception):
    """Base class; ``detail`` is a sentence a person can act on."""

    status: int = 500
    title: str = "Internal error"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


# --------------------------------------------------------------------- fields

#: Where a request parameter was sent, when the bad field is not in the body.
Where = Literal["query", "path", "header"]


class _NoInput(enum.Enum):
    NO_INPUT = "no input"


#: ``FieldError.input`` when there is no value to echo (JSON ``null`` is a value).
NO_INPUT = _NoInput.NO_INPUT

FieldErrorJSON = TypedDict(
    "FieldErrorJSON",
    {
        "field": str,
        "message": str,
        "in": NotRequired[Where],
        "limit": NotRequired[dict[str, float]],
        "allowed": NotRequired[list[str]],
        "input": NotRequired[JsonValue],
    },
)
FieldErrorJSON.__doc__ = "One entry of a 422's ``errors``, as served (docs/contract.md)."


@dataclass(frozen=True)
class FieldError:
    """One bad field: its dotted name, why, and what would be accepted.

    ``limit`` holds the bound broken (``{"le": 500}``), ``allowed`` the literals
    accepted, ``input`` the value given (``NO_INPUT`` when there is none to echo)
    and ``in_`` where a request parameter was sent (None for a spec field).
    """

    field: str
    message: str
    limit: dict[str, float] | None = None
    input: JsonValue | _NoInput = NO_INPUT
    allowed: list[str] | None = None
    in_: Where | None = None

    def to_json(self) -> FieldErrorJSON:
        """The wire entry: ``{field, message, in?, limit?, allowed?, input?}``.

        Text the client sent is echoed at most :data:`ECHO_CHARS` characters long, lone
        surrogates replaced: an error about a huge or ill-formed string stays small and
        encodable.
        """
        out: FieldErrorJSON = {
            "field": clip(self.field, ECHO_CHARS),
            "message": clip(self.message, 4 * ECHO_CHARS),
        }
        if self.in_ is not None:
            out["in"] = self.in_
        if self.limit:
            out["limit"] = dict(self.limit)
        if self.allowed is not None:
            out["allowed"] = list(self.allowed)
        if not isinstance(self.input, _NoInput):
            x = self.input
            # JSON has no NaN or infinity: such an input echoes as text.
            if isinstance(x, float) and not math.isfinite(x):
                x = str(x)
            out["input"] = clip(x, ECHO_CHARS) if isinstance(x, str) else x
        return out


#: Characters of a client's text echoed in an error (a field name, an input).
ECHO_CHARS = 200


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters (marked with an ellipsis), with any lone
    surrogate (valid in a JSON string, not in UTF-8) replaced by U+FFFD."""
    if len(text) > limit:
        text = text[: limit - 1] + "\u2026"
    if not _has_surrogate(text):
        return text
    return "".join("\ufffd" if "\ud800" <= c <= "\udfff" else c for c in text)


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


#: Location parts pydantic adds for union branches and validators, not field names.
_TAGS = {"int", "float", "str", "bool", "list", "dict", "none", "json-or-python"}
_LIMITS = ("ge", "gt", "le", "lt", "min_length", "max_length", "multiple_of")
_WHERE: dict[object, Where] = {"query": "query", "path": "path", "header": "header"}
_QUOTED = re.compile(r"'([^']*)'")


def field_errors(errors: Iterable[ErrorDetails | Mapping[str, Any]]) -> list[FieldError]:
    """Pydantic's errors as one :class:`FieldError` per field, in order.

    A location is written as a spec is (``model.width[2]``), without pydantic's
    union-branch and validator tags; FastAPI's leading ``body``/``query``/...
    part becomes ``in_`` (``body`` is dropped). Of a union's branches, those
    whose type matched say what is wrong; several are joined with ``"; or "``.
    Only a scalar input is echoed (a whole object or raw bytes would not help).
    """
    by_field: dict[str, list[tuple[FieldError, str]]] = {}
    for e in errors:
        loc = list(e.get("loc", ()))
        where = loc.pop(0) if loc and loc[0] in ("body", "query", "path", "header") else None
        kind = str(e.get("type", ""))
        message = str(e.get("msg", "invalid")).removeprefix("Value error, ")
        if kind == "json_invalid":  # FastAPI's loc holds a character position, not a field
            at = f", at character {loc[-1]}" if loc else ""
            message = f"the body is not valid JSON ({message}{at})"
            loc = []
        field = dotted(loc) or ("body" if where == "body" else str(where or "request"))
        ctx: Mapping[str, Any] = e.get("ctx") or {}
        limit = {k: ctx[k] for k in _LIMITS if k in ctx}
        x = e.get("input", NO_INPUT) if kind != "json_invalid" else NO_INPUT  # not the text
        entry = FieldError(
            field,
            message,
            limit=limit or None,
            input=x if isinstance(x, str | int | float | bool | None) else NO_INPUT,
            allowed=_QUOTED.findall(str(ctx["expected"])) if "expected" in ctx else None,
            in_=_WHERE.get(where),
        )
        by_field.setdefault(field, []).append((entry, kind))
    out = []
    for entries in by_field.values():
        specific = [f for f, kind in entries if not kind.endswith("_type")]
        chosen = specific or [f for f, _ in entries]
        first = chosen[0]
        if len(chosen) > 1:
            first = replace(first, message="; or ".join(f.message for f in chosen))
        out.append(first)
    return out


def dotted(loc: Sequence[str | int]) -> str:
    """A pydantic location as a spec path: ``("model", "width", 2)`` -> ``model.width[2]``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif "[" in str(part) or "-" in str(part) or part in _TAGS:
            continue
        else:
            out += f".{part}" if out else str(part)
    return out


def listed(errors: Sequence[FieldError], *, at_most: int | None = None) -> str:
    """``field: message; field: message``, for a ``detail``."""
    shown = errors if at_most is None else errors[:at_most]
    return "; ".join(
        f"{clip(e.field, ECHO_CHARS)}: {clip(e.message, 4 * ECHO_CHARS)}" for e in shown
    )


def summary(errors: Sequence[FieldError]) -> str:
    """``2 fields are invalid: model.depth: ...; data.noise: ...``."""
    n = len(errors)
    return f"{n} field{'s are' if n > 1 else ' is'} invalid: {listed(errors)}"


# --------------------------------------------------------------------- errors


class SpecError(GradatlasError):
    """The spec is invalid or exceeds a server limit; ``errors`` names each bad field."""

    status = 422
    title = "Invalid experiment spec"

    def __init__(self, detail: str, errors: Sequence[FieldError] = ()) -> None:
        super().__init__(detail)
        self.errors: list[FieldError] = list(errors)

    @classmethod
    def from_validation_error(cls, exc: ValidationError, detail: str | None = None) -> SpecError:
        """A pydantic ``ValidationError`` as a SpecError, one FieldError per field."""
        errors = field_errors(exc.errors(include_url=False))
        return cls(detail or summary(errors), errors)


class NotFound(GradatlasError):
    status = 404
    title = "Not found"


class Conflict(GradatlasError):
    status = 409
    title = "Conflict"


class Throttled(GradatlasError):
    """Over a rate limit or a quota; ``retry_after`` (seconds), when given, becomes the
    ``Retry-After`` header."""

    status = 429
    title = "Too many requests"


class StoreUnavailable(GradatlasError):
    status = 503
    title = "Store unavailable"
