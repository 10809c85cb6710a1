"""HTTP done right: HEAD, OPTIONS and Allow, one metrics label for made-up methods, every
status in OpenAPI, and Idempotency-Key."""

from __future__ import annotations

import threading

from api_support import TINY, api_client
from fastapi.testclient import TestClient

from core.settings import Settings
from core.store import Store


def test_head_answers_every_get_route_without_a_body(client: TestClient) -> None:
    exp = client.post("/v1/experiments", json=TINY).json()
    for path in (
        "/healthz",
        "/metrics",
        "/openapi.json",
        "/v1/experiments",
        f"/v1/experiments/{exp['id']}",
        "/v1/activations",
    ):
        get, head = client.get(path), client.head(path)
        assert head.status_code == get.status_code == 200, path
        assert head.content == b""
        assert head.headers["content-type"] == get.headers["content-type"]
    missing = client.head("/v1/experiments/0193a1f2c3d4a1b2c3d4e5f6")
    assert (missing.status_code, missing.content) == (404, b"")


def test_options_and_405_name_every_method_of_the_path(client: TestClient) -> None:
    cases = {
        "/v1/experiments": "GET, HEAD, OPTIONS, POST",
        "/v1/experiments/0193a1f2c3d4a1b2c3d4e5f6": "DELETE, GET, HEAD, OPTIONS",
        "/v1/experiments/0193a1f2c3d4a1b2c3d4e5f6/cancel": "OPTIONS, POST",
        "/healthz": "GET, HEAD, OPTIONS",
    }
    for path, allow in cases.items():
        r = client.options(path)
        assert (r.status_code, r.headers["allow"]) == (204, allow), path
        assert r.content == b""
    wrong = client.put("/v1/experiments/0193a1f2c3d4a1b2c3d4e5f6")
    assert wrong.status_code == 405
    assert wrong.headers["allow"] == cases["/v1/experiments/0193a1f2c3d4a1b2c3d4e5f6"]
    assert wrong.headers["content-type"] == "application/problem+json"
    nowhere = client.options("/v2/nothing")
    assert nowhere.status_code == 404
    assert nowhere.headers["content-type"] == "application/problem+json"


def test_made_up_methods_share_one_metrics_label(client: TestClient) -> None:
    for n in range(30):
        client.request(f"FOO{n}", "/v1/experiments")
    text = client.get("/metrics").text
    assert 'method="other"' in text
    assert "FOO" not in text
    client.head("/healthz")
    assert 'gradatlas_http_requests_total{method="HEAD",route="/healthz",status="200"}' in (
        client.get("/metrics").text
    )


def test_openapi_lists_every_status_an_operation_answers(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    paths = doc["paths"]
    submit = paths["/v1/experiments"]["post"]["responses"]
    assert {"202", "400", "401", "403", "409", "413", "415", "422", "429", "503"} <= set(submit)
    read = paths["/v1/experiments/{experiment_id}"]
    assert {"200", "304", "401", "404", "429", "503"} <= set(read["get"]["responses"])
    assert set(read["head"]["responses"]) == set(read["get"]["responses"])
    assert all("content" not in a for a in read["head"]["responses"].values())
    assert "204" in read["options"]["responses"]
    for path, ops in paths.items():
        assert "options" in ops, path
        if "get" in ops:
            assert "head" in ops, path


def test_an_idempotency_key_makes_one_experiment(client: TestClient, store: Store) -> None:
    key = {"Idempotency-Key": "submit-7"}
    first = client.post("/v1/experiments", json=TINY, headers=key)
    again = client.post("/v1/experiments", json=TINY, headers=key)
    assert first.status_code == again.status_code == 202
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert store.active() == 1
    other = client.post("/v1/experiments", json={**TINY, "seed": 5}, headers=key)
    (error,) = other.json()["errors"]
    assert (other.status_code, error["field"], error["in"]) == (422, "Idempotency-Key", "header")
    # The same spec written differently is the same request.
    spaced = client.post(
        "/v1/experiments",
        content=b'{"training": {"epochs": 1}, "data": {"n_samples": 120, "dataset": "xor"},'
        b' "model": {"activation": "relu", "width": 8, "depth": 2}}',
        headers={**key, "content-type": "application/json"},
    )
    assert spaced.json()["id"] == first.json()["id"]
    fresh = client.post("/v1/experiments", json=TINY, headers={"Idempotency-Key": "submit-8"})
    assert fresh.json()["id"] != first.json()["id"]
    assert store.active() == 2


def test_concurrent_requests_with_one_key_make_one_experiment(
    client: TestClient, store: Store
) -> None:
    ids: list[str] = []
    barrier = threading.Barrier(8)

    def send() -> None:
        barrier.wait()
        r = client.post("/v1/experiments", json=TINY, headers={"Idempotency-Key": "race"})
        assert r.status_code == 202, r.text
        ids.append(r.json()["id"])

    threads = [threading.Thread(target=send) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(ids) == 8
    assert len(set(ids)) == 1
    assert store.active() == 1


def test_idempotency_keys_are_per_tenant_and_expire(settings: Settings, store: Store) -> None:
    keyed = settings.model_copy(update={"idempotency_ttl_s": 1})
    keyed = Settings(
        **{**settings.model_dump(exclude={"api_keys"}), "idempotency_ttl_s": 1},
        api_keys="alice=alice-key-1,bob=bob-key-2",
    )
    with api_client(keyed, store) as c:
        key = {"Idempotency-Key": "shared"}
        a = c.post(
            "/v1/experiments", json=TINY, headers={**key, "Authorization": "Bearer alice-key-1"}
        )
        b = c.post(
            "/v1/experiments", json=TINY, headers={**key, "Authorization": "Bearer bob-key-2"}
        )
        assert a.status_code == b.status_code == 202
        assert a.json()["id"] != b.json()["id"]
    idem = [k for k in store.redis.scan_iter(f"{store.prefix}:idem:*")]
    assert len(idem) == 2
    assert all(0 < store.redis.ttl(k) <= 1 for k in idem)


def test_a_sweep_with_an_idempotency_key_is_made_once(client: TestClient, store: Store) -> None:
    body = {"base": TINY, "grid": {"model.depth": [2, 3]}}
    key = {"Idempotency-Key": "sweep-1"}
    first = client.post("/v1/sweeps", json=body, headers=key)
    again = client.post("/v1/sweeps", json=body, headers=key)
    assert first.status_code == again.status_code == 202
    assert again.json()["id"] == first.json()["id"]
    assert store.active() == 2
    # Keys are scoped by what they make: the same key on experiments is another request.
    assert client.post("/v1/experiments", json=TINY, headers=key).status_code == 202
