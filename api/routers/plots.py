"""``GET /v1/experiments/{id}/plots/{name}.{png,svg}``: one experiment's figures."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from api.deps import SettingsDep, StoreDep, TenantDep
from api.openapi import DOC_503, image_responses, problem_doc
from api.services import figures
from core.views import PLOT_NAMES

router = APIRouter(tags=["plots"])


@router.get(
    "/v1/experiments/{experiment_id}/plots/{filename}",
    response_class=Response,
    summary="A figure of one experiment",
    description=f"`filename` is `NAME.png` or `NAME.svg` with NAME one of: "
    f"{', '.join(PLOT_NAMES)}. "
    "`gradient-profile` draws log10 `grad_norm` and `backprop_norm` against layer with "
    "the mean-field prediction; `gradient-heatmap` layer x step; `training-curves` loss "
    "and accuracy per epoch; `activations` saturated and dead shares; `update-ratio` "
    "||dW||/||W|| against the 1e-3 guide. While the experiment runs, the figure shows what "
    "is recorded so far and is not cached; once it is final it never changes.",
    responses=image_responses(
        (
            404,
            problem_doc(
                404,
                "Not found",
                "No experiment plot 'gradient-profil.png'; there are: gradient-profile.{png,svg}, "
                "...",
                plots=list(PLOT_NAMES),
                formats=["png", "svg"],
            ),
        ),
        (
            409,
            problem_doc(
                409,
                "Conflict",
                "Experiment 0193... is queued and has recorded nothing yet; try again in a few "
                "seconds.",
            ),
        ),
        (503, DOC_503),
    ),
)
def experiment_plot(
    experiment_id: str,
    filename: str,
    store: StoreDep,
    settings: SettingsDep,
    request: Request,
    tenant: TenantDep,
) -> Response:
    return figures.experiment_figure(
        request, store, settings, experiment_id, filename, tenant=tenant
    )
