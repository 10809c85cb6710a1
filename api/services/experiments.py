"""Starting, stopping and forgetting experiments.

``POST /v1/experiments``, a remedy and each child of a sweep all go through
:func:`submit`, so they meet the same limits and a record that could not be
queued never stays ``queued``.
"""

from __future__ import annotations

import contextlib

from api.cache import ViewCache
from api.dispatch import Dispatcher
from api.limits import check_limits
from api.services.figures import forget_plots
from core.diagnosis import apply_remedy
from core.errors import Conflict, NotFound, SpecError, StoreUnavailable
from core.settings import Settings
from core.spec import ExperimentSpec
from core.store import ExperimentRecord, Store

NOT_QUEUED = "could not be queued: the broker was unreachable"
#: Room kept in a remedied spec's name for its suffix (names are at most 200 characters).
_NAME_ROOM = 200 - len(" +remedy 99")


def dispatch(record_id: str, store: Store, dispatcher: Dispatcher) -> None:
    """Send a stored ``queued`` experiment to the workers; mark it failed if that fails."""
    try:
        dispatcher.send(record_id)
    except StoreUnavailable:
        # Never leave a record that no task will ever run.
        with contextlib.suppress(StoreUnavailable):
            store.finish(
                record_id, "failed", attempt=None, allowed_from=("queued",), error=NOT_QUEUED
            )
        raise


def submit(
    spec: ExperimentSpec,
    *,
    store: Store,
    dispatcher: Dispatcher,
    settings: Settings,
    owner: str | None = None,
    meta: dict[str, str] | None = None,
    tenant: str | None = None,
) -> ExperimentRecord:
    """Check ``spec`` against the server's limits, store it ``queued`` as ``tenant``'s
    (within its quota of active experiments) and dispatch it."""
    check_limits(spec, settings)
    record = store.create(
        spec,
        owner=owner or tenant,
        meta=meta,
        tenant=tenant,
        max_active=settings.max_active_per_tenant,
    )
    dispatch(record.id, store, dispatcher)
    return record


def submit_remedy(
    experiment_id: str,
    k: int,
    *,
    store: Store,
    dispatcher: Dispatcher,
    settings: Settings,
    owner: str | None = None,
    tenant: str | None = None,
) -> ExperimentRecord:
    """Submit the spec of ``experiment_id`` (``tenant``'s) with its diagnosis's remedy ``k``
    applied."""
    record = store.get_owned(experiment_id, tenant)
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
    try:
        spec = apply_remedy(record.spec, remedies[k])
    except SpecError as exc:
        raise SpecError(
            f"Remedy {k} of experiment {experiment_id} gives an invalid spec: {exc.detail}",
            exc.errors,
        ) from exc
    spec = spec.model_copy(update={"name": f"{record.spec.name[:_NAME_ROOM]} +remedy {k}"})
    return submit(
        spec,
        store=store,
        dispatcher=dispatcher,
        settings=settings,
        owner=owner or record.owner,
        meta={"derived_from": experiment_id, "remedy": str(k)},
        tenant=tenant,
    )


def cancel(
    experiment_id: str, *, store: Store, dispatcher: Dispatcher, cache: ViewCache
) -> tuple[ExperimentRecord, bool]:
    """Cancel a queued experiment at once, or ask a running one to stop.

    Returns the record after the request and whether it is already ``cancelled``
    (else it stops after its current step).
    """
    outcome = store.request_cancel(experiment_id)
    cache.drop(experiment_id)
    if outcome == "cancelled":
        dispatcher.revoke(experiment_id)
    return store.get(experiment_id), outcome == "cancelled"


def delete(experiment_id: str, *, store: Store, cache: ViewCache) -> None:
    """Forget a finished experiment, its result and its cached figures."""
    store.delete(experiment_id)
    cache.drop(experiment_id)
    forget_plots(store, experiment_id)
