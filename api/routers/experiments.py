"""``/v1/experiments``: submit, list, look at, read the statistics of, cancel, delete."""

from __future__ import annotations

import gzip
import hashlib
from typing import Annotated

from fastapi import APIRouter, Body, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from api.cache import ViewCache
from api.deps import (
    DispatcherDep,
    IdempotencyKeyDep,
    OwnedExperimentDep,
    OwnerDep,
    PageCursor,
    PageLimit,
    ReaderDep,
    SettingsDep,
    StoreDep,
    TenantDep,
    ViewCacheDep,
)
from api.http import JSON, accepted, if_none_match, json_response
from api.openapi import (
    DOC_422,
    DOC_503,
    NOT_MODIFIED_DOC,
    SPEC_EXAMPLES,
    STATS_EXAMPLE,
    json_example,
    problem_doc,
)
from api.services import experiments, stats_slices
from api.services.idempotent import once
from api.views import experiment_json, experiment_page, experiment_view
from core.errors import Conflict
from core.result import ResultDict
from core.spec import ExperimentSpec
from core.store import owns
from core.store.aio import AsyncReader
from core.store.tenants import not_found
from core.views import EXPERIMENT_EXAMPLE, ExperimentPage, ExperimentView, Status

router = APIRouter(prefix="/v1/experiments", tags=["experiments"])

DOC_404 = problem_doc(404, "Not found", "No experiment '0193a1f2c3d4a1b2c3d4e5f6'.")
DOC_QUEUED = json_example({**EXPERIMENT_EXAMPLE, "status": "queued"})
DOC_IDEMPOTENCY_PENDING = problem_doc(
    409, "Conflict", "A request with this Idempotency-Key is still being handled; retry shortly."
)
#: The status route's path parameter in the OpenAPI document, as FastAPI would declare it
#: for ``experiment_id: str`` (the route reads it from the path itself).
PATH_ID = {
    "parameters": [
        {
            "in": "path",
            "name": "experiment_id",
            "required": True,
            "schema": {"title": "Experiment Id", "type": "string"},
        }
    ]
}


@router.post(
    "",
    status_code=202,
    response_model=ExperimentView,
    summary="Submit an experiment",
    description="Validates the spec against docs/contract.md and the server's limits, stores it "
    "as `queued` and sends it to the workers. Poll the `Location` it answers with. With an "
    "`Idempotency-Key`, the same key and spec answer with the same experiment (a header "
    "`Idempotent-Replayed: true` says so); the same key with another spec is a 422.",
    responses={202: DOC_QUEUED, 409: DOC_IDEMPOTENCY_PENDING, 422: DOC_422, 503: DOC_503},
)
def submit(
    spec: Annotated[ExperimentSpec, Body(openapi_examples=SPEC_EXAMPLES)],
    store: StoreDep,
    dispatcher: DispatcherDep,
    settings: SettingsDep,
    tenant: TenantDep,
    owner: OwnerDep = None,
    idempotency_key: IdempotencyKeyDep = None,
) -> Response:
    record, replayed = once(
        store,
        settings,
        tenant=tenant,
        scope="experiment",
        key=idempotency_key,
        body=spec.model_dump_json(),
        create=lambda: experiments.submit(
            spec, store=store, dispatcher=dispatcher, settings=settings, owner=owner, tenant=tenant
        ),
        id_of=lambda r: r.id,
        load=lambda exp_id: store.get_owned(exp_id, tenant),
    )
    return accepted(
        experiment_view(record),
        f"/v1/experiments/{record.id}",
        settings.retry_after_s,
        replayed=replayed,
    )


@router.get(
    "",
    response_model=ExperimentPage,
    summary="List experiments, newest first",
    responses={422: DOC_422, 503: DOC_503},
)
def list_experiments(
    store: StoreDep,
    tenant: TenantDep,
    limit: PageLimit = 20,
    cursor: PageCursor = None,
    status: Annotated[Status | None, Query(description="Only experiments in this status.")] = None,
) -> Response:
    page = store.list_experiments(status=status, limit=limit, cursor=cursor, tenant=tenant)
    return json_response(experiment_page(page))


@router.get(
    "/{experiment_id}",
    response_model=ExperimentView,
    summary="One experiment: status, progress, summary, links",
    description="Carries an `ETag` once the experiment is final (answer 304 to `If-None-Match`).",
    # 422 as FastAPI documents it for a route with parameters (the document is unchanged).
    responses={304: NOT_MODIFIED_DOC, 404: DOC_404, 422: DOC_422, 503: DOC_503},
    openapi_extra=PATH_ID,
)
async def get_experiment(request: Request) -> Response:
    # The polling hot path: on the event loop (no thread hop), from a short-lived cache,
    # and no dependencies or parameters for FastAPI to resolve (they cost as much as the
    # rest of the request): the id is read from the path as routed.
    experiment_id: str = request.path_params["experiment_id"]
    state = request.app.state
    cache: ViewCache = state.view_cache
    # Set by api.access on every /v1 request (what api.deps.get_tenant reads).
    tenant: str | None = request.scope.get("state", {}).get("tenant")
    view = cache.get(experiment_id)
    if view is None:
        # Read after the request arrived; the stored JSON spliced in (api/views.py).
        reader: AsyncReader = state.reader
        record = await reader.get_stored(experiment_id, tenant)
        body = experiment_json(record)
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"' if record.final else None
        cache.put(experiment_id, body, etag, tenant=record.tenant)
    elif owns(view.tenant, tenant):
        body, etag = view.body, view.etag
    else:
        raise not_found("experiment", experiment_id)
    if etag is None:
        return Response(body, media_type=JSON, headers={"Cache-Control": "no-store"})
    headers = {"Cache-Control": "no-cache", "ETag": etag}
    if etag in if_none_match(request):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=JSON, headers=headers)


