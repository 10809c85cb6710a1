"""HEAD on every GET route, OPTIONS with the methods a path really has, and a full ``Allow``.

FastAPI routes declared with ``@router.get`` answer only GET; Starlette's own
405 names the methods of the first route whose path matches. Here, as one pure
ASGI middleware: HEAD is answered as GET without the body (same status and
headers), OPTIONS with 204 and ``Allow`` listing every method of every route
of that path, and any 405 gets that same ``Allow``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from starlette.routing import BaseRoute, Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import problem


def allowed_methods(routes: Sequence[BaseRoute], scope: Scope) -> list[str]:
    """Every method some route of ``scope``'s path answers, HEAD and OPTIONS included;
    empty when no route has that path."""
    methods: set[str] = set()
    for route in routes:
        if not isinstance(route, Route) or route.methods is None:
            continue
        match, _ = route.matches({**scope, "method": next(iter(route.methods))})
        if match is not Match.NONE:
            methods |= route.methods
    if not methods:
        return []
    if "GET" in methods:
        methods.add("HEAD")
    methods.add("OPTIONS")
    return sorted(methods)


class MethodsMiddleware:
    def __init__(self, app: ASGIApp, *, routes: Callable[[], Sequence[BaseRoute]]) -> None:
        self.app, self.routes = app, routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        if method == "OPTIONS":
            allow = allowed_methods(self.routes(), scope)
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

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 405:
                allow = ", ".join(allowed_methods(self.routes(), scope)).encode()
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
