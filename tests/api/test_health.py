"""Health, readiness, metrics, an unreachable Redis, and the OpenAPI document."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from core.settings import Settings
from core.store import Store, connect

SPEC = {"model": {"depth": 2, "width": 4, "activation": "relu"}, "training": {"epochs": 1}}


def test_healthz(client: TestClient) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}


def test_readyz_needs_a_worker_heartbeat(client: TestClient, store: Store) -> None:
    r = client.get("/readyz")
    assert r.status_code == 503
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["retry-after"]
    assert r.json()["redis"] == "ok"
    assert r.json()["workers"] == 0
    store.beat("celery@host", ttl_s=30)
    r = client.get("/readyz")
    assert r.status_code == 200
    assert r.json() == {"status": "ready", "redis": "ok", "workers": 1}


def test_metrics_count_requests_by_route_and_experiments_by_status(
    client: TestClient, store: Store
) -> None:
    exp = client.post("/v1/experiments", json=SPEC).json()
    client.get(f"/v1/experiments/{exp['id']}")
    client.get("/v1/experiments/unknown")
    text = client.get("/metrics").text
    assert (
        'gradatlas_http_requests_total{method="GET",route="/v1/experiments/{experiment_id}",'
        'status="200"} 1.0' in text
    )
    assert (
        'gradatlas_http_requests_total{method="GET",route="/v1/experiments/{experiment_id}",'
        'status="404"} 1.0' in text
    )
    assert (
        'gradatlas_http_requests_total{method="POST",route="/v1/experiments",status="202"}' in text
    )
    assert exp["id"] not in text  # ids never become label values
    assert 'gradatlas_experiments{status="queued"} 1.0' in text
    assert "gradatlas_queue_depth 1.0" in text
    assert "gradatlas_store_up 1.0" in text
    assert "gradatlas_http_request_duration_seconds_bucket" in text


@pytest.fixture
def down_client() -> Iterator[TestClient]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"redis://127.0.0.1:{port}/0"
    settings = Settings(redis_url=url, redis_socket_timeout_s=0.5)
    app = create_app(settings, store=Store(connect(url, socket_timeout_s=0.5)))
    with TestClient(app, base_url="http://localhost") as c:
        yield c


def test_an_unreachable_redis_is_503_with_retry_after(down_client: TestClient) -> None:
    for r in (
        down_client.post("/v1/experiments", json=SPEC),
        down_client.get("/v1/experiments"),
        down_client.get("/v1/experiments/0193a1f2c3d4a1b2c3d4e5f6"),  # well formed: needs Redis
        down_client.get("/readyz"),
    ):
        assert r.status_code == 503, r.text
        assert r.headers["content-type"] == "application/problem+json"
        assert r.headers["retry-after"] == "2"
        # Redis's address (host, port, password) is the operator's, not the client's.
        assert "127.0.0.1" not in r.text
        assert "Connection refused" not in r.text
    assert down_client.get("/healthz").status_code == 200
    assert "gradatlas_store_up 0.0" in down_client.get("/metrics").text


def test_openapi_has_an_example_for_every_body(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    missing = []
    mine = ("/v1/experiments", "/healthz", "/readyz", "/metrics")
    for path, ops in doc["paths"].items():
        if not path.startswith(mine):  # other features' routes have their own tests
            continue
        for method, op in ops.items():
            body = op.get("requestBody")
            if body:
                for media in body["content"].values():
                    if not (media.get("examples") or media.get("example")):
                        missing.append(f"{method} {path} request")
            for status, resp in op.get("responses", {}).items():
                for ctype, media in resp.get("content", {}).items():
                    if "json" not in ctype:  # images and metrics text: no JSON example to give
                        continue
                    schema_ref = media.get("schema", {}).get("$ref", "")
                    has_schema_example = bool(schema_ref) and bool(
                        doc["components"]["schemas"][schema_ref.split("/")[-1]].get("examples")
                    )
                    if not (media.get("example") or media.get("examples") or has_schema_example):
                        missing.append(f"{method} {path} {status} {ctype}")
    assert missing == []
