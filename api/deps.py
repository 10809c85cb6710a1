"""FastAPI dependencies, as ``Annotated`` aliases routes take as parameters.

Everything lives on ``app.state`` (set by ``create_app``), so tests build an
app with their own settings, store or dispatcher instead of patching globals.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Path, Query, Request

from api.cache import ViewCache
from api.dispatch import Dispatcher
from core.settings import Settings
from core.store import ExperimentRecord, Store
from core.store.aio import AsyncReader


# ``async def`` although they do no I/O: FastAPI would run a plain ``def``
# dependency in a worker thread, a hop that costs more than the lookup.
async def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


async def get_reader(request: Request) -> AsyncReader:
    reader: AsyncReader = request.app.state.reader
    return reader


async def get_dispatcher(request: Request) -> Dispatcher:
    dispatcher: Dispatcher = request.app.state.dispatcher
    return dispatcher


async def get_view_cache(request: Request) -> ViewCache:
    cache: ViewCache = request.app.state.view_cache
    return cache


async def get_tenant(request: Request) -> str | None:
    """The tenant of the request's API key (``api.access``); None without API keys."""
    tenant: str | None = getattr(request.state, "tenant", None)
    return tenant


async def owned_experiment(
    request: Request, experiment_id: Annotated[str, Path(description="The experiment's id.")]
) -> ExperimentRecord:
    """The ``{experiment_id}`` of the path, if it is the request's tenant's; else 404
    (the same 404 as for one that never existed)."""
    reader: AsyncReader = request.app.state.reader
    return await reader.get(experiment_id, await get_tenant(request))


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
#: Who is asking: the tenant of the API key, None when the API runs without keys. Pass it
#: to the store (``get_owned``, ``list_experiments(tenant=...)``) so that another
#: tenant's experiment answers as a missing one.
TenantDep = Annotated[str | None, Depends(get_tenant)]
#: The path's experiment, checked against the tenant (for any ``{experiment_id}`` route).
OwnedExperimentDep = Annotated[ExperimentRecord, Depends(owned_experiment)]
StoreDep = Annotated[Store, Depends(get_store)]
#: Non-blocking reads for routes that answer on the event loop.
ReaderDep = Annotated[AsyncReader, Depends(get_reader)]
DispatcherDep = Annotated[Dispatcher, Depends(get_dispatcher)]
ViewCacheDep = Annotated[ViewCache, Depends(get_view_cache)]
OwnerDep = Annotated[
    str | None,
    Header(
        alias="X-Gradatlas-Owner",
        max_length=200,
        description="A label for who submitted it (a user, a notebook, a service).",
    ),
]
IdempotencyKeyDep = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        description="Send the same key again (with the same body) to get the same resource "
        "instead of a second one, for as long as GRADATLAS_IDEMPOTENCY_TTL_S.",
    ),
]

#: A list's page size and where it resumes, for every cursor-paginated list.
MAX_PAGE = 100
PageLimit = Annotated[int, Query(ge=1, le=MAX_PAGE, description="Items per page.")]
PageCursor = Annotated[
    str | None,
    Query(max_length=64, pattern=r"^[0-9a-f]+$", description="`next_cursor` of the previous page."),
]
