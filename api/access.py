"""Who may ask what: the Host allow-list, API keys, the rate limit and cross-site refusals.

One pure ASGI middleware, in front of every route (docs/service.md § Security):

- a ``Host`` not in ``GRADATLAS_ALLOWED_HOSTS`` is a 400 (DNS rebinding cannot
  reach a local API through a name it does not answer to);
- with API keys, every ``/v1`` request needs ``Authorization: Bearer <key>``
  (401 with ``WWW-Authenticate``); its tenant goes to ``request.state.tenant``
  (None without keys), read by ``api.deps.TenantDep``;
- requests to ``/v1`` are counted per key (per client address without keys) in
  Redis, 429 with ``Retry-After`` past ``GRADATLAS_RATE_LIMIT_PER_MIN``;
- a state-changing request a browser sends for another site (``Sec-Fetch-Site``,
  ``Origin``) is a 403, and one with a body type a form or a ``no-cors`` fetch can
  send (``text/plain``...) a 415: no page elsewhere cancels an experiment.

Health, readiness, metrics and the docs stay open.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from api.problems import problem
from core.errors import StoreUnavailable
from core.keys import KeyRing
from core.store.aio import AsyncReader
from core.store.ratelimit import over_limit

log = logging.getLogger(__name__)

#: Methods that change state: the ones a cross-site request must not make.
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: Body types a browser sends cross-site without asking first (no CORS preflight).
SIMPLE_BODIES = frozenset(
    {"text/plain", "application/x-www-form-urlencoded", "multipart/form-data"}
)
PROTECTED = "/v1"


def host_allowed(host: str, allowed: Sequence[str]) -> bool:
    """Whether a ``Host`` header (port and IPv6 brackets aside) is in ``allowed``."""
    name = host.strip().lower()
    if name.startswith("["):  # [::1]:8000
        name = name[1:].partition("]")[0]
    elif name.count(":") == 1:
        name = name.partition(":")[0]
    for pattern in allowed:
        p = pattern.lower()
        if p == "*" or p == name or (p.startswith("*.") and name.endswith(p[1:])):
            return True
    return False


def bearer(headers: Headers) -> str | None:
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


class AccessMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        keys: KeyRing,
        allowed_hosts: Sequence[str],
        cors_origins: Sequence[str],
        reader: AsyncReader,
        rate_limit_per_min: int,
    ) -> None:
        self.app, self.keys, self.reader = app, keys, reader
        self.allowed_hosts, self.cors_origins = tuple(allowed_hosts), frozenset(cors_origins)
        self.rate_limit = rate_limit_per_min

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        path: str = scope["path"]
        host = headers.get("host", "")
        if not host_allowed(host, self.allowed_hosts):
            answer = problem(
                400,
                "Bad request",
                "This server does not answer to that Host name; use one of "
                "GRADATLAS_ALLOWED_HOSTS.",
                instance=path,
            )
            await answer(scope, receive, send)
            return
        if path != PROTECTED and not path.startswith(PROTECTED + "/"):
            await self.app(scope, receive, send)
            return
        key = bearer(headers)
        tenant = self.keys.tenant_of(key) if key and self.keys else None
        client = scope.get("client")
        who = f"t:{tenant}" if tenant else f"a:{client[0] if client else '-'}"
        if self.rate_limit > 0:
            try:
                wait = await over_limit(self.reader, who, self.rate_limit)
            except StoreUnavailable:
                wait = None  # cannot count: let it through; a route that needs Redis says 503
            if wait is not None:
                answer = problem(
                    429,
                    "Too many requests",
                    f"More than {self.rate_limit} requests in a minute "
                    f"(GRADATLAS_RATE_LIMIT_PER_MIN); retry in {wait:.0f} s.",
                    instance=path,
                    headers={"Retry-After": f"{wait:.0f}"},
                )
                await answer(scope, receive, send)
                return
        if self.keys and tenant is None:
            detail = (
                "This API key is not valid."
                if key
                else "Send an API key: `Authorization: Bearer <key>`."
            )
            error = ', error="invalid_token"' if key else ""
            answer = problem(
                401,
                "Unauthorized",
                detail,
                instance=path,
                headers={"WWW-Authenticate": f'Bearer realm="gradatlas"{error}'},
            )
            await answer(scope, receive, send)
            return
        if scope["method"] in UNSAFE:
            refusal = self._cross_site(headers, scope)
            if refusal is not None:
                status, detail = refusal
                await problem(status, _TITLES[status], detail, instance=path)(scope, receive, send)
                return
        scope.setdefault("state", {})["tenant"] = tenant
        await self.app(scope, receive, send)

    def _cross_site(self, headers: Headers, scope: Scope) -> tuple[int, str] | None:
        origin = headers.get("origin")
        listed = origin is not None and origin in self.cors_origins
        site = headers.get("sec-fetch-site", "").lower()
        if site in ("cross-site", "same-site") and not listed:
            return 403, "A page of another site cannot change anything here (Sec-Fetch-Site)."
        if origin is not None and not listed:
            own = f"{scope.get('scheme', 'http')}://{headers.get('host', '')}"
            if origin.lower() != own.lower():
                return 403, (
                    "A page of another origin cannot change anything here; allow it with "
                    "GRADATLAS_CORS_ORIGINS."
                )
        media = headers.get("content-type", "").split(";")[0].strip().lower()
        if media in SIMPLE_BODIES:
            return 415, f"The body was sent as {media!r}; send it as application/json."
        return None


_TITLES = {403: "Forbidden", 415: "Unsupported Media Type"}
