"""Limits on what a client sends: body size, memory, active experiments, request rate,
strict JSON, ids, and the size of what a 422 echoes back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from api_support import TINY, api_client, app_settings, problem
from fastapi.testclient import TestClient

from core.spec import ExperimentSpec
from core.store import Store


@pytest.fixture
def client(store: Store, redis_server: Any) -> Iterator[TestClient]:
    settings = app_settings(store, redis_server.url, max_body_bytes=8192)
    with api_client(settings, store) as c:
        yield c


def fields(r: Any) -> list[str]:
    return [e["field"] for e in problem(r, 422)["errors"]]


def test_a_body_over_the_limit_is_413_before_it_is_read(client: TestClient) -> None:
    big = {**TINY, "name": "x" * 10_000}
    body = problem(client.post("/v1/experiments", json=big), 413)
    assert "GRADATLAS_MAX_BODY_BYTES" in body["detail"]
    assert len(client.post("/v1/experiments", json=big).content) < 1000  # nothing echoed

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'{"name": "'
        for _ in range(10):
            yield b"y" * 1000
        yield b'"}'

    problem(
        client.post(
            "/v1/experiments", content=chunks(), headers={"content-type": "application/json"}
        ),
        413,
    )
    assert client.post("/v1/experiments", json=TINY).status_code == 202


def test_a_spec_needing_too_much_memory_is_422_naming_the_field(client: TestClient) -> None:
    # The case: passes every flop limit at batch 1, needs ~40 GB.
    huge = {
        "model": {"depth": 120, "width": 4096, "activation": "relu"},
        "data": {"dataset": "xor", "n_samples": 20},
        "training": {"batch_size": 1, "epochs": 1},
    }
    r = client.post("/v1/experiments", json=huge)
    errors = problem(r, 422)["errors"]
    memory = [e for e in errors if "GRADATLAS_MAX_MEMORY_MB" in e["message"]]
    assert [e["field"] for e in memory] == ["model.width"]
    spec = ExperimentSpec.model_validate(huge)
    assert memory[0]["input"] == round(spec.memory().total / 2**20, 1)
    assert memory[0]["limit"] == {"le": 2048.0}
    wide_batch = {
        **TINY,
        "model": {"depth": 2, "width": 4096, "activation": "relu"},
        "data": {"dataset": "gaussian", "n_samples": 200_000, "n_features": 4096},
        "training": {"batch_size": 8192, "epochs": 1},
    }
    assert "data.n_samples" in fields(client.post("/v1/experiments", json=wide_batch))


def test_the_memory_estimate_grows_with_what_a_run_holds() -> None:
    base = ExperimentSpec.model_validate(TINY)
    wider = ExperimentSpec.model_validate({**TINY, "model": {**TINY["model"], "width": 64}})
    adam = ExperimentSpec.model_validate({**TINY, "training": {"optimizer": "adam"}})
    f64 = ExperimentSpec.model_validate({**TINY, "model": {**TINY["model"], "dtype": "float64"}})
    assert wider.memory().parameters > base.memory().parameters
    assert adam.memory().parameters == base.memory().parameters * 7 // 5
    assert f64.memory().parameters == 2 * base.memory().parameters
    assert base.memory().total == sum(
        (base.memory().parameters, base.memory().activations, base.memory().data)
    )


def test_active_experiments_per_tenant_are_capped(store: Store, redis_server: Any) -> None:
    settings = app_settings(store, redis_server.url, max_active_per_tenant=3)
    with api_client(settings, store) as c:
        made = [c.post("/v1/experiments", json=TINY) for _ in range(3)]
        assert [r.status_code for r in made] == [202, 202, 202]
        full = c.post("/v1/experiments", json=TINY)
        body = problem(full, 429)
        assert "GRADATLAS_MAX_ACTIVE_PER_TENANT" in body["detail"]
        assert int(full.headers["retry-after"]) >= 1
        assert store.active() == 3  # the refused one was never stored
        sweep = c.post("/v1/sweeps", json={"base": TINY, "grid": {"model.depth": [2, 3]}})
        problem(sweep, 429)
        c.post(f"/v1/experiments/{made[0].json()['id']}/cancel")  # room for one more
        assert c.post("/v1/experiments", json=TINY).status_code == 202


def test_requests_past_the_rate_limit_get_429_with_retry_after(
    store: Store, redis_server: Any
) -> None:
    settings = app_settings(store, redis_server.url, rate_limit_per_min=5)
    with api_client(settings, store) as c:
        codes = [c.get("/v1/experiments").status_code for _ in range(5)]
        assert codes == [200] * 5
        r = c.get("/v1/experiments")
        problem(r, 429)
        assert 1 <= int(r.headers["retry-after"]) <= 60
        assert c.get("/healthz").status_code == 200  # probes are never limited
        # The count lives in Redis: a second API process shares it.
        with api_client(settings, store) as c2:
            problem(c2.get("/v1/experiments"), 429)


def test_strict_json_no_nan_infinity_or_coercion(client: TestClient) -> None:
    def post(text: str) -> Any:
        return client.post(
            "/v1/experiments", content=text.encode(), headers={"content-type": "application/json"}
        )

    spec = '{"model": {"depth": 2, "activation": "relu"}, "training": {"learning_rate": %s}}'
    assert fields(post(spec % "Infinity")) == ["training.learning_rate"]
    assert fields(post(spec % "-Infinity")) == ["training.learning_rate"]
    assert fields(post(spec % "1e400")) == ["training.learning_rate"]
    assert fields(post('{"name": NaN, "model": {"depth": 2, "activation": "relu"}}')) == ["name"]
    assert fields(post('{"model": {"depth": true, "activation": "relu"}}')) == ["model.depth"]
    assert fields(post('{"model": {"depth": "3", "activation": "relu"}}')) == ["model.depth"]
    assert fields(post('{"model": {"depth": 2.0, "activation": "relu"}}')) == ["model.depth"]
    assert fields(post('{"model": {"depth": 2, "activation": "relu", "batch_norm": 1}}')) == [
        "model.batch_norm"
    ]
    assert post(spec % "0.1").status_code == 202
    assert post(spec % "1").status_code == 202  # an integer is a fine float


def test_lone_surrogates_and_deep_nesting_are_422_not_500(client: TestClient) -> None:
    def post(text: str, path: str = "/v1/experiments") -> Any:
        return client.post(
            path, content=text.encode(), headers={"content-type": "application/json"}
        )

    assert fields(post('{"name": "\\ud800", "model": {"depth": 2, "activation": "relu"}}')) == [
        "name"
    ]
    problem(post('{"\\udfff": 1}'), 422)
    problem(post('{"base": {}, "grid": {"\\ud800": [1]}}', "/v1/sweeps"), 422)
    problem(post("[" * 1500 + "]" * 1500), 422)
    problem(post("1" * 4400), 422)  # past Python's int-parsing limit (4300 digits)


def test_a_422_echoes_a_long_input_cut_short(client: TestClient) -> None:
    r = client.post(
        "/v1/experiments", json={**TINY, "model": {**TINY["model"], "activation": "z" * 3000}}
    )
    (error,) = problem(r, 422)["errors"]
    assert error["field"] == "model.activation"
    assert error["input"].startswith("zzz")
    assert len(error["input"]) <= 200
    assert len(r.content) < 2000
    long_field = client.post(
        "/v1/sweeps", json={"base": TINY, "grid": {"model." + "q" * 3000: [1]}}
    )
    assert len(long_field.content) < 4000
    problem(long_field, 422)


@pytest.mark.parametrize(
    "path",
    [
        "/v1/experiments/{id}:result",
        "/v1/experiments/{id}:result/stats",
        "/v1/experiments/{id}:cancel/cancel",
        "/v1/experiments/nope",
        "/v1/experiments/{id}X/plots/gradient-profile.png",
        "/v1/sweeps/{id}:x",
    ],
)
def test_malformed_ids_are_404(client: TestClient, path: str) -> None:
    exp = client.post("/v1/experiments", json=TINY).json()
    url = path.format(id=exp["id"])
    problem(client.get(url) if "cancel" not in url else client.post(url), 404)
    problem(client.delete(url.split("/stats")[0]), 404) if "stats" in url else None


def test_ids_in_a_comparison_are_checked_too(client: TestClient) -> None:
    r = client.get("/v1/compare/plots/gradient-profile.svg?ids=abc:result")
    problem(r, 404)
    assert json.loads(r.text)["detail"].startswith("No experiment")
