"""Sweeps: a grid of ordinary experiments, started, read and cancelled together."""

from __future__ import annotations

import contextlib
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from api.dispatch import Dispatcher
from api.limits import check_limits
from api.services.experiments import NOT_QUEUED, dispatch
from core.errors import Conflict, NotFound, StoreUnavailable, Throttled
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
    tenant: str | None = None,
) -> tuple[SweepRecord, list[ExperimentRecord]]:
    """Store one ``queued`` experiment per child and the sweep over them, as ``tenant``'s;
    dispatch each. All or none: 429 if the children do not fit the tenant's quota."""
    children = children_of(request, settings)
    limit = settings.max_active_per_tenant
    active = store.active(tenant)
    if active + len(children) > limit:
        raise Throttled(
            f"This sweep's {len(children)} experiments and the {active} already queued or "
            f"running exceed the {limit} allowed (GRADATLAS_MAX_ACTIVE_PER_TENANT); wait for "
            f"some to finish, or sweep a smaller grid.",
            active=active,
            limit=limit,
        )
    sweeps = SweepStore(store)
    sweep_id = sweeps.new_id()
    meta = {"sweep": sweep_id}
    owner = owner or tenant
    records: list[ExperimentRecord] = []
    try:
        for c in children:
            records.append(
                store.create(c.spec, owner=owner, meta=meta, tenant=tenant, max_active=limit)
            )
    except Throttled:  # another submission took the room meanwhile: undo ours
        for made in records:
            with contextlib.suppress(Conflict, NotFound, StoreUnavailable):
                store.request_cancel(made.id)
        raise
    sweep = sweeps.create(
        sweep_id,
        name=request.name,
        base=request.base,
        grid=request.grid,
        children=[(r.id, c.params) for r, c in zip(records, children, strict=True)],
        owner=owner,
        tenant=tenant,
    )
    _dispatch_all(store, dispatcher, records)
    return sweep, records


def load(
    store: Store, sweep_id: str, tenant: str | None = None
) -> tuple[SweepRecord, list[ExperimentRecord | None]]:
    """A sweep of ``tenant``'s and its children's records (None for one that has expired)."""
    sweeps = SweepStore(store)
    sweep = sweeps.get(sweep_id, tenant)
    records = sweeps.children(sweep)
    sweeps.keep(sweep, records)
    return sweep, records


def list_page(
    store: Store, *, limit: int, cursor: str | None, tenant: str | None = None
) -> tuple[SweepPage, list[list[ExperimentRecord | None]]]:
    """A page of ``tenant``'s sweeps, newest first, with each one's children's records."""
    sweeps = SweepStore(store)
    page = sweeps.list_sweeps(limit=limit, cursor=cursor, tenant=tenant)
    return page, [sweeps.children(s) for s in page.items]


def cancel(
    sweep_id: str, *, store: Store, dispatcher: Dispatcher, tenant: str | None = None
) -> tuple[SweepRecord, list[ExperimentRecord | None], bool]:
    """Cancel every child still queued or running; finished ones are kept.

    Returns the sweep, its children's records after the request, and whether
    any child is still stopping.
    """
    sweep, records = load(store, sweep_id, tenant)
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
