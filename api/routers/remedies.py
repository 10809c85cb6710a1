"""``POST /v1/experiments/{id}/remedies/{k}``: try a diagnosis's remedy in one request."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from api.deps import DispatcherDep, OwnerDep, SettingsDep, StoreDep, TenantDep
from api.http import accepted
from api.openapi import DOC_422, DOC_429, DOC_503, json_example, problem_doc
from api.services import experiments
from api.views import experiment_view
from core.views import EXPERIMENT_EXAMPLE, ExperimentView

router = APIRouter(tags=["experiments"])


@router.post(
    "/v1/experiments/{experiment_id}/remedies/{k}",
    status_code=202,
    response_model=ExperimentView,
    summary="Run the k-th remedy of a finished experiment's diagnosis",
    description="Takes remedy `k` (counted from 0, in the order of `diagnosis.remedies` "
    "in `GET /v1/experiments/{id}`, best first), applies its `change` to the experiment's "
    "spec and submits the result as a new experiment, exactly like `POST /v1/experiments` "
    "(the same limits; the same seed, so before and after start from the same data and "
    "the same draws where the network's shape allows). The new spec's name ends in "
    "` +remedy k`. Answers 202 with the new experiment and its `Location`.",
    responses={
        202: json_example({**EXPERIMENT_EXAMPLE, "status": "queued"}),
        404: problem_doc(
            404,
            "Not found",
            "Experiment 0193... has 3 remedies (k = 0 .. 2); there is no remedy 5.",
            remedies=3,
        ),
        409: problem_doc(
            409,
            "Conflict",
            "Experiment 0193... is running and has no diagnosis yet; remedies come with the "
            "diagnosis once it has finished.",
        ),
        422: DOC_422,
        429: DOC_429,
        503: DOC_503,
    },
)
def apply(
    experiment_id: str,
    k: Annotated[int, Path(ge=0, description="Which remedy, counted from 0.")],
    store: StoreDep,
    dispatcher: DispatcherDep,
    settings: SettingsDep,
    tenant: TenantDep,
    owner: OwnerDep = None,
) -> Response:
    created = experiments.submit_remedy(
        experiment_id,
        k,
        store=store,
        dispatcher=dispatcher,
        settings=settings,
        owner=owner,
        tenant=tenant,
    )
    return accepted(
        experiment_view(created), f"/v1/experiments/{created.id}", settings.retry_after_s
    )
