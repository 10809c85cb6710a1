"""``GET /v1/experiments/{id}/plots``: one experiment's figures, listed with their captions
and each as ``{name}.{png,svg,pdf}``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from api.deps import OwnedExperimentDep, SettingsDep, StoreDep, TenantDep
from api.http import json_response
from api.openapi import DOC_503, DOC_NOTHING_RECORDED, image_responses, problem_doc
from api.services import figures
from core.views import PLOT_FORMATS, PLOT_NAMES, PlotList, PlotScale

router = APIRouter(tags=["plots"])

#: ``?scale=``, shared by the experiment and sweep figures.
ScaleQuery = Annotated[
    PlotScale,
    Query(
        description="`absolute` (default): fixed ranges, so two runs compare side by side; "
        "`auto`: zoomed to this run's numbers."
    ),
]
DOC_404 = problem_doc(
    404, "Not found", "No experiment '0193a1f2c3d4a1b2c3d4e5f6': it never existed, expired..."
)


@router.get(
    "/v1/experiments/{experiment_id}/plots",
    response_model=PlotList,
    summary="The figures of one experiment, with what each shows and how to read it",
    description="One entry per figure: `name`, `title`, a one-paragraph `caption` (the "
    "same text is the SVG's `<desc>`) and `urls`, the figure in each format "
    f"({', '.join(PLOT_FORMATS)}). Add `?scale=auto` to a URL to zoom to the run.",
    responses={404: DOC_404, 503: DOC_503},
)
def list_plots(record: OwnedExperimentDep) -> Response:
    return json_response(figures.plot_list(record))


@router.get(
    "/v1/experiments/{experiment_id}/plots/{filename}",
    response_class=Response,
    summary="A figure of one experiment",
    description=f"`filename` is `NAME.png`, `NAME.svg` or `NAME.pdf` with NAME one of: "
    f"{', '.join(PLOT_NAMES)}. "
    "`gradient-profile` draws log10 `grad_norm` and `backprop_norm` against layer with "
    "the mean-field prediction; `gradient-heatmap` layer x step in decades relative to the "
    "last hidden layer; `training-curves` loss and accuracy per epoch; `activations` the "
    "RMS of phi', saturated and dead shares; `update-ratio` ||dW||/||W|| against the 1e-3 "
    "band; `gradient-histograms` the recorded log10 |dL/dW| histograms as ridges. "
    "`GET .../plots` gives each one's caption. Scales are absolute (comparable between "
    "runs) unless `scale=auto`. While the experiment runs, the figure shows what is "
    "recorded so far and is not cached; once it is final it never changes.",
    responses=image_responses(
        (
            404,
            problem_doc(
                404,
                "Not found",
                "No experiment plot 'gradient-profil.png'; there are: gradient-profile.{png,svg}, "
                "...",
                plots=list(PLOT_NAMES),
                formats=list(PLOT_FORMATS),
            ),
        ),
        (409, DOC_NOTHING_RECORDED),
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
    scale: ScaleQuery = "absolute",
) -> Response:
    return figures.experiment_figure(
        request, store, settings, experiment_id, filename, scale, tenant=tenant
    )
