"""Live server-sent events of an experiment and of a sweep (format: api/services/events.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request
from sse_starlette import EventSourceResponse, ServerSentEvent

from api.deps import OwnedExperimentDep, StoreDep, TenantDep
from api.openapi import DOC_503, problem_doc
from api.services.events import Broadcaster, Event
from core.store import SweepRecord, SweepStore

router = APIRouter(tags=["events"])

EVENT_STREAM = "text/event-stream"
#: Milliseconds an EventSource waits before it reconnects after a dropped stream.
RETRY_MS = 1000
DOC_404 = problem_doc(404, "Not found", "No experiment '0193a1f2c3d4a1b2c3d4e5f6'.")
LastEventId = Annotated[
    str | None,
    Header(
        alias="Last-Event-ID",
        max_length=64,
        description="The id of the last event received: the stream resumes after it.",
    ),
]


async def get_broadcaster(request: Request) -> Broadcaster:
    hub: Broadcaster = request.app.state.events
    return hub


def load_sweep(sweep_id: str, store: StoreDep, tenant: TenantDep) -> SweepRecord:
    """The tenant's sweep, or 404 before any stream opens."""
    return SweepStore(store).get(sweep_id, tenant)


BroadcasterDep = Annotated[Broadcaster, Depends(get_broadcaster)]
SweepDep = Annotated[SweepRecord, Depends(load_sweep)]


def _stream(events: AsyncIterator[Event], hub: Broadcaster) -> EventSourceResponse:
    async def sse() -> AsyncIterator[ServerSentEvent]:
        first = True
        async for e in events:
            yield ServerSentEvent(
                data=e.data, event=e.name, id=e.id, retry=RETRY_MS if first else None
            )
            first = False

    return EventSourceResponse(sse(), ping=hub.keepalive_s, headers={"Cache-Control": "no-store"})


def _doc(what: str) -> dict[int | str, dict[str, object]]:
    return {
        200: {"content": {EVENT_STREAM: {"example": f"event: status\nid: 0.0\ndata: {what}\n\n"}}},
        404: DOC_404,
        503: DOC_503,
    }


@router.get(
    "/v1/experiments/{experiment_id}/events",
    response_class=EventSourceResponse,
    summary="Live events of an experiment (server-sent events)",
    description="`status`, `record` (each new row of `/stats`: `{index, step, stats}`), "
    "`metrics` (each new epoch of the curves), `progress`, and a final `end` carrying the "
    "experiment; then the stream closes. Event ids are `R.E` (records and epochs sent): "
    "reconnect with `Last-Event-ID` to resume without loss. Keep-alive comments every "
    "15 s.",
    responses=_doc('{"status":"running","error":null}'),
)
async def experiment_events(
    experiment: OwnedExperimentDep, hub: BroadcasterDep, last_event_id: LastEventId = None
) -> EventSourceResponse:
    return _stream(hub.experiment(experiment.id, last_event_id), hub)


@router.get(
    "/v1/sweeps/{sweep_id}/events",
    response_class=EventSourceResponse,
    summary="Live events of a sweep (server-sent events)",
    description="`status`, `child` (a row of the summary table when it changes), `progress` "
    "(`{progress, counts}`) and a final `end` carrying the sweep; then the stream closes. "
    "A reconnecting client is sent the whole state again.",
    responses=_doc('{"status":"running"}'),
)
async def sweep_events(sweep: SweepDep, hub: BroadcasterDep) -> EventSourceResponse:
    return _stream(hub.sweep(sweep.id), hub)
