"""The experiments routes through TestClient, with a real Redis and a real Celery producer."""

from __future__ import annotations

import gzip
import json
from typing import Any

import pytest
from api_support import app_settings
from fastapi.testclient import TestClient

from core.settings import Settings
from core.spec import ExperimentSpec
from core.store import Store
from worker.runner import ExperimentRunner

TINY: dict[str, Any] = {
    "seed": 1,
    "model": {"depth": 2, "width": 8, "activation": "relu", "init": "he_normal"},
    "data": {"dataset": "xor", "n_samples": 120},
    "training": {"epochs": 2, "batch_size": 32},
}


@pytest.fixture
def settings(store: Store, redis_server: Any) -> Settings:
    return app_settings(store, redis_server.url, max_depth=50, progress_every_s=0.05)


def submit(client: TestClient, spec: dict[str, Any] = TINY, **headers: str) -> dict[str, Any]:
    r = client.post("/v1/experiments", json=spec, headers=headers)
    assert r.status_code == 202, r.text
    body: dict[str, Any] = r.json()
    return body


def run_it(store: Store, settings: Settings, exp_id: str) -> None:
    """Do what a worker does, in-process."""
    assert ExperimentRunner(store, settings).run(exp_id).kind == "succeeded"


def is_problem(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = r.json()
    assert body["status"] == status
    assert body["detail"]
    return body


def test_submit_queues_the_experiment(client: TestClient, store: Store, settings: Settings) -> None:
    r = client.post("/v1/experiments", json=TINY, headers={"X-Gradatlas-Owner": "nb-7"})
    assert r.status_code == 202
    body = r.json()
    assert r.headers["location"] == f"/v1/experiments/{body['id']}"
    assert int(r.headers["retry-after"]) >= 1
    assert body["status"] == "queued"
    assert body["owner"] == "nb-7"
    assert body["spec"] == ExperimentSpec.model_validate(TINY).model_dump(mode="json")
    assert body["progress"]["total_steps"] == ExperimentSpec.model_validate(TINY).total_steps
    assert body["links"]["stats"] == f"/v1/experiments/{body['id']}/stats"
    # A real message, by task name, with the experiment id as the task id, is on the queue.
    assert store.queue_depth(settings.queue) == 1
    raw = store.redis.lindex(settings.queue, 0)
    assert raw is not None
    message = json.loads(raw)
    assert message["headers"]["task"] == "gradatlas.run_experiment"
    assert message["headers"]["id"] == body["id"]
    assert store.get(body["id"]).status == "queued"


def test_a_bad_spec_is_422_naming_each_field(client: TestClient) -> None:
    bad = {"model": {"depth": 0, "activation": "sigmod"}, "training": {"epochs": 2}}
    body = is_problem(client.post("/v1/experiments", json=bad), 422)
    assert body["type"].endswith("invalid-spec")
    errors = {e["field"]: e for e in body["errors"]}
    assert set(errors) == {"model.depth", "model.activation"}
    assert errors["model.depth"]["limit"] == {"ge": 1}
    assert "sigmoid" in errors["model.activation"]["allowed"]
    assert "relu" in errors["model.activation"]["allowed"]
    assert "model.depth" in body["detail"]
    assert "model.activation" in body["detail"]


def test_a_typo_in_a_field_name_is_named(client: TestClient) -> None:
    body = is_problem(
        client.post("/v1/experiments", json={"model": {"dept": 3, "activation": "relu"}}), 422
    )
    fields = {e["field"] for e in body["errors"]}
    assert fields == {"model.dept", "model.depth"}


def test_width_errors_name_model_width(client: TestClient) -> None:
    too_wide = {"model": {"depth": 2, "width": 5000, "activation": "relu"}}
    body = is_problem(client.post("/v1/experiments", json=too_wide), 422)
    assert body["errors"][0]["field"] == "model.width"
    assert body["errors"][0]["limit"] == {"le": 4096}
    wrong_len = {"model": {"depth": 3, "width": [8, 8], "activation": "relu"}}
    body = is_problem(client.post("/v1/experiments", json=wrong_len), 422)
    assert body["errors"][0]["field"] == "model.width"
    assert "one width per hidden layer" in body["errors"][0]["message"]


def test_server_limits_are_422_naming_field_and_limit(client: TestClient) -> None:
    deep = {**TINY, "model": {**TINY["model"], "depth": 60}}
    body = is_problem(client.post("/v1/experiments", json=deep), 422)
    assert body["errors"] == [
        {
            "field": "model.depth",
            "message": "this server runs at most 50 hidden layers (GRADATLAS_MAX_DEPTH); "
            "asked for 60",
            "limit": {"le": 50},
            "input": 60,
        }
    ]


def test_malformed_json_is_422(client: TestClient) -> None:
    r = client.post(
        "/v1/experiments", content=b"{not json", headers={"content-type": "application/json"}
    )
    body = is_problem(r, 422)
    assert body["errors"][0]["field"] == "body"


def test_get_one_and_unknown_ids(client: TestClient) -> None:
    exp = submit(client)
    r = client.get(f"/v1/experiments/{exp['id']}")
    assert r.status_code == 200
    assert r.json() == exp
    assert "etag" not in r.headers  # it can still change
    body = is_problem(client.get("/v1/experiments/0000"), 404)
    assert "0000" in body["detail"]


def test_listing_pages_newest_first_and_filters(client: TestClient, store: Store) -> None:
    ids = [submit(client)["id"] for _ in range(5)]
    store.request_cancel(ids[0])
    seen, cursor = [], None
    for _ in range(5):
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get("/v1/experiments", params=params).json()
        seen += [e["id"] for e in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids[::-1]
    cancelled = client.get("/v1/experiments", params={"status": "cancelled"}).json()
    assert [e["id"] for e in cancelled["items"]] == [ids[0]]
    assert cancelled["next_cursor"] is None
    body = is_problem(client.get("/v1/experiments", params={"status": "done"}), 422)
    assert body["errors"][0]["field"] == "status"
    assert body["errors"][0]["in"] == "query"
    assert "succeeded" in body["errors"][0]["allowed"]
    is_problem(client.get("/v1/experiments", params={"limit": 0}), 422)


def test_stats_are_served_gzip_as_stored_with_etag(
    client: TestClient, store: Store, settings: Settings
) -> None:
    exp = submit(client)
    body = is_problem(client.get(f"/v1/experiments/{exp['id']}/stats"), 409)
    assert "queued" in body["detail"]
    run_it(store, settings, exp["id"])
    stored = store.result_bytes(exp["id"])
    assert stored is not None
    # A client that takes gzip gets the stored bytes untouched.
    raw = client.get(f"/v1/experiments/{exp['id']}/stats", headers={"Accept-Encoding": "gzip"})
    assert raw.status_code == 200
    assert raw.headers["content-encoding"] == "gzip"
    assert raw.headers["vary"] == "Accept-Encoding"
    assert raw.json() == json.loads(gzip.decompress(stored.data))
    # One that does not gets plain JSON.
    plain = client.get(
        f"/v1/experiments/{exp['id']}/stats", headers={"Accept-Encoding": "identity"}
    )
    assert "content-encoding" not in plain.headers
    assert plain.json() == raw.json()
    assert plain.json()["summary"]["steps_run"] == ExperimentSpec.model_validate(TINY).total_steps
    etag = raw.headers["etag"]
    again = client.get(f"/v1/experiments/{exp['id']}/stats", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    # The finished experiment itself can no longer change either.
    one = client.get(f"/v1/experiments/{exp['id']}")
    assert one.json()["status"] == "succeeded"
    assert (
        client.get(
            f"/v1/experiments/{exp['id']}", headers={"If-None-Match": one.headers["etag"]}
        ).status_code
        == 304
    )


def test_partial_stats_while_running_carry_no_etag(client: TestClient, store: Store) -> None:
    from core.store import encode_result

    exp = submit(client)
    store.claim(exp["id"], worker="w", max_attempts=3, lease_s=30)
    partial: Any = {"steps": [0], "stats": {"grad_norm": [[1.0, 2.0]]}}
    store.renew(exp["id"], 1, lease_s=30, progress={"step": 1}, result=encode_result(partial))
    r = client.get(f"/v1/experiments/{exp['id']}/stats")
    assert r.status_code == 200
    assert r.json() == partial
    assert "etag" not in r.headers
    assert r.headers["cache-control"] == "no-store"


def test_cancel_queued_running_and_finished(
    client: TestClient, store: Store, settings: Settings
) -> None:
    queued = submit(client)
    r = client.post(f"/v1/experiments/{queued['id']}/cancel")
    assert r.status_code == 200
    assert r.json()["status"] == "cancelled"

    running = submit(client)
    store.claim(running["id"], worker="w", max_attempts=3, lease_s=30)
    r = client.post(f"/v1/experiments/{running['id']}/cancel")
    assert r.status_code == 202
    assert r.json()["status"] == "running"
    assert r.json()["cancel_requested"] is True
    assert store.cancel_requested(running["id"])

    done = submit(client)
    run_it(store, settings, done["id"])
    body = is_problem(client.post(f"/v1/experiments/{done['id']}/cancel"), 409)
    assert "succeeded" in body["detail"]
    is_problem(client.post("/v1/experiments/nope/cancel"), 404)


def test_delete_only_finished_experiments(
    client: TestClient, store: Store, settings: Settings
) -> None:
    live = submit(client)
    body = is_problem(client.delete(f"/v1/experiments/{live['id']}"), 409)
    assert "queued" in body["detail"]
    run_it(store, settings, live["id"])
    assert client.delete(f"/v1/experiments/{live['id']}").status_code == 204
    is_problem(client.get(f"/v1/experiments/{live['id']}"), 404)
    is_problem(client.delete(f"/v1/experiments/{live['id']}"), 404)


def test_unknown_routes_are_problems(client: TestClient) -> None:
    is_problem(client.get("/v2/nothing"), 404)
    is_problem(client.put("/v1/experiments"), 405)


def test_polling_reads_this_process_writes_at_once(client: TestClient) -> None:
    exp = submit(client)
    assert client.get(f"/v1/experiments/{exp['id']}").json()["status"] == "queued"  # cached
    client.post(f"/v1/experiments/{exp['id']}/cancel")
    assert client.get(f"/v1/experiments/{exp['id']}").json()["status"] == "cancelled"
    assert client.delete(f"/v1/experiments/{exp['id']}").status_code == 204
    is_problem(client.get(f"/v1/experiments/{exp['id']}"), 404)


def test_a_body_that_is_not_json_gets_415_not_500(client: TestClient) -> None:
    r = client.post(
        "/v1/experiments",
        content=b'{"model": {"depth": 2, "activation": "relu"}}',
        headers={"content-type": "text/plain"},
    )
    assert r.status_code == 415
    assert r.headers["content-type"] == "application/problem+json"
    assert "application/json" in r.json()["detail"]


def test_a_nan_in_the_spec_is_a_422_naming_the_field(client: TestClient) -> None:
    # Python's JSON parser accepts NaN; the error must still be valid JSON.
    r = client.post(
        "/v1/experiments",
        content=b'{"model": {"depth": 2, "activation": "relu"}, '
        b'"training": {"learning_rate": NaN}}',
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["training.learning_rate"]
