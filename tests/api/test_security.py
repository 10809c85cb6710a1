"""API keys and tenants: 401 without a key, 404 for another tenant's things on every route.

TestClient over a real Redis and a real Celery producer; experiments are run in-process
(``ExperimentRunner``) where a route needs a result.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from api_support import api_client, app_settings, problem
from fastapi.testclient import TestClient

from api.__main__ import exposure_error
from core.settings import Settings
from core.store import Store
from worker.runner import ExperimentRunner

TINY: dict[str, Any] = {
    "seed": 1,
    "model": {"depth": 2, "width": 8, "activation": "sigmoid", "init": "normal"},
    "data": {"dataset": "xor", "n_samples": 120},
    "training": {"epochs": 2, "batch_size": 32},
}
ALICE = {"Authorization": "Bearer alice-key-0123"}
BOB = {"Authorization": "Bearer bob-key-4567"}
GRID = {"base": TINY, "grid": {"model.depth": [2, 3]}}


@pytest.fixture
def settings(store: Store, redis_server: Any) -> Settings:
    return app_settings(store, redis_server.url, api_keys="alice=alice-key-0123,bob=bob-key-4567")


def test_every_v1_route_needs_a_key(client: TestClient) -> None:
    for method, path in [
        ("GET", "/v1/experiments"),
        ("POST", "/v1/experiments"),
        ("GET", "/v1/experiments/0193a1f2c3d4a1b2c3d4e5f6"),
        ("GET", "/v1/sweeps"),
        ("GET", "/v1/activations"),
    ]:
        r = client.request(method, path, json=TINY if method == "POST" else None)
        body = problem(r, 401)
        assert r.headers["www-authenticate"].startswith("Bearer")
        assert "Authorization" in body["detail"]
    wrong = client.get("/v1/experiments", headers={"Authorization": "Bearer alice-key-0124"})
    problem(wrong, 401)
    assert 'error="invalid_token"' in wrong.headers["www-authenticate"]
    assert "alice-key-0124" not in wrong.text  # a key is never echoed
    basic = client.get("/v1/experiments", headers={"Authorization": "Basic YWxpY2U6eA=="})
    problem(basic, 401)


def test_health_metrics_and_docs_stay_open(client: TestClient) -> None:
    assert client.get("/healthz").status_code == 200
    assert client.get("/metrics").status_code == 200
    assert client.get("/openapi.json").status_code == 200
    assert client.get("/readyz").status_code in (200, 503)  # no worker here: 503, not 401


def test_a_tenant_sees_only_its_own_experiments(client: TestClient, store: Store) -> None:
    mine = client.post("/v1/experiments", json=TINY, headers=ALICE)
    assert mine.status_code == 202
    exp = mine.json()
    assert exp["owner"] == "alice"  # no label sent: the tenant
    assert store.get(exp["id"]).tenant == "alice"
    theirs = client.post("/v1/experiments", json=TINY, headers=BOB).json()
    listed = client.get("/v1/experiments", headers=ALICE).json()["items"]
    assert [e["id"] for e in listed] == [exp["id"]]
    queued = client.get("/v1/experiments?status=queued", headers=BOB).json()["items"]
    assert [e["id"] for e in queued] == [theirs["id"]]
    assert client.get(f"/v1/experiments/{exp['id']}", headers=ALICE).status_code == 200
    # Bob's 404 is the one for an id that never existed (nothing tells him it exists).
    missing = problem(client.get("/v1/experiments/0193a1f2c3d4a1b2c3d4e5f6", headers=BOB), 404)
    hidden = problem(client.get(f"/v1/experiments/{exp['id']}", headers=BOB), 404)
    assert hidden["detail"] == missing["detail"].replace("0193a1f2c3d4a1b2c3d4e5f6", exp["id"])


def test_another_tenant_gets_404_on_every_experiment_route(
    client: TestClient, store: Store, settings: Settings
) -> None:
    exp = client.post("/v1/experiments", json=TINY, headers=ALICE).json()
    assert ExperimentRunner(store, settings).run(exp["id"]).kind == "succeeded"
    i = exp["id"]
    reads = [
        f"/v1/experiments/{i}",
        f"/v1/experiments/{i}/stats",
        f"/v1/experiments/{i}/plots/gradient-profile.svg",
        f"/v1/compare/plots/gradient-profile.svg?ids={i}",
    ]
    for path in reads:
        assert client.get(path, headers=ALICE).status_code == 200, path
        problem(client.get(path, headers=BOB), 404)
    # The status cache answers Alice from memory now: Bob still gets 404.
    problem(client.get(f"/v1/experiments/{i}", headers=BOB), 404)
    refused = problem(client.post(f"/v1/experiments/{i}/remedies/0", headers=BOB), 404)
    assert refused["detail"].startswith(f"No experiment '{i}'")
    problem(client.post(f"/v1/experiments/{i}/cancel", headers=BOB), 404)
    problem(client.delete(f"/v1/experiments/{i}", headers=BOB), 404)
    assert store.find(i) is not None  # nothing Bob did touched it
    remedy = client.post(f"/v1/experiments/{i}/remedies/0", headers=ALICE)
    # Alice reaches the experiment: a new one, or "it has no remedy 0", never "no experiment".
    assert remedy.status_code == 202 or "no remedy 0" in remedy.json()["detail"]
    assert client.delete(f"/v1/experiments/{i}", headers=ALICE).status_code == 204


def test_another_tenant_gets_404_on_every_sweep_route(client: TestClient) -> None:
    made = client.post("/v1/sweeps", json=GRID, headers=ALICE)
    assert made.status_code == 202, made.text
    sweep = made.json()
    s = sweep["id"]
    assert [x["id"] for x in client.get("/v1/sweeps", headers=ALICE).json()["items"]] == [s]
    assert client.get("/v1/sweeps", headers=BOB).json()["items"] == []
    for child in sweep["children"]:
        problem(client.get(f"/v1/experiments/{child['id']}", headers=BOB), 404)
    problem(client.get(f"/v1/sweeps/{s}", headers=BOB), 404)
    problem(client.get(f"/v1/sweeps/{s}/plots/gradient-profiles.svg", headers=BOB), 404)
    problem(client.post(f"/v1/sweeps/{s}/cancel", headers=BOB), 404)
    assert client.get(f"/v1/sweeps/{s}", headers=ALICE).json()["status"] == "queued"
    assert client.post(f"/v1/sweeps/{s}/cancel", headers=ALICE).status_code == 200


def test_keys_are_kept_hashed_and_never_shown(settings: Settings, tmp_path: Path) -> None:
    assert "alice-key-0123" not in repr(settings)
    assert "alice-key-0123" not in repr(settings.key_ring)
    assert settings.key_ring.tenant_of("bob-key-4567") == "bob"
    assert settings.key_ring.tenant_of("bob-key-456") is None
    keys = tmp_path / "keys"
    keys.write_text("# tenant=key, one a line\ncarol=carol-key-89\n\n")
    both = Settings(api_keys="dave=dave-key-1", api_keys_file=keys)
    assert both.key_ring.tenants == {"carol", "dave"}
    for bad in ("alice", "alice=", "al ice=secret-x", "a=secret-x,b=secret-x"):
        with pytest.raises(ValueError, match="GRADATLAS_API_KEYS") as e:
            Settings(api_keys=bad)
        assert "secret-x" not in str(e.value)


def test_without_keys_the_api_binds_loopback_only() -> None:
    assert exposure_error(Settings()) is None  # 127.0.0.1
    assert exposure_error(Settings(api_host="::1")) is None
    error = exposure_error(Settings(api_host="0.0.0.0"))
    assert error is not None
    assert "GRADATLAS_API_KEYS" in error
    assert "GRADATLAS_ALLOW_ANONYMOUS" in error
    assert exposure_error(Settings(api_host="0.0.0.0", allow_anonymous=True)) is None
    assert exposure_error(Settings(api_host="0.0.0.0", api_keys="a=k-1")) is None


def test_unknown_host_names_are_refused(client: TestClient) -> None:
    for host in ("evil.example", "localhost.evil.example", "10.0.0.1"):
        r = client.get("/healthz", headers={"Host": host})
        problem(r, 400)
    for host in ("localhost:8000", "127.0.0.1", "[::1]:8000", "api:8000"):
        assert client.get("/healthz", headers={"Host": host}).status_code == 200, host


def test_cross_site_requests_cannot_change_anything(client: TestClient, store: Store) -> None:
    exp = client.post("/v1/experiments", json=TINY, headers=ALICE).json()
    cancel = f"/v1/experiments/{exp['id']}/cancel"
    for headers in (
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
        {"Origin": "http://evil.example"},
        {"Origin": "null"},
        {"Content-Type": "text/plain"},  # a simple POST: no preflight would stop it
        {"Content-Type": "application/x-www-form-urlencoded"},
    ):
        r = client.post(cancel, headers={**ALICE, **headers}, content=b"x")
        assert r.status_code in (403, 415), (headers, r.status_code)
        assert r.headers["content-type"] == "application/problem+json"
    assert store.get(exp["id"]).status == "queued"
    same = {"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"}
    assert client.post(cancel, headers={**ALICE, **same}).status_code == 200


def test_cors_is_off_unless_configured(
    client: TestClient, settings: Settings, store: Store
) -> None:
    preflight = {"Origin": "http://lab.example", "Access-Control-Request-Method": "POST"}
    r = client.options("/v1/experiments", headers=preflight)
    assert "access-control-allow-origin" not in r.headers
    allowed = settings.model_copy(update={"cors_origins": ("http://lab.example",)})
    with api_client(allowed, store) as c:
        r = c.options("/v1/experiments", headers=preflight)
        assert r.headers["access-control-allow-origin"] == "http://lab.example"
        ok = c.post("/v1/experiments", json=TINY, headers={**ALICE, "Origin": preflight["Origin"]})
        assert ok.status_code == 202
