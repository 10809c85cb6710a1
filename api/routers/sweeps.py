"""``/v1/sweeps``: a grid of ordinary experiments, its summary table and its plots."""

from __future__ import annotations

import contextlib
import json
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request, Response

from api.deps import DispatcherDep, OwnerDep, SettingsDep, StoreDep
from api.dispatch import Dispatcher
from api.limits import check_limits
from api.render import etag_for, parse_filename, retention_s, serve
from api.responses import DOC_422, DOC_503, image_responses, problem_doc
from api.routers.plots import load_result
from api.submit import NOT_QUEUED, dispatch
from api.sweep_views import (
    SWEEP_EXAMPLE,
    VIEW_EXAMPLE,
    SweepPageView,
    SweepRequest,
    SweepView,
    sweep_view,
)
from core import plots
from core.errors import Conflict, NotFound, StoreUnavailable
from core.settings import Settings
from core.store import ExperimentRecord, Store, SweepRecord, SweepStore
from core.sweep import SweepChild, check_children, expand

router = APIRouter(prefix="/v1/sweeps", tags=["sweeps"])

_JSON = "application/json"
_404 = problem_doc(404, "Not found", "No sweep '0193a1f2c3d4a1b2c3d4e5f6': it never existed...")


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status_code=status, media_type=_JSON, headers=headers)


def _children(request: SweepRequest, settings: Settings) -> list[SweepChild]:
    """Every child spec, valid and within the server's limits, or one 422 naming them."""
    # A SpecError from either reaches the problem handler, which names each field.
    children = expand(
        request.base, request.grid, max_children=settings.max_sweep_children, name=request.name
    )
    check_children(children, lambda spec: check_limits(spec, settings))
    return children


def _dispatch_all(store: Store, dispatcher: Dispatcher, records: list[ExperimentRecord]) -> None:
    """Send every child; if the broker fails, fail the rest and cancel those sent."""
    for k, record in enumerate(records):
        try:
            dispatch(record.id, store, dispatcher)
        except StoreUnavailable:
            with contextlib.suppress(StoreUnavailable):
                for sent in records[:k]:
                    with contextlib.suppress(Conflict, NotFound):
                        if store.request_cancel(sent.id) == "cancelled":
                            dispatcher.revoke(sent.id)
                for unsent in records[k + 1 :]:
                    store.finish(
                        unsent.id,
                        "failed",
                        attempt=None,
                        allowed_from=("queued",),
                        error=NOT_QUEUED,
                    )
            raise


@router.post(
    "",
    status_code=202,
    response_model=SweepView,
    summary="Start a sweep: one experiment per combination of the grid's values",
    description="Expands `base` x `grid` into child specs, validates every one (a 422 names "
    "the grid path and the value that fails, or the base field), caps their number "
    "(GRADATLAS_MAX_SWEEP_CHILDREN) and checks each against the server's limits, then "
    "submits each as an ordinary experiment sent to the queue on its own, so every "
    "worker shares the work. Answers 202 with the sweep and its `Location`.",
    responses={
        202: {"content": {_JSON: {"example": {**VIEW_EXAMPLE, "status": "queued"}}}},
        422: problem_doc(
            422,
            "Invalid experiment spec",
            "1 problem in the sweep: grid.model.depth: model.depth = 900 gives an invalid "
            "spec: Input should be less than or equal to 500",
            errors=[
                {
                    "field": "grid.model.depth",
                    "message": "model.depth = 900 gives an invalid spec: Input should be "
                    "less than or equal to 500",
                    "input": 900,
                }
            ],
        ),
        503: DOC_503,
    },
)
def create_sweep(
    body: Annotated[
        SweepRequest,
        Body(openapi_examples={"activation-by-depth": {"value": SWEEP_EXAMPLE}}),
    ],
    store: StoreDep,
    dispatcher: DispatcherDep,
    settings: SettingsDep,
    owner: OwnerDep = None,
) -> Response:
    children = _children(body, settings)
    sweeps = SweepStore(store)
    sweep_id = sweeps.new_id()
    meta = {"sweep": sweep_id}
    records = [store.create(c.spec, owner=owner, meta=meta) for c in children]
    sweep = sweeps.create(
        sweep_id,
        name=body.name,
        base=body.base,
        grid=body.grid,
        children=[(r.id, c.params) for r, c in zip(records, children, strict=True)],
        owner=owner,
    )
    _dispatch_all(store, dispatcher, records)
    headers = {"Location": f"/v1/sweeps/{sweep_id}", "Retry-After": str(settings.retry_after_s)}
    return _json(sweep_view(sweep, records), 202, headers)


