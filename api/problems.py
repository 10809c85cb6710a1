"""Every error as RFC 9457 ``application/problem+json``, mapped in one place.

``core.errors`` classes carry their status; request validation errors (and a
route's own :class:`QueryError`) become 422 with one entry per bad field, a
``core.errors.FieldError`` named the way a spec is written (``model.depth``)
with the limit or the allowed values; anything unexpected is a 500 problem that
leaks nothing but says what to do.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from core.errors import (
    FieldError,
    GradatlasError,
    SpecError,
    StoreUnavailable,
    Throttled,
    clip,
    field_errors,
    summary,
)
from core.views import PROBLEM_EXAMPLE

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
_TYPE = "urn:gradatlas:problem:"
_SLUGS = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    413: "content-too-large",
    415: "unsupported-media-type",
    422: "invalid-request",
    429: "too-many-requests",
    503: "unavailable",
}
#: Longest ``detail`` sent (it may list many fields of a large body).
DETAIL_CHARS = 4000
#: An example for the OpenAPI docs.
EXAMPLE_422 = PROBLEM_EXAMPLE


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
        "detail": clip(detail, DETAIL_CHARS),
    }
    if instance:
        body["instance"] = instance
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


class QueryError(Exception):
    """Bad query parameters that a route found itself: the same 422 as FastAPI's own."""

    def __init__(self, errors: Sequence[FieldError]) -> None:
        super().__init__(summary(errors))
        self.errors = [replace(e, in_=e.in_ or "query") for e in errors]

    @classmethod
    def of(cls, exc: SpecError) -> QueryError:
        """A core ``SpecError`` about query parameters, each field sent in the query."""
        return cls(exc.errors or [FieldError("query", exc.detail)])


def invalid(method: str, path: str, errors: Sequence[FieldError]) -> JSONResponse:
    """422 for a request FastAPI (or a route) found invalid: a spec when it is a POST body."""
    is_spec = method == "POST" and any(e.in_ is None for e in errors)
    return problem(
        422,
        "Invalid experiment spec" if is_spec else "Invalid request",
        summary(errors),
        type_=_TYPE + ("invalid-spec" if is_spec else "invalid-request"),
        instance=path,
        errors=[e.to_json() for e in errors],
    )


def _invalid(request: Request, errors: Sequence[FieldError]) -> JSONResponse:
    return invalid(request.method, request.url.path, errors)


def install(app: FastAPI, *, retry_after_s: int) -> None:
    """Register the handlers on ``app``."""

    async def on_gradatlas(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, GradatlasError)
        headers = None
        if isinstance(exc.extra.get("retry_after"), int | float):
            headers = {"Retry-After": str(round(exc.extra["retry_after"]))}
        elif isinstance(exc, StoreUnavailable | Throttled):
            headers = {"Retry-After": str(retry_after_s)}
        extra: dict[str, Any] = dict(exc.extra)
        if isinstance(exc, SpecError):
            extra["errors"] = [e.to_json() for e in exc.errors]
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
        return _invalid(request, field_errors(exc.errors()))

    async def on_query(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, QueryError)
        return _invalid(request, exc.errors)

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
    app.add_exception_handler(QueryError, on_query)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_unexpected)


def _title(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
