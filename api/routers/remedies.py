"""``POST /v1/experiments/{id}/remedies/{k}``: try a diagnosis's remedy in one request."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from api.deps import DispatcherDep, OwnerDep, SettingsDep, StoreDep
from api.responses import DOC_422, DOC_503, problem_doc
from api.schemas import VIEW_EXAMPLE, ExperimentView
from api.submit import accepted, create_and_dispatch
from core.diagnosis import apply_remedy
from core.errors import Conflict, NotFound, SpecError

router = APIRouter(tags=["experiments"])

#: Room kept in a remedied spec's name for its suffix (names are at most 200 characters).
_NAME_ROOM = 200 - len(" +remedy 99")


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
        202: {"content": {"application/json": {"example": {**VIEW_EXAMPLE, "status": "queued"}}}},
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
        503: DOC_503,
    },
)
def apply(
    experiment_id: str,
    k: Annotated[int, Path(ge=0, description="Which remedy, counted from 0.")],
    store: StoreDep,
    dispatcher: DispatcherDep,
    settings: SettingsDep,
    owner: OwnerDep = None,
) -> Response:
    record = store.get(experiment_id)
    if record.diagnosis is None:
        state = "has no diagnosis" if record.final else "has no diagnosis yet"
        raise Conflict(
            f"Experiment {experiment_id} is {record.status} and {state}; remedies come with "
            f"the diagnosis of a finished run.",
            **({} if record.final else {"retry_after": settings.retry_after_s}),
        )
    remedies = list(record.diagnosis.get("remedies") or [])
    if k >= len(remedies):
        n = len(remedies)
        have = f"has {n} remed{'y' if n == 1 else 'ies'} (k = 0 .. {n - 1})" if n else "has none"
        raise NotFound(f"Experiment {experiment_id} {have}; there is no remedy {k}.", remedies=n)
    remedy = remedies[k]
    try:
        spec = apply_remedy(record.spec, remedy)
    except SpecError as exc:
        raise SpecError(
            f"Remedy {k} of experiment {experiment_id} gives an invalid spec: {exc.detail}",
            exc.errors,
        ) from exc
    spec = spec.model_copy(update={"name": f"{record.spec.name[:_NAME_ROOM]} +remedy {k}"})
    created = create_and_dispatch(
        spec,
        store=store,
        dispatcher=dispatcher,
        settings=settings,
        owner=owner or record.owner,
        meta={"derived_from": experiment_id, "remedy": str(k)},
    )
    return accepted(created, settings)
