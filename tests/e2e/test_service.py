"""The whole service, nothing mocked: redis-server, a Celery worker process, uvicorn.

Each process runs the command docker-compose.yml gives it. The worker runs
with short time limits and visibility timeout so that a killed worker's task is
re-delivered within seconds. Tests run in file order and share one service; the
last one stops and restarts Redis.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from service_procs import BIN, Proc, RedisServer, service_env, wait_until

pytestmark = pytest.mark.e2e

#: Finishes in well under a second.
SMALL: dict[str, Any] = {
    "name": "e2e-small",
    "seed": 11,
    "model": {"depth": 4, "width": 16, "activation": "tanh", "init": "xavier_normal"},
    "data": {"dataset": "moons", "n_samples": 400},
    "training": {"epochs": 10, "batch_size": 32},
}
#: A second or two: long enough to watch its progress rise.
MEDIUM: dict[str, Any] = {
    **SMALL,
    "name": "e2e-medium",
    "model": {"depth": 8, "width": 32, "activation": "sigmoid"},
    "data": {"dataset": "spiral", "n_samples": 1000},
    "training": {"epochs": 60, "batch_size": 32},
}
#: Several seconds: long enough to cancel it or kill its worker mid-way.
LONG: dict[str, Any] = {
    **MEDIUM,
    "name": "e2e-long",
    "model": {"depth": 8, "width": 64, "activation": "tanh"},
    "training": {"epochs": 250, "batch_size": 32},
}

#: Short limits so a killed worker's task comes back within seconds.
WORKER_SETTINGS = {
    "GRADATLAS_TASK_SOFT_TIME_LIMIT_S": "15",
    "GRADATLAS_TASK_TIME_LIMIT_S": "18",
    "GRADATLAS_VISIBILITY_TIMEOUT_S": "20",
    "GRADATLAS_RESTORE_INTERVAL_S": "1",
    "GRADATLAS_LEASE_S": "3",
    "GRADATLAS_PROGRESS_EVERY_S": "0.1",
    "GRADATLAS_CANCEL_POLL_S": "0.1",
    "GRADATLAS_REDIS_SOCKET_TIMEOUT_S": "1",
}


@dataclass
class Service:
    redis: RedisServer
    env: dict[str, str]
    worker: Proc
    api: Proc
    url: str
    start_worker: Callable[..., Proc]

    def http(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=10)


@pytest.fixture(scope="module")
def service(
    start_redis: Callable[[], RedisServer],
    start_worker: Callable[..., Proc],
    start_api: Callable[..., tuple[Proc, str]],
) -> Service:
    redis = start_redis()
    env = service_env(redis.url, **WORKER_SETTINGS)
    worker = start_worker(env)
    api, url = start_api(env)
    return Service(redis, env, worker, api, url, start_worker)


def submit(c: httpx.Client, spec: dict[str, Any]) -> str:
    r = c.post("/v1/experiments", json=spec)
    assert r.status_code == 202, r.text
    exp_id: str = r.json()["id"]
    return exp_id


def wait_status(c: httpx.Client, exp_id: str, statuses: set[str], timeout: float) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        body: dict[str, Any] = c.get(f"/v1/experiments/{exp_id}").json()
        return body if body["status"] in statuses else None

    result: dict[str, Any] = wait_until(
        check, timeout=timeout, what=f"{exp_id} to reach {statuses}", every=0.05
    )
    return result


def cli_result(spec: dict[str, Any], tmp: Path) -> dict[str, Any]:
    """What ``gradatlas run`` writes for ``spec``, with one BLAS thread like the worker."""
    (tmp / "spec.json").write_text(json.dumps(spec))
    env = {
        **os.environ,
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }
    subprocess.run(
        [str(BIN / "gradatlas"), "run", str(tmp / "spec.json"), "--out", str(tmp), "--quiet"],
        check=True,
        env=env,
        timeout=120,
    )
    out: dict[str, Any] = json.loads((tmp / "result.json").read_text())
    return out


def test_readyz_sees_the_worker(service: Service) -> None:
    with service.http() as c:
        r = c.get("/readyz")
        assert r.status_code == 200, r.text
        assert r.json()["workers"] >= 1


def test_submit_watch_progress_rise_succeed_and_read_stats(
    service: Service, tmp_path: Path
) -> None:
    with service.http() as c:
        exp_id = submit(c, MEDIUM)
        fractions: list[float] = []
        statuses: list[str] = []

        def done() -> bool:
            body = c.get(f"/v1/experiments/{exp_id}").json()
            statuses.append(body["status"])
            fractions.append(body["progress"]["fraction"])
            return bool(body["status"] in ("succeeded", "failed", "cancelled"))

        wait_until(done, timeout=60, what="the experiment to finish", every=0.05)
        assert statuses[-1] == "succeeded"
        assert fractions == sorted(fractions)
        assert any(0 < f < 1 for f in fractions), fractions
        assert fractions[-1] == 1.0
        assert "running" in statuses

        r = c.get(f"/v1/experiments/{exp_id}/stats")
        assert r.status_code == 200
        assert r.headers["content-encoding"] == "gzip"
        served = r.json()
        body = c.get(f"/v1/experiments/{exp_id}").json()
        assert body["attempts"] == 1
        assert body["summary"] == served["summary"]
    # The statistics served over HTTP equal `gradatlas run` on the same spec.
    assert served == cli_result(MEDIUM, tmp_path)


def test_a_bad_spec_is_422_problem_json_naming_the_field(service: Service) -> None:
    with service.http() as c:
        r = c.post("/v1/experiments", json={"model": {"depth": 3, "activation": "softmax"}})
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    errors = r.json()["errors"]
    assert [e["field"] for e in errors] == ["model.activation"]
    assert "relu" in errors[0]["allowed"]


def test_cancel_a_running_experiment_within_two_seconds(service: Service) -> None:
    with service.http() as c:
        exp_id = submit(c, LONG)
        wait_until(
            lambda: c.get(f"/v1/experiments/{exp_id}").json()["progress"]["step"] > 0,
            timeout=30,
            what="the run to start",
        )
        r = c.post(f"/v1/experiments/{exp_id}/cancel")
        assert r.status_code == 202, r.text
        body = wait_status(c, exp_id, {"cancelled", "succeeded", "failed"}, timeout=2.0)
        assert body["status"] == "cancelled"
        assert body["progress"]["fraction"] < 1
        stats = c.get(f"/v1/experiments/{exp_id}/stats").json()
        assert stats["summary"]["stopped"] is True


def test_kill_9_the_worker_mid_run_and_a_new_one_completes_it_once(
    service: Service, tmp_path: Path
) -> None:
    with service.http() as c:
        exp_id = submit(c, LONG)
        wait_until(
            lambda: c.get(f"/v1/experiments/{exp_id}").json()["progress"]["fraction"] > 0.05,
            timeout=30,
            what="the run to get going",
        )
        service.worker.kill9()
        assert c.get(f"/v1/experiments/{exp_id}").json()["status"] == "running"
        service.worker = service.start_worker(service.env)
        body = wait_status(c, exp_id, {"succeeded", "failed", "cancelled"}, timeout=90)
        assert body["status"] == "succeeded", body
        assert body["attempts"] == 2
        served = c.get(f"/v1/experiments/{exp_id}/stats").json()
        # Completed once: no further delivery changes it.
        time.sleep(1)
        again = c.get(f"/v1/experiments/{exp_id}").json()
        assert again["finished_at"] == body["finished_at"]
        assert again["attempts"] == 2
    assert served == cli_result(LONG, tmp_path)


def test_redis_down_is_503_quickly_and_the_service_recovers(service: Service) -> None:
    with service.http() as c:
        service.redis.stop()
        started = time.monotonic()
        r = c.post("/v1/experiments", json=SMALL)
        took = time.monotonic() - started
        assert r.status_code == 503, r.text
        assert r.headers["content-type"] == "application/problem+json"
        assert "retry-after" in r.headers
        assert took < 5, f"503 took {took:.1f}s"
        assert c.get("/readyz").status_code == 503
        assert c.get("/healthz").status_code == 200

        service.redis.start()  # same port, same data directory
        wait_until(
            lambda: c.get("/readyz").status_code == 200,
            timeout=60,
            what="the service to be ready again",
            every=0.5,
        )
        exp_id = submit(c, SMALL)
        body = wait_status(c, exp_id, {"succeeded", "failed"}, timeout=60)
        assert body["status"] == "succeeded"
        # Nothing was lost: earlier experiments are still listed.
        listed = c.get("/v1/experiments", params={"limit": 100}).json()["items"]
        assert len(listed) >= 4
