"""A sweep's whole life over HTTP: redis-server, a Celery worker process and uvicorn.

Each process runs the command docker-compose.yml gives it (see conftest.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from service_procs import Proc, RedisServer, service_env, wait_until

pytestmark = pytest.mark.e2e

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
FINAL = {"succeeded", "failed", "cancelled", "mixed"}

#: Four children of a fraction of a second each.
TINY_SWEEP: dict[str, Any] = {
    "name": "e2e-sweep",
    "base": {
        "seed": 5,
        "model": {"width": 8, "init": "xavier_normal"},
        "data": {"dataset": "moons", "n_samples": 200},
        "training": {"epochs": 3, "batch_size": 32},
    },
    "grid": {"model.activation": ["sigmoid", "relu"], "model.depth": [2, 6]},
}
#: Children of several seconds each: the first is still running when the sweep is cancelled.
SLOW_SWEEP: dict[str, Any] = {
    "name": "e2e-slow-sweep",
    "base": {
        "seed": 6,
        "model": {"depth": 8, "width": 64, "activation": "tanh"},
        "data": {"dataset": "spiral", "n_samples": 1000},
        "training": {"epochs": 250, "batch_size": 32},
    },
    "grid": {"seed": [1, 2, 3]},
}


@pytest.fixture(scope="module")
def http(
    start_redis: Callable[[], RedisServer],
    start_worker: Callable[..., Proc],
    start_api: Callable[..., tuple[Proc, str]],
) -> Iterator[httpx.Client]:
    redis = start_redis()
    env = service_env(redis.url, GRADATLAS_PROGRESS_EVERY_S="0.1", GRADATLAS_CANCEL_POLL_S="0.1")
    start_worker(env)
    _, url = start_api(env)
    with httpx.Client(base_url=url, timeout=10) as client:
        yield client


def wait_sweep(c: httpx.Client, sweep_id: str, timeout: float) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        body: dict[str, Any] = c.get(f"/v1/sweeps/{sweep_id}").json()
        return body if body["status"] in FINAL else None

    result: dict[str, Any] = wait_until(
        done, timeout=timeout, what=f"sweep {sweep_id} to finish", every=0.1
    )
    return result


def test_a_sweep_runs_to_its_summary_table_and_plots(http: httpx.Client) -> None:
    r = http.post("/v1/sweeps", json=TINY_SWEEP)
    assert r.status_code == 202, r.text
    sweep_id = r.json()["id"]
    assert r.headers["location"] == f"/v1/sweeps/{sweep_id}"

    body = wait_sweep(http, sweep_id, timeout=40)
    assert body["status"] == "succeeded", body
    assert body["progress"] == 1.0
    rows = body["children"]
    assert [row["params"] for row in rows] == [
        {"model.activation": a, "model.depth": d} for a in ("sigmoid", "relu") for d in (2, 6)
    ]
    for row in rows:
        assert row["status"] == "succeeded"
        assert isinstance(row["gradient_ratio_log10"], float)
        assert isinstance(row["backprop_ratio_log10"], float)
        assert row["verdict"]
    # Six sigmoid layers vanish far more than two.
    assert rows[1]["backprop_ratio_log10"] < rows[0]["backprop_ratio_log10"] - 1
    assert rows[1]["verdict"] == "vanishing"

    for name in body["links"]["plots"]:
        plot = http.get(f"/v1/sweeps/{sweep_id}/plots/{name}.png")
        assert plot.status_code == 200, plot.text
        assert plot.content.startswith(PNG_MAGIC)
        assert plot.headers["x-content-type-options"] == "nosniff"

    url = f"/v1/experiments/{rows[1]['id']}/plots/gradient-profile.png"
    first = http.get(url)
    assert first.status_code == 200
    assert first.content.startswith(PNG_MAGIC)
    again = http.get(url, headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304


def test_cancelling_a_sweep_cancels_its_children(http: httpx.Client) -> None:
    r = http.post("/v1/sweeps", json=SLOW_SWEEP)
    assert r.status_code == 202, r.text
    sweep_id = r.json()["id"]
    first = r.json()["children"][0]["id"]
    wait_until(
        lambda: http.get(f"/v1/experiments/{first}").json()["progress"]["step"] > 0,
        timeout=20,
        what="the first child to start",
    )
    cancel = http.post(f"/v1/sweeps/{sweep_id}/cancel")
    assert cancel.status_code in (200, 202), cancel.text
    body = wait_sweep(http, sweep_id, timeout=10)
    assert body["status"] == "cancelled", body
    assert [row["status"] for row in body["children"]] == ["cancelled"] * 3
    # The running one stopped part-way; the queued ones never started.
    fractions = [http.get(f"/v1/experiments/{row['id']}").json() for row in body["children"]]
    assert 0 < fractions[0]["progress"]["fraction"] < 1
    assert all(f["started_at"] is None for f in fractions[1:])
