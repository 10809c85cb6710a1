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
from collections.abc import Callable, Iterable
from importlib import metadata

from fastapi import Request, Response

from core.errors import NotFound, StoreUnavailable
from core.plots import FORMATS, MEDIA_TYPES, PLOTS, Format
from core.store import ExperimentRecord, Store

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
    return name, "svg" if fmt == "svg" else "png"


def etag_for(*parts: str) -> str:
    """A strong, quoted ETag for a figure drawn from ``parts``."""
    digest = hashlib.sha256("\x00".join((VERSION, *parts)).encode()).hexdigest()
    return f'"{digest[:32]}"'


def _etags(request: Request) -> list[str]:
    header = request.headers.get("if-none-match", "")
    return [t.strip().removeprefix("W/") for t in header.split(",") if t.strip()]


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
    if etag in _etags(request):
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


def experiment_plot_key(experiment_id: str, name: str, fmt: str) -> str:
    return f"{experiment_id}:{name}.{fmt}:{VERSION}"


def forget_plots(store: Store, experiment_id: str) -> None:
    """Drop an experiment's cached figures (when it is deleted)."""
    for name in PLOTS:
        for fmt in FORMATS:
            store.delete_blob(NAMESPACE, experiment_plot_key(experiment_id, name, fmt))
