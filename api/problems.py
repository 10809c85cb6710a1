"""Every error as RFC 9457 ``application/problem+json``, mapped in one place.

``core.errors`` classes carry their status; request validation errors become
422 with one entry per bad field, named the way a spec is written
(``model.depth``) with the limit or the allowed values; anything unexpected is a
500 problem that leaks nothing but says what to do.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from core.errors import GradatlasError, SpecError, StoreUnavailable

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
_TYPE = "urn:gradatlas:problem:"
_SLUGS = {
    400: "bad-request",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    422: "invalid-request",
    503: "unavailable",
}
#: Location parts pydantic adds for union branches and validators, not field names.
_TAGS = {"int", "float", "str", "bool", "list", "dict", "none", "json-or-python"}
_LIMITS = ("ge", "gt", "le", "lt", "min_length", "max_length", "multiple_of")
_FIELD_IN_MESSAGE = re.compile(r"^([a-z_]+(?:\.[a-z_]+)+): (.*)$", re.DOTALL)

#: An example for the OpenAPI docs.
EXAMPLE_422 = {
    "type": "urn:gradatlas:problem:invalid-spec",
    "title": "Invalid experiment spec",
    "status": 422,
    "detail": "1 field is invalid: model.depth: Input should be less than or equal to 500",
    "instance": "/v1/experiments",
    "errors": [
        {
            "field": "model.depth",
            "message": "Input should be less than or equal to 500",
            "limit": {"le": 500},
            "input": 900,
        }
    ],
}


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    type_: str | None = None,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": type_ or _TYPE + _SLUGS.get(status, "error"),
        "title": title,
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def field_errors(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """Pydantic errors -> ``[{field, message, limit?, allowed?, input?}]``, one per field."""
    by_field: dict[str, list[dict[str, Any]]] = {}
    for e in errors:
        loc = list(e.get("loc", ()))
        where = loc.pop(0) if loc and loc[0] in ("body", "query", "path", "header") else None
        message = str(e.get("msg", "invalid"))
        message = message.removeprefix("Value error, ")
        if e.get("type") == "json_invalid":  # loc holds a character position, not a field
            message = f"the body is not valid JSON ({message}, at character {loc[-1]})"
            loc = []
        field = _path(loc) or ("body" if where == "body" else str(where or "request"))
        m = _FIELD_IN_MESSAGE.match(message)
        if m:  # a model validator that names its field in the message
            field, message = m.group(1), m.group(2)
        entry: dict[str, Any] = {"field": field, "message": message, "type": e.get("type")}
        if where in ("query", "path", "header"):
            entry["in"] = where
        ctx = e.get("ctx") or {}
        limit = {k: ctx[k] for k in _LIMITS if k in ctx}
        if limit:
            entry["limit"] = limit
        if "expected" in ctx:
            entry["allowed"] = re.findall(r"'([^']*)'", str(ctx["expected"]))
        if "input" in e and isinstance(e["input"], str | int | float | bool | None):
            # A scalar echoes back (NaN as text: JSON has none); a body or bytes would not.
            x = e["input"]
            entry["input"] = str(x) if isinstance(x, float) and not math.isfinite(x) else x
        by_field.setdefault(field, []).append(entry)
    out = []
    for entries in by_field.values():
        # Of a union's branches, the one whose type matched says what is wrong.
        specific = [x for x in entries if not str(x["type"]).endswith("_type")] or entries
        first = dict(specific[0])
        if len(specific) > 1:
            first["message"] = "; or ".join(x["message"] for x in specific)
        first.pop("type", None)
        out.append(first)
    return out


def _path(loc: Sequence[Any]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif "[" in str(part) or "-" in str(part) or part in _TAGS:
            continue
        else:
            out += f".{part}" if out else str(part)
    return out


def _summary(errors: list[dict[str, Any]]) -> str:
    n = len(errors)
    listed = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return f"{n} field{'s are' if n > 1 else ' is'} invalid: {listed}"


def install(app: FastAPI, *, retry_after_s: int) -> None:
    """Register the handlers on ``app``."""

    async def on_gradatlas(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, GradatlasError)
        headers = None
        if isinstance(exc, StoreUnavailable):
            headers = {"Retry-After": str(retry_after_s)}
        extra: dict[str, Any] = dict(exc.extra)
        if isinstance(exc, SpecError):
            extra["errors"] = field_errors_of(exc)
            return problem(
                exc.status,
                exc.title,
                exc.detail,
                type_=_TYPE + "invalid-spec",
                instance=request.url.path,
                **extra,
            )
        return problem(
            exc.status, exc.title, exc.detail, instance=request.url.path, headers=headers, **extra
        )

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        raw_body = any(isinstance(e.get("input"), bytes) for e in exc.errors())
        if raw_body and media and not (media == "application/json" or media.endswith("+json")):
            # FastAPI hands a body it did not parse as JSON to validation as raw bytes.
            return problem(
                415,
                _title(415),
                f"The body was sent as {media!r}; send it as application/json.",
                instance=request.url.path,
            )
        errors = field_errors(exc.errors())
        is_spec = request.method == "POST" and any(
            not e.get("in") for e in errors
        )  # body errors on a POST: the spec
        return problem(
            422,
            "Invalid experiment spec" if is_spec else "Invalid request",
            _summary(errors),
            type_=_TYPE + ("invalid-spec" if is_spec else "invalid-request"),
            instance=request.url.path,
            errors=errors,
        )

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"No route {request.method} {request.url.path}; see /docs for the API."
        return problem(
            exc.status_code,
            _title(exc.status_code),
            detail,
            instance=request.url.path,
            headers=dict(exc.headers) if exc.headers else None,
        )

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(
            500,
            "Internal error",
            "The server failed on this request. It has been logged; retry, and report it "
            "if it happens again.",
            instance=request.url.path,
        )

    app.add_exception_handler(GradatlasError, on_gradatlas)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_unexpected)


def _title(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def field_errors_of(exc: SpecError) -> list[dict[str, Any]]:
    """Core ``{loc, msg, input?}`` entries as the API's ``{field, message, input?}``."""
    out: list[dict[str, Any]] = []
    for e in exc.errors:
        if "field" in e:  # already in the API's shape (server limits)
            out.append(e)
            continue
        entry: dict[str, Any] = {
            "field": ".".join(str(p) for p in e.get("loc", ())) or "request",
            "message": str(e.get("msg", exc.detail)),
        }
        if "input" in e:
            entry["input"] = e["input"]
        out.append(entry)
    return out
