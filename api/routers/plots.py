"""``GET /v1/experiments/{id}/plots/{name}.{png,svg}``: one experiment's figures."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from api.deps import SettingsDep, StoreDep
from api.render import (
    etag_for,
    experiment_plot_key,
    parse_filename,
    retention_s,
    serve,
)
from api.responses import DOC_503, image_responses, problem_doc
from core import plots, theory
from core.errors import Conflict
from core.plots import Format
from core.result import ResultDict, Theory
from core.store import ExperimentRecord, Store

router = APIRouter(tags=["plots"])

_NAMES = ", ".join(plots.PLOTS)


def load_result(store: Store, record: ExperimentRecord, retry_after_s: int) -> ResultDict:
    """The stored result, partial while running; Conflict when nothing is recorded yet."""
    result = store.load_result(record.id)
    if result is None:
        if record.final:
            why = f" ({record.error})" if record.error else ""
            raise Conflict(
                f"Experiment {record.id} is {record.status} and recorded nothing{why}: "
                f"there is nothing to plot."
            )
        raise Conflict(
            f"Experiment {record.id} is {record.status} and has recorded nothing yet; "
            f"try again in a few seconds.",
            retry_after=retry_after_s,
        )
    return result


def _theory_of(record: ExperimentRecord, result: ResultDict) -> Theory:
    # A partial result has no theory yet; the prediction needs only the spec.
    return result.get("theory") or theory.predict(record.spec)


@router.get(
    "/v1/experiments/{experiment_id}/plots/{filename}",
    response_class=Response,
    summary="A figure of one experiment",
    description=f"`filename` is `NAME.png` or `NAME.svg` with NAME one of: {_NAMES}. "
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
                plots=list(plots.PLOTS),
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
    experiment_id: str, filename: str, store: StoreDep, settings: SettingsDep, request: Request
) -> Response:
    name, fmt = parse_filename(filename, plots.PLOTS, "experiment")
    record = store.get(experiment_id)

    def render() -> bytes:
        result = load_result(store, record, settings.retry_after_s)
        return draw(record, result, name, fmt)

    if record.final and record.etag:
        return serve(
            request,
            store,
            fmt,
            render,
            key=experiment_plot_key(experiment_id, name, fmt),
            etag=etag_for("experiment", record.etag, name, fmt),
            ttl_s=retention_s([record], store),
        )
    return serve(request, store, fmt, render, key=None, etag=None, ttl_s=None)


def draw(record: ExperimentRecord, result: ResultDict, name: str, fmt: Format) -> bytes:
    predicted = _theory_of(record, result) if name == "gradient-profile" else None
    return plots.render(name, result, fmt, predicted)
