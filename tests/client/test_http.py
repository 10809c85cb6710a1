"""The HTTP client against the real API served by uvicorn (in a thread) and a real Redis."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from service_procs import free_port, wait_until

from gradatlas.api.app import create_app
from gradatlas.client.http import ApiError, GradatlasClient
from gradatlas.core.settings import Settings
from gradatlas.core.spec import ExperimentSpec
from gradatlas.core.store import Store
from gradatlas.worker.runner import ExperimentRunner

SPEC = ExperimentSpec.model_validate(
    {
        "model": {"depth": 2, "width": 8, "activation": "relu"},
        "data": {"dataset": "xor", "n_samples": 120},
        "training": {"epochs": 2},
    }
)


@pytest.fixture
def settings(store: Store, redis_server: Any) -> Settings:
    return Settings(
        redis_url=redis_server.url, key_prefix=store.prefix, queue=f"q-{uuid.uuid4().hex[:8]}"
    )


@pytest.fixture
def base_url(settings: Settings, store: Store) -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, store=store), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started, timeout=20, what="uvicorn to start")
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def api(base_url: str) -> Iterator[GradatlasClient]:
    with GradatlasClient(base_url, owner="tests", timeout=10) as client:
        yield client


def test_submit_wait_and_read_stats(api: GradatlasClient, store: Store, settings: Settings) -> None:
    exp = api.submit(SPEC)
    assert exp["status"] == "queued"
    assert exp["owner"] == "tests"
    ExperimentRunner(store, settings).run(exp["id"])  # what a worker does
    seen: list[str] = []
    done = api.wait(
        exp["id"], timeout=10, poll_s=0.05, on_progress=lambda e: seen.append(e["status"])
    )
    assert done["status"] == "succeeded"
    assert seen[-1] == "succeeded"
    assert api.stats(exp["id"]) == store.load_result(exp["id"])


def test_a_bad_spec_raises_with_the_fields(api: GradatlasClient) -> None:
    with pytest.raises(ApiError) as info:
        api.submit({"model": {"depth": 2, "activation": "nope"}})
    assert info.value.status == 422
    assert [e["field"] for e in info.value.errors] == ["model.activation"]
    assert "model.activation" in str(info.value)


def test_not_found_and_conflicts_raise(api: GradatlasClient) -> None:
    with pytest.raises(ApiError) as info:
        api.get("does-not-exist")
    assert info.value.status == 404
    exp = api.submit(SPEC)
    with pytest.raises(ApiError) as info:
        api.delete(exp["id"])
    assert info.value.status == 409
    assert api.cancel(exp["id"])["status"] == "cancelled"
    api.delete(exp["id"])
    with pytest.raises(ApiError):
        api.get(exp["id"])


def test_iterate_across_pages(api: GradatlasClient) -> None:
    ids = [api.submit(SPEC)["id"] for _ in range(5)]
    assert [e["id"] for e in api.iter_experiments(page_size=2)] == ids[::-1]
    assert [e["id"] for e in api.iter_experiments(status="running")] == []


def test_wait_times_out(api: GradatlasClient) -> None:
    exp = api.submit(SPEC)
    with pytest.raises(TimeoutError, match="still queued"):
        api.wait(exp["id"], timeout=0.2, poll_s=0.05)


def test_health_checks(api: GradatlasClient, store: Store) -> None:
    assert api.healthy()
    assert not api.ready()  # no worker heartbeat yet
    store.beat("w", ttl_s=30)
    assert api.ready()
    with GradatlasClient(f"http://127.0.0.1:{free_port()}", timeout=1) as nobody:
        assert not nobody.healthy()
        assert not nobody.ready()