@router.get(
    "/{experiment_id}/stats",
    response_model=ResultDict,
    summary="The recorded statistics (docs/contract.md § Result); partial while running",
    description="Served as stored, gzip'd (`Content-Encoding: gzip`) to clients that accept "
    "it. A final result has an `ETag` and answers 304 to `If-None-Match`. `layers`, `stats` "
    "and `every` ask for a slice: the same shape with only those layers, statistics and "
    "records (docs/contract.md § HTTP API).",
    responses={
        200: json_example(STATS_EXAMPLE),
        304: NOT_MODIFIED_DOC,
        404: DOC_404,
        409: problem_doc(
            409,
            "Conflict",
            "Experiment 0193... is queued and has recorded nothing "
            "yet; try again in a few seconds.",
        ),
        422: DOC_422,
        503: DOC_503,
    },
)
async def get_stats(
    experiment_id: str,
    reader: ReaderDep,
    request: Request,
    settings: SettingsDep,
    tenant: TenantDep,
    layers: Annotated[
        str | None,
        Query(
            max_length=stats_slices.MAX_LAYERS_CHARS,
            description="Only these layers: indices and inclusive ranges, comma-separated.",
            examples=["0,5-9"],
        ),
    ] = None,
    stats: Annotated[
        str | None,
        Query(
            max_length=stats_slices.MAX_STATS_CHARS,
            description="Only these statistics (docs/contract.md § Statistics), comma-separated.",
            examples=["grad_norm,backprop_norm"],
        ),
    ] = None,
    every: Annotated[
        int,
        Query(ge=1, le=stats_slices.MAX_EVERY, description="Only records 0, k, 2k, ..."),
    ] = 1,
) -> Response:
    part = stats_slices.parse_slice(layers, stats, every)
    stored = await reader.result_bytes(experiment_id, tenant)
    if stored is None:
        record = await reader.get(experiment_id, tenant)
        why = f": {record.error}" if record.error else ""
        raise Conflict(
            f"Experiment {experiment_id} is {record.status} and has recorded "
            f"nothing yet{why}" + ("; try again in a few seconds." if not record.final else "."),
            retry_after=settings.retry_after_s,
        )
    headers = {
        "Vary": "Accept-Encoding",
        "Cache-Control": "no-cache" if stored.final else "no-store",
    }
    if stored.final and stored.etag:
        headers["ETag"] = f'"{stored.etag}"' if part.whole else f'"{stored.etag}-{part.key()}"'
        if headers["ETag"] in if_none_match(request):
            return Response(status_code=304, headers=headers)
    gzipped = _accepts_gzip(request.headers.get("accept-encoding", ""))
    if not part.whole:
        # Cutting a slice parses the stored result: CPU work, not on the event loop.
        body = await run_in_threadpool(
            stats_slices.slice_body, experiment_id, stored, part, gzipped=gzipped
        )
        if gzipped:
            headers["Content-Encoding"] = "gzip"
        return Response(body, media_type=JSON, headers=headers)
    if gzipped:
        headers["Content-Encoding"] = "gzip"
        return Response(stored.data, media_type=JSON, headers=headers)
    # Decompressing megabytes is CPU work: not on the event loop.
    body = await run_in_threadpool(gzip.decompress, stored.data)
    return Response(body, media_type=JSON, headers=headers)


def _accepts_gzip(header: str) -> bool:
    for item in header.split(","):
        name, _, params = item.strip().partition(";")
        if name.strip().lower() in ("gzip", "*"):
            q = params.strip().removeprefix("q=")
            try:
                return not params or float(q) > 0
            except ValueError:
                return True
    return False


@router.post(
    "/{experiment_id}/cancel",
    response_model=ExperimentView,
    summary="Cancel a queued or running experiment",
    description="A queued experiment is cancelled at once (200). A running one stops within "
    "about a second, after its current step (202: poll it until `cancelled`).",
    responses={
        200: json_example({**EXPERIMENT_EXAMPLE, "status": "cancelled"}),
        202: json_example({**EXPERIMENT_EXAMPLE, "cancel_requested": True}, model=ExperimentView),
        404: DOC_404,
        409: problem_doc(
            409, "Conflict", "Experiment 0193... has already succeeded; there is nothing to cancel."
        ),
        503: DOC_503,
    },
)
def cancel(
    owned: OwnedExperimentDep, store: StoreDep, dispatcher: DispatcherDep, cache: ViewCacheDep
) -> Response:
    record, cancelled = experiments.cancel(
        owned.id, store=store, dispatcher=dispatcher, cache=cache
    )
    return json_response(experiment_view(record), 200 if cancelled else 202)


@router.delete(
    "/{experiment_id}",
    status_code=204,
    summary="Forget a finished experiment and its results",
    responses={
        404: DOC_404,
        409: problem_doc(
            409,
            "Conflict",
            "Experiment 0193... is running: cancel it first, then delete it once it has stopped.",
        ),
        503: DOC_503,
    },
)
def delete(owned: OwnedExperimentDep, store: StoreDep, cache: ViewCacheDep) -> Response:
    experiments.delete(owned.id, store=store, cache=cache)
    return Response(status_code=204)
