"""Request bodies: at most ``GRADATLAS_MAX_BODY_BYTES``, and strict JSON.

A pure ASGI middleware reads the body before any route does: a
``Content-Length`` over the limit is refused before a byte is read, and a body
that grows past it (chunked) as soon as it does, 413 either way. A JSON body
is then checked once for what Python's parser lets through and a spec must
never hold: ``NaN``, ``Infinity``, numbers beyond a float (``1e400``), lone
surrogates (``"\\ud800"``) and nesting too deep to walk; each is a 422 naming
where it is. The route reads the same bytes afterwards.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import invalid, problem
from core.errors import FieldError, dotted

#: Methods whose body is read.
WITH_BODY = frozenset({"POST", "PUT", "PATCH"})
#: Deepest nesting a JSON body may have (a spec is four levels deep).
MAX_DEPTH = 32


class _Constant:
    def __init__(self, name: str) -> None:
        self.name = name


def _is_json(media: str) -> bool:
    return media == "application/json" or media.endswith("+json")


def strict_json_errors(body: bytes) -> list[FieldError]:
    """What in a JSON ``body`` is not strict JSON (empty: fine, or not JSON at all,
    which the route reports itself)."""
    try:
        doc = json.loads(body, parse_constant=_Constant, parse_float=float)
    except RecursionError:
        return [FieldError("body", f"the JSON is nested too deeply (at most {MAX_DEPTH} levels)")]
    except ValueError as e:
        if isinstance(e, json.JSONDecodeError):
            return []  # not JSON: the route's own 422 says where
        return [FieldError("body", f"the JSON holds a number Python cannot read ({e})")]
    return list(_walk(doc))


def _walk(doc: Any) -> Iterator[FieldError]:
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(doc, ())]
    while stack:
        value, loc = stack.pop()
        where = dotted(loc) or "body"
        if len(loc) > MAX_DEPTH:
            yield FieldError(where, f"the JSON is nested too deeply (at most {MAX_DEPTH} levels)")
            return
        if isinstance(value, _Constant):
            yield FieldError(where, f"{value.name} is not JSON: send a finite number")
        elif isinstance(value, float) and not math.isfinite(value):
            yield FieldError(where, "the number is too large for a float: send a finite number")
        elif isinstance(value, str) and _surrogate(value):
            yield FieldError(where, "the text holds a lone surrogate (not Unicode text)")
        elif isinstance(value, dict):
            for k, v in value.items():
                if _surrogate(k):
                    yield FieldError(where, "a key holds a lone surrogate (not Unicode text)")
                else:
                    stack.append((v, (*loc, k)))
        elif isinstance(value, list):
            stack.extend((v, (*loc, i)) for i, v in enumerate(value))


def _surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


class BodyMiddleware:
    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in WITH_BODY:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        path = scope["path"]
        declared = headers.get("content-length")
        if declared is not None:
            if not declared.isdigit():
                await problem(400, "Bad request", "Content-Length is not a number.")(
                    scope, receive, send
                )
                return
            if int(declared) > self.max_bytes:
                await self._too_large(scope, receive, send)
                return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._too_large(scope, receive, send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        media = headers.get("content-type", "").split(";")[0].strip().lower()
        if body and _is_json(media):
            errors = strict_json_errors(body)
            if errors:
                await invalid(scope["method"], path, errors)(scope, receive, send)
                return

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: wait for the disconnect

        await self.app(scope, replay, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        answer = problem(
            413,
            "Content Too Large",
            f"The body is larger than {self.max_bytes} bytes (GRADATLAS_MAX_BODY_BYTES).",
            instance=scope["path"],
            limit=self.max_bytes,
        )
        await answer(scope, receive, send)
