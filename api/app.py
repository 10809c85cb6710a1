"""The application factory: ``uvicorn api.app:create_app --factory``.

``python -m api`` (api/__main__.py) serves it with one BLAS thread per process; started
by uvicorn directly, set ``OPENBLAS_NUM_THREADS=1`` the same way (core/threads.py says why).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.cors import CORSMiddleware

from api import openapi, problems
from api.access import AccessMiddleware
from api.body import BodyMiddleware
from api.cache import ViewCache
from api.dispatch import CeleryDispatcher, Dispatcher
from api.http import REPLAYED
from api.methods import MethodsMiddleware, method_table
from api.metrics import MetricsMiddleware, ServiceMetrics
from api.routers import (
    compare,
    events,
    experiments,
    health,
    pages,
    plots,
    remedies,
    sweeps,
    theory,
)
from api.services.events import Broadcaster
from core.settings import Settings, get_settings
from core.store import Store
from core.store.aio import AsyncReader
from core.store.events import FeedReader

#: Every route of the API, in the order /docs lists them.
ROUTERS: tuple[APIRouter, ...] = (
    experiments.router,
    events.router,
    remedies.router,
    plots.router,
    compare.router,
    sweeps.router,
    theory.router,
    health.router,
    pages.router,
)


def create_app(
    settings: Settings | None = None,
    *,
    store: Store | None = None,
    dispatcher: Dispatcher | None = None,
) -> FastAPI:
    """Build the API; by default from ``get_settings()``, talking to the Redis it names."""
    settings = settings or get_settings()
    store = store or Store.from_settings(settings)
    own_dispatcher = dispatcher is None
    dispatcher = dispatcher or CeleryDispatcher(settings)

    reader = AsyncReader(
        settings.redis_url, prefix=store.prefix, socket_timeout_s=settings.redis_socket_timeout_s
    )

    # The live streams' own reader: one read per followed experiment and tick.
    feed_reader = FeedReader(
        settings.redis_url, prefix=store.prefix, socket_timeout_s=settings.redis_socket_timeout_s
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await reader.aclose()
        await feed_reader.aclose()
        if own_dispatcher and isinstance(dispatcher, CeleryDispatcher):
            dispatcher.close()

    app = FastAPI(
        title="gradatlas",
        version="1",
        description=openapi.DESCRIPTION,
        lifespan=lifespan,
        # Served by api/routers/pages.py from the package's own copies: no CDN.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.store = store
    app.state.reader = reader
    app.state.events = Broadcaster(feed_reader, store)
    app.state.view_cache = ViewCache(settings.status_cache_s)
    app.state.dispatcher = dispatcher
    app.state.metrics = ServiceMetrics(store, settings.queue)
    # Added innermost first: a request meets metrics, CORS, access, methods, then the body.
    app.add_middleware(BodyMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(MethodsMiddleware, table=lambda: method_table(app))
    app.add_middleware(
        AccessMiddleware,
        keys=settings.key_ring,
        allowed_hosts=settings.allowed_hosts,
        cors_origins=settings.cors_origins,
        reader=reader,
        rate_limit_per_min=settings.rate_limit_per_min,
    )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "HEAD", "POST", "DELETE", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "If-None-Match"],
            expose_headers=["Location", "Retry-After", "ETag", REPLAYED],
        )
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    problems.install(app, retry_after_s=settings.retry_after_s)
    for router in ROUTERS:
        app.include_router(router)
    app.mount(pages.STATIC_URL, StaticFiles(directory=pages.STATIC_DIR), name="static")
    openapi.install(app)
    return app
