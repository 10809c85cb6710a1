"""Sweeps over HTTP: validation, the cap, children as ordinary experiments, status, plots."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from insight_support import TINY, check_image, is_problem, run_it, service, settings_of
from service_procs import RedisServer

from api.views import sweep_status
from core.plots import SWEEP_PLOTS
from core.result import VERDICTS
from core.store import ExperimentRecord, Status, Store, SweepStore
from core.views import ChildStatus

BASE: dict[str, Any] = {k: v for k, v in TINY.items() if k != "name"}
GRID: dict[str, list[Any]] = {"model.activation": ["sigmoid", "relu"], "model.depth": [2, 4]}


@pytest.fixture(scope="module")
def app(redis_server: RedisServer) -> Iterator[tuple[TestClient, Store]]:
    with service(redis_server, max_sweep_children=6) as pair:
        yield pair


def post(c: TestClient, grid: dict[str, list[Any]] = GRID, **extra: Any) -> Any:
    return c.post("/v1/sweeps", json={"name": "act-depth", "base": BASE, "grid": grid, **extra})


def test_a_sweep_creates_one_dispatched_experiment_per_combination(
    app: tuple[TestClient, Store],
) -> None:
    c, store = app
    queue = settings_of(c).queue
    before = store.queue_depth(queue)
    r = post(c)
    assert r.status_code == 202, r.text
    sweep = r.json()
    assert r.headers["location"] == f"/v1/sweeps/{sweep['id']}"
    assert int(r.headers["retry-after"]) >= 1
    assert sweep["status"] == "queued"
    assert sweep["progress"] == 0.0
    assert sweep["grid"] == GRID
    assert [row["params"] for row in sweep["children"]] == [
        {"model.activation": a, "model.depth": d} for a in ("sigmoid", "relu") for d in (2, 4)
    ]
    # Each child is an ordinary experiment, sent to the queue on its own.
    assert store.queue_depth(queue) == before + 4
    ids = [row["id"] for row in sweep["children"]]
    queued = [json.loads(m)["headers"]["id"] for m in store.redis.lrange(queue, 0, -1)]
    assert set(ids) <= set(queued)
    for row in sweep["children"]:
        exp = c.get(f"/v1/experiments/{row['id']}").json()
        assert exp["status"] == "queued"
        assert exp["spec"]["model"]["activation"] == row["params"]["model.activation"]
        assert exp["spec"]["model"]["depth"] == row["params"]["model.depth"]
        assert exp["spec"]["seed"] == BASE["seed"]
        assert exp["spec"]["name"].startswith("act-depth activation=")
        assert store.get(row["id"]).meta == {"sweep": sweep["id"]}


def test_the_summary_table_status_and_plots_as_children_finish(
    app: tuple[TestClient, Store],
) -> None:
    c, store = app
    sweep = post(c).json()
    url = f"/v1/sweeps/{sweep['id']}"
    ids = [row["id"] for row in sweep["children"]]
    run_it(c, store, ids[0])
    body = c.get(url).json()
    assert body["status"] == "running"
    assert body["progress"] == pytest.approx(0.25)
    assert body["counts"] == {"succeeded": 1, "queued": 3}
    # Plots of an unfinished sweep are drawn from what is there, and not cached.
    partial = c.get(f"{url}/plots/ratio-vs-depth.png")
    check_image(partial, "png")
    assert partial.headers["cache-control"] == "no-store"
    for exp_id in ids[1:]:
        run_it(c, store, exp_id)
    body = c.get(url).json()
    assert body["status"] == "succeeded"
    assert body["progress"] == 1.0
    rows = body["children"]
    for row in rows:
        assert row["status"] == "succeeded"
        assert isinstance(row["gradient_ratio_log10"], float)
        assert isinstance(row["backprop_ratio_log10"], float)
        assert row["decay_per_layer"] > 0
        assert 0 <= row["final_val_accuracy"] <= 1
        assert row["verdict"] in set(VERDICTS) - {"diverged"}
        summary = c.get(f"/v1/experiments/{row['id']}").json()["summary"]
        assert row["gradient_ratio_log10"] == summary["gradient_ratio_log10"]
        # Both ratios and both decay factors, each under a name that says which it is.
        assert row["weight_grad_ratio_log10"] == summary["gradient_ratio_log10"]
        assert row["weight_grad_decay_per_layer"] == summary["decay_per_layer"]
        assert row["backprop_decay_per_layer"] == summary["backprop_decay_per_layer"]
        assert row["decay_per_layer"] == row["weight_grad_decay_per_layer"]
    # Deeper sigmoid: a smaller back-propagated ratio.
    sig2, sig4 = rows[0], rows[1]
    assert sig4["backprop_ratio_log10"] < sig2["backprop_ratio_log10"]
    for name in SWEEP_PLOTS:
        for fmt in ("png", "svg"):
            r = c.get(f"{url}/plots/{name}.{fmt}")
            check_image(r, fmt)
            assert "max-age" in r.headers["cache-control"]
            again = c.get(f"{url}/plots/{name}.{fmt}", headers={"If-None-Match": r.headers["etag"]})
            assert again.status_code == 304
    # activation x depth: a phase diagram over both axes, zoomable.
    phase = c.get(f"{url}/plots/phase-diagram.svg").content
    assert b"model.activation" in phase
    assert b"model.depth" in phase
    zoomed = c.get(f"{url}/plots/phase-diagram.svg", params={"scale": "auto"})
    assert check_image(zoomed, "svg") != phase
    assert c.get(f"{url}/plots/phase-diagram.pdf").content.startswith(b"%PDF-")
    body = is_problem(c.get(f"{url}/plots/gradient-profile.png"), 404)
    assert body["plots"] == list(SWEEP_PLOTS)


def test_cancel_cancels_every_child_still_queued(app: tuple[TestClient, Store]) -> None:
    c, store = app
    sweep = post(c).json()
    first = sweep["children"][0]["id"]
    run_it(c, store, first)
    r = c.post(f"/v1/sweeps/{sweep['id']}/cancel")
    assert r.status_code == 200, r.text
    body = r.json()
    assert [row["status"] for row in body["children"]] == [
        "succeeded",
        "cancelled",
        "cancelled",
        "cancelled",
    ]
    assert body["status"] == "mixed"
    assert body["progress"] == 1.0
    # Cancelling again changes nothing.
    assert c.post(f"/v1/sweeps/{sweep['id']}/cancel").json()["counts"] == body["counts"]
    only_queued = post(c).json()
    body = c.post(f"/v1/sweeps/{only_queued['id']}/cancel").json()
    assert body["status"] == "cancelled"


def test_a_bad_value_is_422_naming_the_grid_path_and_value(app: tuple[TestClient, Store]) -> None:
    c, store = app
    before = store.counts()
    body = is_problem(post(c, {"model.activation": ["relu"], "model.depth": [2, 900]}), 422)
    (error,) = body["errors"]
    assert error["field"] == "grid.model.depth"
    assert error["input"] == 900
    body = is_problem(post(c, {"model.actvation": ["relu"]}), 422)
    assert [e["field"] for e in body["errors"]] == ["grid.model.actvation"]
    body = is_problem(post(c, {"model.activation": ["relu", "softmax"], "model.depth": [2]}), 422)
    assert [(e["field"], e["input"]) for e in body["errors"]] == [
        ("grid.model.activation", "softmax")
    ]
    bad_base = {"name": "x", "base": {**BASE, "training": {"epochs": 0}}, "grid": GRID}
    body = is_problem(c.post("/v1/sweeps", json=bad_base), 422)
    assert [e["field"] for e in body["errors"]] == ["base.training.epochs"]
    body = is_problem(c.post("/v1/sweeps", json={"base": BASE, "grid": {}}), 422)
    assert [e["field"] for e in body["errors"]] == ["grid"]
    body = is_problem(c.post("/v1/sweeps", json={"base": BASE}), 422)
    assert [e["field"] for e in body["errors"]] == ["grid"]
    # Nothing was created for a refused sweep.
    assert store.counts() == before


def test_the_cap_and_the_server_limits(app: tuple[TestClient, Store]) -> None:
    c, store = app
    before = store.counts()
    body = is_problem(
        post(c, {"model.activation": ["relu", "tanh"], "model.depth": [1, 2, 3, 4]}), 422
    )
    (error,) = body["errors"]
    assert error["field"] == "grid"
    assert "8 experiments" in error["message"]
    assert "at most 6" in error["message"]
    assert "GRADATLAS_MAX_SWEEP_CHILDREN" in body["detail"]
    # Valid specs, but deeper than this server runs (max_depth=50).
    body = is_problem(post(c, {"model.activation": ["relu"], "model.depth": [2, 60]}), 422)
    (error,) = body["errors"]
    assert error["field"] == "grid.model.depth"
    assert "GRADATLAS_MAX_DEPTH" in error["message"]
    assert "model.depth=60" in error["message"]
    assert store.counts() == before


def test_list_and_404(app: tuple[TestClient, Store]) -> None:
    c, _ = app
    mine = post(c, {"seed": [1, 2]}).json()
    page = c.get("/v1/sweeps", params={"limit": 2}).json()
    assert page["items"][0]["id"] == mine["id"]
    assert page["items"][0]["children_count"] == 2
    assert "children" not in page["items"][0]
    assert page["next_cursor"] == page["items"][1]["id"]
    rest = c.get("/v1/sweeps", params={"cursor": page["next_cursor"]}).json()
    assert mine["id"] not in [s["id"] for s in rest["items"]]
    is_problem(c.get(f"/v1/sweeps/{'0' * 24}"), 404)
    is_problem(c.post(f"/v1/sweeps/{'0' * 24}/cancel"), 404)
    is_problem(c.get(f"/v1/sweeps/{'0' * 24}/plots/ratio-vs-depth.png"), 404)


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        (["queued", "queued"], "queued"),
        (["queued", "succeeded"], "running"),
        (["running", "failed"], "running"),
        (["succeeded", "succeeded"], "succeeded"),
        (["failed"], "failed"),
        (["cancelled", "cancelled"], "cancelled"),
        (["succeeded", "cancelled"], "mixed"),
        (["succeeded", "expired"], "mixed"),
    ],
)
def test_sweep_status_rule(statuses: list[ChildStatus], expected: str) -> None:
    assert sweep_status(statuses) == expected


def test_a_sweep_is_kept_while_children_run_then_as_long_as_its_last_child(store: Store) -> None:
    sweeps = SweepStore(store)
    sweep = sweeps.create(
        sweeps.new_id(), name="s", base={}, grid={"seed": [1, 2]}, children=[("a", {}), ("b", {})]
    )
    key = f"{store.prefix}:sweep:{sweep.id}"
    assert 0 < store.redis.ttl(key) <= store.result_ttl_s
    now = 1_000_000.0

    def record(status: Status, finished_ago: float | None = None) -> ExperimentRecord:
        finished_at = None if finished_ago is None else now - finished_ago
        return ExperimentRecord("x", "{}", status, {}, 0.0, finished_at=finished_at)

    sweeps.keep(sweep, [record("running"), record("succeeded", 3000)], now=now)
    assert store.redis.ttl(key) > store.result_ttl_s - 5
    sweeps.keep(sweep, [record("failed", 3000), record("succeeded", 1000)], now=now)
    assert store.result_ttl_s - 1000 - 5 < store.redis.ttl(key) <= store.result_ttl_s - 1000
    sweeps.keep(sweep, [None, None], now=now)
    assert store.redis.ttl(key) <= 60
    assert sweeps.get(sweep.id).children == [{"id": "a", "params": {}}, {"id": "b", "params": {}}]
