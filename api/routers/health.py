"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.deps import SettingsDep, StoreDep
from api.openapi import json_example
from api.problems import PROBLEM_JSON, problem
from core.errors import StoreUnavailable
from core.views import Liveness, Readiness

router = APIRouter(tags=["health"])


@router.get(
    "/healthz",
    summary="Liveness: the process answers (no dependencies checked)",
    response_model=Liveness,
    responses={200: json_example({"status": "ok"})},
)
async def healthz() -> Liveness:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Readiness: Redis answers and at least one worker has a fresh heartbeat",
    response_model=Readiness,
    responses={
        200: json_example({"status": "ready", "redis": "ok", "workers": 2}),
        503: {
            "content": {
                PROBLEM_JSON: {
                    "example": {
                        "type": "urn:gradatlas:problem:unavailable",
                        "title": "Not ready",
                        "status": 503,
                        "detail": "No worker has sent a heartbeat lately: start one with "
                        "`celery -A worker.celery_app worker`.",
                        "redis": "ok",
                        "workers": 0,
                    }
                }
            }
        },
    },
)
def readyz(store: StoreDep, settings: SettingsDep) -> Readiness | Response:
    headers = {"Retry-After": str(settings.retry_after_s)}
    try:
        store.ping()
        workers = len(store.alive_workers())
    except StoreUnavailable as e:
        return problem(503, "Not ready", str(e), headers=headers, redis="unreachable", workers=None)
    if workers == 0:
        return problem(
            503,
            "Not ready",
            "No worker has sent a heartbeat lately: start one with "
            "`celery -A worker.celery_app worker`.",
            headers=headers,
            redis="ok",
            workers=0,
        )
    return {"status": "ready", "redis": "ok", "workers": workers}


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {"example": "gradatlas_queue_depth 0.0\n"}}}},
)
def metrics(request: Request) -> Response:
    registry = request.app.state.metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
