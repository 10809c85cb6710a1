"""Serving figures: render off the event loop, cache what can no longer change, ETag/304.

A figure of final data is rendered once and its bytes kept in the store
(``Store.put_blob``) for as long as the data it shows; its ETag is a hash of
what it was drawn from (the result's etag, the plot's name and format, this
code's version), so a repeat with ``If-None-Match`` is answered 304 without
reading the blob. A figure of a running experiment is rendered on every
request and never cached. Every image carries ``nosniff`` and a CSP that lets
an SVG run nothing if it is opened as a document.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from importlib import metadata
from typing import Any, TypeVar, cast

from fastapi import Request, Response

from api.http import if_none_match
from core import plots, theory
from core.errors import Conflict, NotFound, StoreUnavailable
from core.plots import FORMATS, MEDIA_TYPES, SCALES, Format, Scale, captions
from core.plots.captions import Caption
from core.result import ResultDict
from core.settings import Settings
from core.store import ExperimentRecord, Store, SweepRecord, is_id, owns
from core.views import (
    PLOT_FORMATS,
    PLOT_NAMES,
    SWEEP_PLOT_NAMES,
    PlotInfo,
    PlotList,
    SweepPlotInfo,
    SweepPlotList,
)

try:
    #: Part of every cache key and ETag: a release that draws differently re-renders.
    VERSION = metadata.version("gradatlas")
except metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
    VERSION = "0"

#: Store namespace of cached figures.
NAMESPACE = "plot"
IMAGE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
}
#: For a figure that can no longer change (its ETag still guards against a deleted one).
CACHE_FINAL = "public, max-age=86400"
CACHE_PARTIAL = "no-store"
#: Cached derivative plots depend only on the query: keep them a day.
DERIVATIVES_TTL_S = 24 * 3600
#: Renders at once: matplotlib is CPU- and memory-hungry, and the threadpool is 40 wide.
_slots = threading.BoundedSemaphore(max(1, os.cpu_count() or 1))


def parse_filename(filename: str, names: Iterable[str], what: str) -> tuple[str, Format]:
    """``"gradient-profile.svg"`` -> ``("gradient-profile", "svg")``; NotFound naming the
    valid names and formats otherwise."""
    valid = list(names)
    name, dot, fmt = filename.rpartition(".")
    if not dot or name not in valid or fmt not in FORMATS:
        choices = ", ".join(f"{n}.{{{','.join(FORMATS)}}}" for n in valid)
        raise NotFound(
            f"No {what} plot {filename!r}; there are: {choices}",
            plots=valid,
            formats=list(FORMATS),
        )
    return name, cast(Format, fmt)


def etag_for(*parts: str) -> str:
    """A strong, quoted ETag for a figure drawn from ``parts``."""
    digest = hashlib.sha256("\x00".join((VERSION, *parts)).encode()).hexdigest()
    return f'"{digest[:32]}"'


def rendered(render: Callable[[], bytes]) -> bytes:
    """Run ``render`` (CPU work: call from a sync route's worker thread, never ``async``)."""
    with _slots:
        return render()


def image(body: bytes, fmt: Format, *, etag: str | None, cache: str) -> Response:
    headers = {**IMAGE_HEADERS, "Cache-Control": cache}
    if etag:
        headers["ETag"] = etag
    return Response(body, media_type=MEDIA_TYPES[fmt], headers=headers)


def serve(
    request: Request,
    store: Store,
    fmt: Format,
    render: Callable[[], bytes],
    *,
    key: str | None,
    etag: str | None,
    ttl_s: int | None,
) -> Response:
    """Serve a figure: with ``key`` and ``etag`` it is final (304, or the cached bytes, or
    rendered once and cached under ``key`` for ``ttl_s``); without them rendered afresh."""
    if key is None or etag is None:
        return image(rendered(render), fmt, etag=None, cache=CACHE_PARTIAL)
    if etag in if_none_match(request):
        return Response(status_code=304, headers={"ETag": etag, "Cache-Control": CACHE_FINAL})
    body = store.get_blob(NAMESPACE, key)
    if body is None:
        body = rendered(render)
        # Caching is an optimisation: a figure already drawn is worth sending anyway.
        with contextlib.suppress(StoreUnavailable):
            store.put_blob(NAMESPACE, key, body, ttl_s=ttl_s)
    return image(body, fmt, etag=etag, cache=CACHE_FINAL)


def retention_s(records: Iterable[ExperimentRecord], store: Store) -> int:
    """Seconds the first of ``records`` to expire still has (final records only)."""
    now = time.time()
    left = [(r.finished_at or now) + store.result_ttl_s - now for r in records]
    return max(60, int(min(left, default=store.result_ttl_s)))


def experiment_plot_key(experiment_id: str, name: str, fmt: str, scale: Scale = "absolute") -> str:
    return f"{experiment_id}:{name}.{fmt}:{scale}:{VERSION}"


def forget_plots(store: Store, experiment_id: str) -> None:
    """Drop an experiment's cached figures (when it is deleted)."""
    for name in PLOT_NAMES:
        for fmt in FORMATS:
            for scale in SCALES:
                key = experiment_plot_key(experiment_id, name, fmt, cast(Scale, scale))
                store.delete_blob(NAMESPACE, key)


_Name = TypeVar("_Name", bound=str)


def _figures(
    base: str, names: Sequence[_Name], table: Mapping[_Name, Caption]
) -> list[dict[str, Any]]:
    """Each figure under ``base`` with its title, caption and one URL per format: the
    items of a ``PlotList`` or a ``SweepPlotList``."""
    return [
        {
            "name": name,
            "title": table[name].title,
            "caption": table[name].caption,
            "urls": {fmt: f"{base}/{name}.{fmt}" for fmt in PLOT_FORMATS},
        }
        for name in names
    ]


def plot_list(record: ExperimentRecord) -> PlotList:
    """``GET /v1/experiments/{id}/plots``: every figure with its caption and URLs."""
    base = f"/v1/experiments/{record.id}/plots"
    plots = cast(list[PlotInfo], _figures(base, PLOT_NAMES, captions.EXPERIMENT))
    return {"experiment_id": record.id, "plots": plots}


def sweep_plot_list(sweep: SweepRecord) -> SweepPlotList:
    """``GET /v1/sweeps/{id}/plots``: every figure of the sweep with its caption and URLs."""
    base = f"/v1/sweeps/{sweep.id}/plots"
    plots = cast(list[SweepPlotInfo], _figures(base, SWEEP_PLOT_NAMES, captions.SWEEP))
    return {"sweep_id": sweep.id, "plots": plots}


def load_result(store: Store, record: ExperimentRecord, retry_after_s: int) -> ResultDict:
    """The stored result, partial while running; Conflict when nothing is recorded yet."""
    result = store.load_result(record.id)  # ownership checked by the caller
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


#: The figures that draw the theory (the profile's line, the activation's largest phi').
THEORY_PLOTS = frozenset({"gradient-profile", "activations"})


def draw(
    record: ExperimentRecord,
    result: ResultDict,
    name: str,
    fmt: Format,
    scale: Scale = "absolute",
) -> bytes:
    """The experiment plot ``name``; the gradient profile beside its mean-field prediction."""
    predicted = None
    if name in THEORY_PLOTS:
        # A partial result has no theory yet; the prediction needs only the spec.
        predicted = result.get("theory") or theory.predict(record.spec)
    return plots.render(name, result, fmt, predicted, scale)


def experiment_figure(
    request: Request,
    store: Store,
    settings: Settings,
    experiment_id: str,
    filename: str,
    scale: Scale = "absolute",
    *,
    tenant: str | None = None,
) -> Response:
    """``GET /v1/experiments/{id}/plots/{filename}?scale=``, of ``tenant``'s experiment."""
    name, fmt = parse_filename(filename, PLOT_NAMES, "experiment")
    record = store.get_owned(experiment_id, tenant)

    def render() -> bytes:
        return draw(record, load_result(store, record, settings.retry_after_s), name, fmt, scale)

    if record.final and record.etag:
        return serve(
            request,
            store,
            fmt,
            render,
            key=experiment_plot_key(experiment_id, name, fmt, scale),
            etag=etag_for("experiment", record.etag, name, fmt, scale),
            ttl_s=retention_s([record], store),
        )
    return serve(request, store, fmt, render, key=None, etag=None, ttl_s=None)


def labels(records: Sequence[ExperimentRecord]) -> list[str]:
    """Each spec's name, with the id's tail where two share a name."""
    names = [r.spec.name for r in records]
    seen = Counter(names)
    return [n if seen[n] == 1 else f"{n} #{r.id[-6:]}" for n, r in zip(names, records, strict=True)]


def compare_figure(
    request: Request,
    store: Store,
    settings: Settings,
    ids: Sequence[str],
    fmt: Format,
    *,
    tenant: str | None = None,
) -> Response:
    """``GET /v1/compare/plots/gradient-profile.{fmt}?ids=...``: ``ids`` (``tenant``'s), in
    order."""
    records = []
    for exp_id in ids:
        record = store.find(exp_id) if is_id(exp_id) else None
        if record is None or not owns(record.tenant, tenant):
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


def sweep_figure(
    request: Request,
    store: Store,
    settings: Settings,
    sweep_id: str,
    records: Sequence[ExperimentRecord | None],
    name: str,
    fmt: Format,
    scale: Scale = "absolute",
) -> Response:
    """``GET /v1/sweeps/{id}/plots/{name}.{fmt}?scale=`` over the sweep's child ``records``."""
    present = [r for r in records if r is not None]

    def render() -> bytes:
        children: list[plots.SweepRun] = []
        for r in present:
            result = None
            with contextlib.suppress(Conflict, NotFound):
                result = load_result(store, r, settings.retry_after_s)
            children.append((r.spec, result))
        return plots.render_sweep(name, children, fmt, scale)

    if all(r.final for r in present):
        etag = etag_for(
            "sweep",
            sweep_id,
            name,
            fmt,
            scale,
            *(f"{r.id}={r.etag or r.status}" for r in present),
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


def derivatives_figure(
    request: Request,
    store: Store,
    fmt: Format,
    names: Sequence[str],
    x_range: tuple[float, float],
    negative_slope: float,
) -> Response:
    """``GET /v1/activations/plots/derivatives.{png,svg}``: cached by its arguments."""
    x_min, x_max = x_range
    etag = etag_for(
        "derivatives", ",".join(names), repr(x_min), repr(x_max), repr(negative_slope), fmt
    )
    return serve(
        request,
        store,
        fmt,
        lambda: plots.render_derivatives(names, fmt, x_range, negative_slope),
        key="derivatives:" + etag.strip('"'),
        etag=etag,
        ttl_s=DERIVATIVES_TTL_S,
    )
