"""FastAPI dependencies, as ``Annotated`` aliases routes take as parameters.

Everything lives on ``app.state`` (set by ``create_app``), so tests build an
app with their own settings, store or dispatcher instead of patching globals.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from api.cache import ViewCache
from api.dispatch import Dispatcher
from core.settings import Settings
from core.store import Store
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


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
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
