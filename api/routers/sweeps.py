"""``/v1/sweeps``: a grid of ordinary experiments, its summary table and its plots."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Body, Request, Response

from api.deps import (
    DispatcherDep,
    IdempotencyKeyDep,
    OwnerDep,
    PageCursor,
    PageLimit,
    SettingsDep,
    StoreDep,
    TenantDep,
)
from api.http import accepted, json_response
from api.openapi import DOC_422, DOC_503, image_responses, json_example, problem_doc
from api.routers.plots import ScaleQuery
from api.services import figures, sweeps
from api.services.idempotent import once
from api.services.sweeps import REQUEST_EXAMPLE, SweepRequest
from api.views import sweep_page, sweep_view
from core.store import ExperimentRecord, SweepRecord
from core.views import SWEEP_EXAMPLE, SWEEP_PLOT_NAMES, SweepPage, SweepPlotList, SweepView

router = APIRouter(prefix="/v1/sweeps", tags=["sweeps"])

#: A sweep and its children's records (None for one gone), as made or as read again.
Made = tuple[SweepRecord, Sequence[ExperimentRecord | None]]

DOC_404 = problem_doc(404, "Not found", "No sweep '0193a1f2c3d4a1b2c3d4e5f6': it never existed...")


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
        202: json_example({**SWEEP_EXAMPLE, "status": "queued"}),
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
        Body(openapi_examples={"activation-by-depth": {"value": REQUEST_EXAMPLE}}),
    ],
    store: StoreDep,
    dispatcher: DispatcherDep,
    settings: SettingsDep,
    tenant: TenantDep,
    owner: OwnerDep = None,
    idempotency_key: IdempotencyKeyDep = None,
) -> Response:

    def create() -> Made:
        return sweeps.submit(
            body, store=store, dispatcher=dispatcher, settings=settings, owner=owner, tenant=tenant
        )

    def load(sweep_id: str) -> Made:
        return sweeps.load(store, sweep_id, tenant)

    (sweep, records), replayed = once(
        store,
        settings,
        tenant=tenant,
        scope="sweep",
        key=idempotency_key,
        body=body.model_dump_json(),
        create=create,
        id_of=lambda made: made[0].id,
        load=load,
    )
    return accepted(
        sweep_view(sweep, records),
        f"/v1/sweeps/{sweep.id}",
        settings.retry_after_s,
        replayed=replayed,
    )


@router.get(
    "",
    response_model=SweepPage,
    summary="List sweeps, newest first",
    responses={422: DOC_422, 503: DOC_503},
)
def list_sweeps(
    store: StoreDep,
    tenant: TenantDep,
    limit: PageLimit = 20,
    cursor: PageCursor = None,
) -> Response:
    page, children = sweeps.list_page(store, limit=limit, cursor=cursor, tenant=tenant)
    return json_response(sweep_page(page, children))


@router.get(
    "/{sweep_id}",
    response_model=SweepView,
    summary="One sweep: status, progress and the summary table",
    description="`status`: `queued` while every child is queued, `running` while any is "
    "queued or running, then the children's common final status, or `mixed`. `progress`: "
    "the mean of the children's fractions, a finished child counting 1. `children`: one "
    "row per child with its values, status, gradient ratios, decay per layer, final "
    "validation accuracy and verdict (null until it has finished).",
    responses={404: DOC_404, 503: DOC_503},
)
def get_sweep(sweep_id: str, store: StoreDep, tenant: TenantDep) -> Response:
    return json_response(sweep_view(*sweeps.load(store, sweep_id, tenant)))


@router.get(
    "/{sweep_id}/plots",
    response_model=SweepPlotList,
    summary="The figures of one sweep, with what each shows and how to read it",
    description="One entry per figure: `name`, `title`, a one-paragraph `caption` (the SVG's "
    "`<desc>` too) and `urls`, the figure in each format.",
    responses={404: DOC_404, 503: DOC_503},
)
def list_sweep_plots(sweep_id: str, store: StoreDep, tenant: TenantDep) -> Response:
    sweep, _ = sweeps.load(store, sweep_id, tenant)
    return json_response(figures.sweep_plot_list(sweep))


@router.post(
    "/{sweep_id}/cancel",
    response_model=SweepView,
    summary="Cancel every child still queued or running",
    description="Queued children are cancelled at once; running ones stop within about a "
    "second (202 while any is stopping: poll the sweep). Finished children are kept.",
    responses={404: DOC_404, 503: DOC_503},
)
def cancel_sweep(
    sweep_id: str, store: StoreDep, dispatcher: DispatcherDep, tenant: TenantDep
) -> Response:
    sweep, records, stopping = sweeps.cancel(
        sweep_id, store=store, dispatcher=dispatcher, tenant=tenant
    )
    return json_response(sweep_view(sweep, records), 202 if stopping else 200)


@router.get(
    "/{sweep_id}/plots/{filename}",
    response_class=Response,
    summary="A figure of a sweep",
    description="`filename` is `NAME.png`, `NAME.svg` or `NAME.pdf` with NAME one of: "
    f"{', '.join(SWEEP_PLOT_NAMES)}. `gradient-profiles` overlays every child's step-0 "
    "profiles, one colour per group (the values that vary, depth aside); `ratio-vs-depth` "
    "draws log10 gradient ratio against depth, one line per group, beside the mean-field "
    "prediction; `phase-diagram`, for a grid over two fields (say `model.init_gain` x "
    "`model.depth`, or `model.activation` x `model.depth`), the measured log10 "
    "back-propagated ratio as a heatmap over the two axes with the theory's chi_1 = 1 "
    "line (any other grid: a figure saying so). Children still queued are left out. "
    "`scale=auto` zooms to the sweep's numbers. Cached, with an `ETag`, once every child "
    "is final.",
    responses=image_responses((404, DOC_404), (503, DOC_503)),
)
def sweep_plot(
    sweep_id: str,
    filename: str,
    store: StoreDep,
    settings: SettingsDep,
    request: Request,
    tenant: TenantDep,
    scale: ScaleQuery = "absolute",
) -> Response:
    name, fmt = figures.parse_filename(filename, SWEEP_PLOT_NAMES, "sweep")
    _, records = sweeps.load(store, sweep_id, tenant)
    return figures.sweep_figure(request, store, settings, sweep_id, records, name, fmt, scale)
