"""Creating and dispatching experiments, shared by every route that starts one.

``POST /v1/experiments``, a remedy and each child of a sweep all go through
:func:`create_and_dispatch`, so they meet the same limits and a record that
could not be queued never stays ``queued``.
"""

from __future__ import annotations

import contextlib
import json

from fastapi import Response

from api.dispatch import Dispatcher
from api.limits import check_limits
from api.schemas import experiment_view
from core.errors import StoreUnavailable
from core.settings import Settings
from core.spec import ExperimentSpec
from core.store import ExperimentRecord, Store

NOT_QUEUED = "could not be queued: the broker was unreachable"


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


def create_and_dispatch(
    spec: ExperimentSpec,
    *,
    store: Store,
    dispatcher: Dispatcher,
    settings: Settings,
    owner: str | None = None,
    meta: dict[str, str] | None = None,
) -> ExperimentRecord:
    """Check ``spec`` against the server's limits, store it ``queued`` and dispatch it."""
    check_limits(spec, settings)
    record = store.create(spec, owner=owner, meta=meta)
    dispatch(record.id, store, dispatcher)
    return record


def accepted(record: ExperimentRecord, settings: Settings) -> Response:
    """202 with the experiment, its ``Location`` and a ``Retry-After``."""
    headers = {
        "Location": f"/v1/experiments/{record.id}",
        "Retry-After": str(settings.retry_after_s),
    }
    body = json.dumps(experiment_view(record))
    return Response(body, status_code=202, media_type="application/json", headers=headers)