@router.get(
    "",
    response_model=SweepPageView,
    summary="List sweeps, newest first",
    responses={422: DOC_422, 503: DOC_503},
)
def list_sweeps(
    store: StoreDep,
    limit: Annotated[int, Query(ge=1, le=100, description="Items per page.")] = 20,
    cursor: Annotated[
        str | None, Query(max_length=64, pattern=r"^[0-9a-f]+$", description="`next_cursor`.")
    ] = None,
) -> Response:
    sweeps = SweepStore(store)
    page = sweeps.list_sweeps(limit=limit, cursor=cursor)
    items = [sweep_view(s, sweeps.children(s), table=False) for s in page.items]
    return _json({"items": items, "next_cursor": page.next_cursor})


def _load(store: Store, sweep_id: str) -> tuple[SweepRecord, list[ExperimentRecord | None]]:
    sweeps = SweepStore(store)
    sweep = sweeps.get(sweep_id)
    records = sweeps.children(sweep)
    sweeps.keep(sweep, records)
    return sweep, records


@router.get(
    "/{sweep_id}",
    response_model=SweepView,
    summary="One sweep: status, progress and the summary table",
    description="`status`: `queued` while every child is queued, `running` while any is "
    "queued or running, then the children's common final status, or `mixed`. `progress`: "
    "the mean of the children's fractions, a finished child counting 1. `children`: one "
    "row per child with its values, status, gradient ratios, decay per layer, final "
    "validation accuracy and verdict (null until it has finished).",
    responses={404: _404, 503: DOC_503},
)
def get_sweep(sweep_id: str, store: StoreDep) -> Response:
    sweep, records = _load(store, sweep_id)
    return _json(sweep_view(sweep, records))


@router.post(
    "/{sweep_id}/cancel",
    response_model=SweepView,
    summary="Cancel every child still queued or running",
    description="Queued children are cancelled at once; running ones stop within about a "
    "second (202 while any is stopping: poll the sweep). Finished children are kept.",
    responses={404: _404, 503: DOC_503},
)
def cancel_sweep(sweep_id: str, store: StoreDep, dispatcher: DispatcherDep) -> Response:
    sweep, records = _load(store, sweep_id)
    stopping = False
    for record in records:
        if record is None or record.final:
            continue
        try:
            outcome = store.request_cancel(record.id)
        except (Conflict, NotFound):  # it finished, or went, meanwhile
            continue
        if outcome == "cancelled":
            dispatcher.revoke(record.id)
        else:
            stopping = True
    records = SweepStore(store).children(sweep)
    return _json(sweep_view(sweep, records), 202 if stopping else 200)


@router.get(
    "/{sweep_id}/plots/{filename}",
    response_class=Response,
    summary="A figure of a sweep",
    description="`filename` is `NAME.png` or `NAME.svg` with NAME one of: "
    f"{', '.join(plots.SWEEP_PLOTS)}. `gradient-profiles` overlays every child's step-0 "
    "profiles, one colour per group (the values that vary, depth aside); `ratio-vs-depth` "
    "draws log10 gradient ratio against depth, one line per group, beside the mean-field "
    "prediction. Children still queued are left out. Cached, with an `ETag`, once every "
    "child is final.",
    responses=image_responses((404, _404), (503, DOC_503)),
)
def sweep_plot(
    sweep_id: str, filename: str, store: StoreDep, settings: SettingsDep, request: Request
) -> Response:
    name, fmt = parse_filename(filename, plots.SWEEP_PLOTS, "sweep")
    _, records = _load(store, sweep_id)
    present = [r for r in records if r is not None]

    def render() -> bytes:
        children: list[plots.SweepChild] = []
        for r in present:
            result = None
            with contextlib.suppress(Conflict, NotFound):
                result = load_result(store, r, settings.retry_after_s)
            children.append((r.spec, result))
        return plots.render_sweep(name, children, fmt)

    if all(r.final for r in present):
        etag = etag_for(
            "sweep", sweep_id, name, fmt, *(f"{r.id}={r.etag or r.status}" for r in present)
        )
        return serve(
            request,
            store,
            fmt,
            render,
            key="sweep:" + etag.strip('"'),
            etag=etag,
            ttl_s=retention_s(present, store),
        )
    return serve(request, store, fmt, render, key=None, etag=None, ttl_s=None)
