"""Theory, activations, the derivatives demo and remedies over HTTP."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from insight_support import (
    TINY,
    VANISHING,
    check_image,
    finished,
    is_problem,
    service,
    settings_of,
    submit,
)
from service_procs import RedisServer

from core.diagnosis import apply_remedy
from core.spec import ACTIVATION_NAMES, ExperimentSpec
from core.store import Store


@pytest.fixture(scope="module")
def app(redis_server: RedisServer) -> Iterator[tuple[TestClient, Store]]:
    with service(redis_server) as pair:
        yield pair


# --- theory -----------------------------------------------------------------


def test_theory_known_values(app: tuple[TestClient, Store]) -> None:
    c, _ = app
    # lecun_normal on a square network is sigma_w^2 = 1.
    r = c.get("/v1/theory", params={"activation": "sigmoid", "init": "lecun_normal", "depth": 20})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["sigma_w2"] == pytest.approx(1.0)
    assert body["q_star"] == pytest.approx(0.265, abs=5e-4)
    assert body["chi_1"] == pytest.approx(0.0557, abs=5e-5)
    assert body["applies"] is True
    assert len(body["backprop_profile_log10"]) == 21
    # Twenty layers of sqrt(0.0557) and a bit: about 10^-12.
    assert -13 < body["backprop_ratio_log10"] < -11
    relu = c.get("/v1/theory", params={"activation": "relu", "init": "he_normal", "depth": 5})
    assert relu.json()["chi_1"] == pytest.approx(1.0, abs=1e-9)
    tanh = c.get("/v1/theory", params={"activation": "tanh", "depth": 5}).json()
    assert tanh["init"] == "xavier_normal"
    assert tanh["chi_1"] == pytest.approx(1.0, abs=1e-9)
    assert tanh["q_star"] == pytest.approx(0.0, abs=1e-9)


def test_theory_with_batch_norm_uses_the_batch_recursion(
    app: tuple[TestClient, Store],
) -> None:
    c, _ = app
    params = {"activation": "relu", "init": "he_normal", "depth": 10, "batch_norm": "true"}
    body = c.get("/v1/theory", params=params).json()
    assert body["applies"] is True
    assert body["method"] == "batch_norm_monte_carlo"
    assert "Batch norm" in body["note"]
    assert body["batch_norm_rate"] == pytest.approx(math.pi / (math.pi - 1), rel=1e-6)
    assert body["backprop_ratio_log10"] > 0.5  # batch norm grows toward the input
    both = c.get("/v1/theory", params={**params, "residual": "true"}).json()
    assert both["applies"] is False


def test_theory_edge_of_chaos_over_http(app: tuple[TestClient, Store]) -> None:
    c, _ = app
    relu = c.get("/v1/theory", params={"activation": "relu", "depth": 20}).json()
    assert relu["chi_1"] == pytest.approx(0.5)  # the limit at q* = 0, not phi'(0) = 0
    assert relu["factor_per_layer"] == pytest.approx(math.sqrt(0.5))
    assert relu["phase"] == "ordered"
    phases = [
        c.get(
            "/v1/theory",
            params={"activation": "tanh", "init": "lecun_normal", "depth": 20, "init_gain": g},
        ).json()["phase"]
        for g in (0.7, 1.0, 1.4)
    ]
    assert phases == ["ordered", "critical", "chaotic"]
    biased = c.get("/v1/theory", params={"activation": "tanh", "depth": 20, "bias_std": 0.5}).json()
    assert biased["sigma_b2"] == pytest.approx(0.25)
    assert biased["q_star"] > 0


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"activation": "softmax", "depth": 3}, "activation"),
        ({"activation": "relu", "depth": 0}, "depth"),
        ({"activation": "relu", "depth": 3, "init": "kaiming"}, "init"),
        ({"activation": "relu", "depth": 3, "width": 99999}, "width"),
        ({"activation": "relu", "depth": 3, "negative_slope": 2}, "negative_slope"),
        ({"activation": "relu"}, "depth"),
        ({"activation": "relu", "depth": 3, "init_gain": 0}, "init_gain"),
        ({"activation": "relu", "depth": 3, "bias_std": -1}, "bias_std"),
    ],
)
def test_theory_bad_arguments_are_422_naming_the_parameter(
    app: tuple[TestClient, Store], params: dict[str, object], field: str
) -> None:
    c, _ = app
    body = is_problem(c.get("/v1/theory", params=params), 422)
    assert [e["field"] for e in body["errors"]] == [field]
    assert body["errors"][0]["in"] == "query"
    if field == "activation":
        assert "relu" in body["errors"][0]["allowed"]


# --- activations --------------------------------------------------------------


def test_activations_list(app: tuple[TestClient, Store]) -> None:
    c, _ = app
    body = c.get("/v1/activations").json()
    by_name = {a["name"]: a for a in body["activations"]}
    assert set(by_name) == set(ACTIVATION_NAMES)
    assert body["flat_threshold"] == 1e-2
    sigmoid = by_name["sigmoid"]
    assert sigmoid["derivative_max"] == pytest.approx(0.25)
    assert sigmoid["derivative_max_at"] == pytest.approx(0.0)
    (left, right) = sigmoid["flat_ranges"]
    assert left[0] is None
    assert left[1] == pytest.approx(-4.585, abs=1e-3)
    assert right == [pytest.approx(4.585, abs=1e-3), None]
    assert by_name["relu"]["flat_ranges"] == [[None, 0.0]]
    assert by_name["linear"]["flat_ranges"] == []
    assert all(a["formula"] and a["derivative"] for a in body["activations"])
    assert body["links"]["derivatives"].startswith("/v1/activations/plots/derivatives.png")


@pytest.mark.parametrize("fmt", ["png", "svg"])
def test_derivatives_plot_cached_by_query(app: tuple[TestClient, Store], fmt: str) -> None:
    c, _ = app
    url = f"/v1/activations/plots/derivatives.{fmt}"
    r = c.get(url, params={"names": "sigmoid,relu", "x_min": -6, "x_max": 6})
    data = check_image(r, fmt)
    if fmt == "svg":
        assert b"max 0.25" in data  # sigmoid's peak, annotated
    etag = r.headers["etag"]
    again = c.get(url, params={"names": "sigmoid,relu"}, headers={"If-None-Match": etag})
    assert again.status_code == 304
    other = c.get(url, params={"names": "sigmoid,relu", "x_max": 4})
    assert other.headers["etag"] != etag
    default = c.get(url)
    check_image(default, fmt)
    assert c.get(url, params={"names": "all"}).status_code == 200


def test_derivatives_plot_problems(app: tuple[TestClient, Store]) -> None:
    c, _ = app
    url = "/v1/activations/plots/derivatives.png"
    body = is_problem(c.get(url, params={"names": "sigmoid,softmax"}), 422)
    assert [e["field"] for e in body["errors"]] == ["names"]
    assert "softmax" in body["errors"][0]["message"]
    body = is_problem(c.get(url, params={"x_min": 2, "x_max": 1}), 422)
    assert [e["field"] for e in body["errors"]] == ["x_max"]
    body = is_problem(c.get(url, params={"x_min": -1000}), 422)
    assert [e["field"] for e in body["errors"]] == ["x_min"]
    is_problem(c.get("/v1/activations/plots/derivative.png"), 404)
    is_problem(c.get("/v1/activations/plots/derivatives.gif"), 404)


# --- remedies -------------------------------------------------------------------


@pytest.fixture(scope="module")
def vanishing(app: tuple[TestClient, Store]) -> str:
    c, store = app
    return finished(c, store, VANISHING)


def test_a_remedy_creates_the_changed_experiment_with_the_same_seed(
    app: tuple[TestClient, Store], vanishing: str
) -> None:
    c, store = app
    before = c.get(f"/v1/experiments/{vanishing}").json()
    assert before["diagnosis"]["verdict"] == "vanishing"
    remedies = before["diagnosis"]["remedies"]
    assert len(remedies) >= 2
    for k in (0, 1):
        r = c.post(f"/v1/experiments/{vanishing}/remedies/{k}")
        assert r.status_code == 202, r.text
        after = r.json()
        assert r.headers["location"] == f"/v1/experiments/{after['id']}"
        assert after["status"] == "queued"
        expected = apply_remedy(ExperimentSpec.model_validate(before["spec"]), remedies[k])
        spec = ExperimentSpec.model_validate(after["spec"])
        assert spec.model_copy(update={"name": expected.name}) == expected
        assert spec.seed == VANISHING["seed"]
        assert spec.name == f"sigmoid-8 +remedy {k}"
        assert store.get(after["id"]).meta == {"derived_from": vanishing, "remedy": str(k)}
        assert after["meta"] == {"derived_from": vanishing, "remedy": str(k)}  # shown over HTTP
        for path, value in remedies[k]["change"].items():
            section, field = path.split(".")
            assert after["spec"][section][field] == value
    # Dispatched like any experiment: its message is on the queue.
    assert store.queue_depth(settings_of(c).queue) >= 2


def test_remedy_out_of_range_or_too_early(app: tuple[TestClient, Store], vanishing: str) -> None:
    c, _ = app
    n = len(c.get(f"/v1/experiments/{vanishing}").json()["diagnosis"]["remedies"])
    body = is_problem(c.post(f"/v1/experiments/{vanishing}/remedies/{n}"), 404)
    assert body["remedies"] == n
    assert f"0 .. {n - 1}" in body["detail"]
    is_problem(c.post(f"/v1/experiments/{vanishing}/remedies/-1"), 422)
    queued = submit(c, TINY)
    body = is_problem(c.post(f"/v1/experiments/{queued}/remedies/0"), 409)
    assert "queued" in body["detail"]
    is_problem(c.post(f"/v1/experiments/{'0' * 24}/remedies/0"), 404)


def test_a_remedy_meets_the_server_limits(redis_server: RedisServer) -> None:
    # The same 422 as a POST: here the original's depth is over this server's limit.
    with service(redis_server) as (c, store), service(redis_server, max_depth=4) as (c2, store2):
        record = store.get(finished(c, store, VANISHING))
        moved = store2.create(record.spec)
        claim = store2.claim(moved.id, worker="w@test", max_attempts=1, lease_s=60)
        store2.finish(moved.id, "succeeded", attempt=claim.attempt, diagnosis=record.diagnosis)
        body = is_problem(c2.post(f"/v1/experiments/{moved.id}/remedies/0"), 422)
        assert [e["field"] for e in body["errors"]] == ["model.depth"]
        assert "GRADATLAS_MAX_DEPTH" in body["detail"]


# --- OpenAPI --------------------------------------------------------------------


def test_openapi_documents_the_insight_routes(app: tuple[TestClient, Store]) -> None:
    c, _ = app
    schema = c.get("/openapi.json").json()
    paths = schema["paths"]
    for path in (
        "/v1/experiments/{experiment_id}/plots/{filename}",
        "/v1/compare/plots/{filename}",
        "/v1/experiments/{experiment_id}/remedies/{k}",
        "/v1/theory",
        "/v1/activations",
        "/v1/activations/plots/{filename}",
        "/v1/sweeps",
        "/v1/sweeps/{sweep_id}",
        "/v1/sweeps/{sweep_id}/cancel",
        "/v1/sweeps/{sweep_id}/plots/{filename}",
    ):
        assert path in paths, path
    post = paths["/v1/sweeps"]["post"]
    examples = post["requestBody"]["content"]["application/json"]["examples"]
    assert examples["activation-by-depth"]["value"]["grid"]["model.depth"] == [5, 10, 20, 40]
    assert "application/problem+json" in post["responses"]["422"]["content"]
    plot = paths["/v1/experiments/{experiment_id}/plots/{filename}"]["get"]
    assert set(plot["responses"]["200"]["content"]) == {
        "image/png",
        "image/svg+xml",
        "application/pdf",
    }
    assert "application/problem+json" in plot["responses"]["404"]["content"]
    assert "0" in paths["/v1/experiments/{experiment_id}/remedies/{k}"]["post"]["description"]
