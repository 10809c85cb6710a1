"""HEAD on every GET route, OPTIONS with the methods a path really has, and a full ``Allow``.

FastAPI routes declared with ``@router.get`` answer only GET; Starlette's own
405 names the methods of the first route whose path matches. Here, as one pure
ASGI middleware: HEAD is answered as GET without the body (same status and
headers), OPTIONS with 204 and ``Allow`` listing every method of every route
of that path, and any 405 gets that same ``Allow``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from fastapi import FastAPI
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import problem

#: Path patterns and the methods each answers.
MethodTable = Sequence[tuple[re.Pattern[str], frozenset[str]]]


def method_table(app: FastAPI) -> MethodTable:
    """Every path of ``app`` and its methods: from its OpenAPI document (which lists HEAD
    and OPTIONS too, see ``api.openapi``), and the routes kept out of it (the docs)."""
    table: list[tuple[re.Pattern[str], frozenset[str]]] = []
    for path, ops in app.openapi().get("paths", {}).items():
        pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(path))
        table.append((re.compile(f"^{pattern}$"), frozenset(m.upper() for m in ops)))
    for route in app.router.routes:
        if isinstance(route, Route) and route.methods:
            table.append((route.path_regex, frozenset(route.methods)))
    return table


def allowed_methods(table: MethodTable, path: str) -> list[str]:
    """Every method some route of ``path`` answers, HEAD and OPTIONS included; empty when
    no route has that path."""
    methods: set[str] = set()
    for pattern, answered in table:
        if pattern.match(path):
            methods |= answered
    if not methods:
        return []
    if "GET" in methods:
        methods.add("HEAD")
    methods.add("OPTIONS")
    return sorted(methods)


class MethodsMiddleware:
    def __init__(self, app: ASGIApp, *, table: Callable[[], MethodTable]) -> None:
        self.app, self._make_table = app, table
        self._table: MethodTable | None = None

    def table(self) -> MethodTable:
        if self._table is None:  # once, at the first request: every route is in by then
            self._table = self._make_table()
        return self._table

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        if method == "OPTIONS":
            allow = allowed_methods(self.table(), scope["path"])
            if allow:
                headers = {"Allow": ", ".join(allow), "Content-Length": "0"}
                await send(
                    {
                        "type": "http.response.start",
                        "status": 204,
                        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
                    }
                )
                await send({"type": "http.response.body", "body": b""})
            else:
                detail = f"No route {method} {scope['path']}; see /docs for the API."
                await problem(404, "Not Found", detail, instance=scope["path"])(
                    scope, receive, send
                )
            return
        head = method == "HEAD"
        inner = {**scope, "method": "GET"} if head else scope
        path = scope["path"]

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 405:
                allow = ", ".join(allowed_methods(self.table(), path)).encode()
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"allow"]
                message = {**message, "headers": [*headers, (b"allow", allow)]}
            elif head and message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        try:
            await self.app(inner, receive, sending)
        finally:
            if head and "route" in inner:  # for the metrics: the route it answered as
                scope["route"] = inner["route"]
