"""Sweeps: a grid of ordinary experiments, started, read and cancelled together."""

from __future__ import annotations

import contextlib
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from api.dispatch import Dispatcher
from api.limits import check_limits
from api.services.experiments import NOT_QUEUED, dispatch
from core.errors import Conflict, NotFound, StoreUnavailable
from core.settings import Settings
from core.store import ExperimentRecord, Store, SweepPage, SweepRecord, SweepStore
from core.sweep import SweepChild, check_children, expand
from core.views import SWEEP_EXAMPLE

REQUEST_EXAMPLE: dict[str, Any] = {k: SWEEP_EXAMPLE[k] for k in ("name", "base", "grid")}


class SweepRequest(BaseModel):
    """A base spec and a grid of values; one experiment per combination."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [REQUEST_EXAMPLE]})

    name: str = Field(
        default="sweep",
        min_length=1,
        max_length=120,
        description="The sweep's name; each child is named after it and its values.",
    )
    base: dict[str, Any] = Field(
        default_factory=dict,
        description="An experiment spec (docs/contract.md § Spec) shared by every child; it "
        "may leave out the fields the grid sets (model.depth, model.activation).",
    )
    grid: dict[str, list[Any]] = Field(
        description="Dotted spec paths to the values each takes; the children are every "
        "combination, the last path varying fastest.",
    )


def children_of(request: SweepRequest, settings: Settings) -> list[SweepChild]:
    """Every child spec, valid and within the server's limits, or one 422 naming them."""
    # A SpecError from expand() reaches the problem handler, which names each field.
    children = expand(
        request.base, request.grid, max_children=settings.max_sweep_children, name=request.name
    )
    check_children(children, lambda spec: check_limits(spec, settings))
    return children


def _dispatch_all(store: Store, dispatcher: Dispatcher, records: list[ExperimentRecord]) -> None:
    """Send every child; if the broker fails, fail the rest and cancel those sent."""
    for k, record in enumerate(records):
        try:
            dispatch(record.id, store, dispatcher)
        except StoreUnavailable:
            with contextlib.suppress(StoreUnavailable):
                for sent in records[:k]:
                    with contextlib.suppress(Conflict, NotFound):
                        if store.request_cancel(sent.id) == "cancelled":
                            dispatcher.revoke(sent.id)
                for unsent in records[k + 1 :]:
                    store.finish(
                        unsent.id,
                        "failed",
                        attempt=None,
                        allowed_from=("queued",),
                        error=NOT_QUEUED,
                    )
            raise


def submit(
    request: SweepRequest,
    *,
    store: Store,
    dispatcher: Dispatcher,
    settings: Settings,
    owner: str | None = None,
) -> tuple[SweepRecord, list[ExperimentRecord]]:
    """Store one ``queued`` experiment per child and the sweep over them; dispatch each."""
    children = children_of(request, settings)
    sweeps = SweepStore(store)
    sweep_id = sweeps.new_id()
    meta = {"sweep": sweep_id}
    records = [store.create(c.spec, owner=owner, meta=meta) for c in children]
    sweep = sweeps.create(
        sweep_id,
        name=request.name,
        base=request.base,
        grid=request.grid,
        children=[(r.id, c.params) for r, c in zip(records, children, strict=True)],
        owner=owner,
    )
    _dispatch_all(store, dispatcher, records)
    return sweep, records


def load(store: Store, sweep_id: str) -> tuple[SweepRecord, list[ExperimentRecord | None]]:
    """A sweep and its children's records (None for one that has expired)."""
    sweeps = SweepStore(store)
    sweep = sweeps.get(sweep_id)
    records = sweeps.children(sweep)
    sweeps.keep(sweep, records)
    return sweep, records


def list_page(
    store: Store, *, limit: int, cursor: str | None
) -> tuple[SweepPage, list[list[ExperimentRecord | None]]]:
    """A page of sweeps, newest first, with each one's children's records."""
    sweeps = SweepStore(store)
    page = sweeps.list_sweeps(limit=limit, cursor=cursor)
    return page, [sweeps.children(s) for s in page.items]


def cancel(
    sweep_id: str, *, store: Store, dispatcher: Dispatcher
) -> tuple[SweepRecord, list[ExperimentRecord | None], bool]:
    """Cancel every child still queued or running; finished ones are kept.

    Returns the sweep, its children's records after the request, and whether
    any child is still stopping.
    """
    sweep, records = load(store, sweep_id)
    stopping = False
    revoked: list[str] = []
    # Every record first and the revokes after: a revoke is a broadcast (tens of ms), and
    # a running child that stops meanwhile would free a worker to claim a queued sibling.
    # Queued children first, for the same reason.
    live = [r for r in records if r is not None and not r.final]
    for record in sorted(live, key=lambda r: r.status != "queued"):
        try:
            outcome = store.request_cancel(record.id)
        except (Conflict, NotFound):  # it finished, or went, meanwhile
            continue
        if outcome == "cancelled":
            revoked.append(record.id)
        else:
            stopping = True
    for exp_id in revoked:
        dispatcher.revoke(exp_id)
    return sweep, SweepStore(store).children(sweep), stopping
