"""``GET /v1/compare/plots/gradient-profile.{png,svg}?ids=a,b,c``: profiles overlaid."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.exceptions import RequestValidationError

from api.deps import SettingsDep, StoreDep, TenantDep
from api.openapi import DOC_422, DOC_503, DOC_NOTHING_RECORDED, image_responses, problem_doc
from api.services import figures
from core.views import COMPARE_PLOT_NAMES

router = APIRouter(tags=["plots"])

#: Most experiments one comparison overlays: beyond a dozen lines nobody can read it.
MAX_COMPARE = 12


def parse_ids(ids: str) -> list[str]:
    """Comma-separated ids, in order, repeats dropped; a 422 naming ``ids`` otherwise."""
    out = list(dict.fromkeys(i.strip() for i in ids.split(",") if i.strip()))
    problem = None
    if not out:
        problem = "give at least one experiment id, e.g. ids=ID1,ID2"
    elif len(out) > MAX_COMPARE:
        problem = f"at most {MAX_COMPARE} experiments can be compared; got {len(out)}"
    if problem:
        raise RequestValidationError(
            [{"loc": ("query", "ids"), "msg": problem, "type": "value_error", "input": ids}]
        )
    return out


@router.get(
    "/v1/compare/plots/{filename}",
    response_class=Response,
    summary="Several experiments' gradient profiles overlaid",
    description="`filename` is `gradient-profile.png` or `gradient-profile.svg`. Draws the "
    "step-0 profiles (log10 `grad_norm` and `backprop_norm` against layer) of the "
    f"experiments in `ids`, in order, one labelled line each; at most {MAX_COMPARE}. "
    "Cached, with an `ETag`, once every one of them is final.",
    responses=image_responses(
        (
            404,
            problem_doc(404, "Not found", "No experiment '0193a1f2c3d4a1b2c3d4e5f6' (in ids)."),
        ),
        (409, DOC_NOTHING_RECORDED),
        (422, DOC_422),
        (503, DOC_503),
    ),
)
def compare_plot(
    filename: str,
    store: StoreDep,
    settings: SettingsDep,
    request: Request,
    tenant: TenantDep,
    ids: Annotated[
        str,
        Query(
            max_length=2000,
            description=f"Experiment ids, comma-separated, at most {MAX_COMPARE}.",
            examples=["0193a1f2c3d4a1b2c3d4e5f6,0193a1f2c3d4a1b2c3d4e5f7"],
        ),
    ],
) -> Response:
    _, fmt = figures.parse_filename(filename, COMPARE_PLOT_NAMES, "comparison")
    return figures.compare_figure(request, store, settings, parse_ids(ids), fmt, tenant=tenant)
