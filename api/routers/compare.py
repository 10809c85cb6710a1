"""``GET /v1/compare/plots/gradient-profile.{png,svg}?ids=a,b,c``: profiles overlaid."""

from __future__ import annotations

from collections import Counter
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.exceptions import RequestValidationError

from api.deps import SettingsDep, StoreDep
from api.render import etag_for, parse_filename, retention_s, serve
from api.responses import DOC_422, DOC_503, image_responses, problem_doc
from api.routers.plots import load_result
from core import plots
from core.errors import NotFound
from core.result import ResultDict
from core.store import ExperimentRecord

router = APIRouter(tags=["plots"])

#: Most experiments one comparison overlays: beyond a dozen lines nobody can read it.
MAX_COMPARE = 12
COMPARE_PLOTS = ("gradient-profile",)


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


def labels(records: list[ExperimentRecord]) -> list[str]:
    """Each spec's name, with the id's tail where two share a name."""
    names = [r.spec.name for r in records]
    seen = Counter(names)
    return [n if seen[n] == 1 else f"{n} #{r.id[-6:]}" for n, r in zip(names, records, strict=True)]


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
        (
            409,
            problem_doc(
                409,
                "Conflict",
                "Experiment 0193... is queued and has recorded nothing yet; try again in a few "
                "seconds.",
            ),
        ),
        (422, DOC_422),
        (503, DOC_503),
    ),
)
def compare_plot(
    filename: str,
    store: StoreDep,
    settings: SettingsDep,
    request: Request,
    ids: Annotated[
        str,
        Query(
            max_length=2000,
            description=f"Experiment ids, comma-separated, at most {MAX_COMPARE}.",
            examples=["0193a1f2c3d4a1b2c3d4e5f6,0193a1f2c3d4a1b2c3d4e5f7"],
        ),
    ],
) -> Response:
    _, fmt = parse_filename(filename, COMPARE_PLOTS, "comparison")
    records = []
    for exp_id in parse_ids(ids):
        record = store.find(exp_id)
        if record is None:
            raise NotFound(
                f"No experiment {exp_id!r} (in ids): it never existed, expired or was deleted.",
                missing=exp_id,
            )
        records.append(record)

    def render_from(results: list[ResultDict]) -> bytes:
        return plots.render_compare(list(zip(labels(records), results, strict=True)), fmt)

    def load_all() -> list[ResultDict]:
        # In order, so that a 409 names the first one with nothing to show.
        return [load_result(store, r, settings.retry_after_s) for r in records]

    if all(r.final and r.etag for r in records):
        etag = etag_for("compare", fmt, *(f"{r.id}={r.etag}" for r in records))
        return serve(
            request,
            store,
            fmt,
            lambda: render_from(load_all()),
            key="compare:" + etag.strip('"'),
            etag=etag,
            ttl_s=retention_s(records, store),
        )
    results = load_all()
    return serve(request, store, fmt, lambda: render_from(results), key=None, etag=None, ttl_s=None)
