"""The application factory: ``uvicorn api.app:create_app --factory``."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.openapi.utils import get_openapi

from api import problems, routers
from api.cache import ViewCache
from api.dispatch import CeleryDispatcher, Dispatcher
from api.metrics import Metrics, MetricsMiddleware
from api.problems import EXAMPLE_422, PROBLEM_JSON
from core.settings import Settings, get_settings
from core.store import Store
from core.store.aio import AsyncReader

DESCRIPTION = """
Submit experiments on deep networks, watch their per-layer gradient statistics
while they train, and read why gradients vanish or explode.

Every error is `application/problem+json` (RFC 9457). Experiments move
`queued -> running -> succeeded | failed | cancelled`.
"""


def discover_routers() -> list[APIRouter]:
    """Every ``router`` of the modules in ``api.routers``, by module name."""
    found = []
    for info in sorted(pkgutil.iter_modules(routers.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{routers.__name__}.{info.name}")
        router = getattr(module, "router", None)
        if isinstance(router, APIRouter):
            found.append(router)
    return found


def create_app(
    settings: Settings | None = None,
    *,
    store: Store | None = None,
    dispatcher: Dispatcher | None = None,
    extra_routers: Sequence[APIRouter] = (),
) -> FastAPI:
    """Build the API; by default from ``get_settings()``, talking to the Redis it names."""
    settings = settings or get_settings()
    store = store or Store.from_settings(settings)
    own_dispatcher = dispatcher is None
    dispatcher = dispatcher or CeleryDispatcher(settings)

    reader = AsyncReader(
        settings.redis_url, prefix=store.prefix, socket_timeout_s=settings.redis_socket_timeout_s
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await reader.aclose()
        if own_dispatcher and isinstance(dispatcher, CeleryDispatcher):
            dispatcher.close()

    app = FastAPI(
        title="gradatlas",
        version="1",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.store = store
    app.state.reader = reader
    app.state.view_cache = ViewCache(settings.status_cache_s)
    app.state.dispatcher = dispatcher
    app.state.metrics = Metrics(store, settings.queue)
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    problems.install(app, retry_after_s=settings.retry_after_s)
    for router in [*discover_routers(), *extra_routers]:
        app.include_router(router)
    _document_problems(app)
    return app


def _document_problems(app: FastAPI) -> None:
    """Say in OpenAPI what the handlers really send: 422 is problem+json, not FastAPI's."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            for ops in schema.get("paths", {}).values():
                for op in ops.values():
                    responses = op.get("responses", {})
                    if "422" in responses:
                        responses["422"] = {
                            "description": "Invalid request: problem+json naming each field",
                            "content": {PROBLEM_JSON: {"example": EXAMPLE_422}},
                        }
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
