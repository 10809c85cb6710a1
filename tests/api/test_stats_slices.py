"""``GET /v1/experiments/{id}/stats?layers=&stats=&every=``: a slice of the result, checked
against the whole result served by the same route."""

from __future__ import annotations

import json
from typing import Any

import pytest
from api_support import app_settings
from api_support import problem as api_problem
from fastapi.testclient import TestClient

from core.settings import Settings
from core.spec import LAYER_STATS
from core.store import Store, encode_result
from worker.runner import ExperimentRunner

SPEC: dict[str, Any] = {
    "seed": 2,
    "model": {"depth": 4, "width": 8, "activation": "tanh", "batch_norm": True},
    "data": {"dataset": "xor", "n_samples": 120},
    "training": {"epochs": 3, "batch_size": 16},
    "recording": {"every_steps": 1},
}


@pytest.fixture
def settings(store: Store, redis_server: Any) -> Settings:
    return app_settings(store, redis_server.url, progress_every_s=0.05)


@pytest.fixture
def finished(client: TestClient, store: Store, settings: Settings) -> str:
    r = client.post("/v1/experiments", json=SPEC)
    assert r.status_code == 202, r.text
    exp_id: str = r.json()["id"]
    assert ExperimentRunner(store, settings).run(exp_id).kind == "succeeded"
    return exp_id


def stats_of(client: TestClient, exp_id: str, **params: str | int) -> Any:
    r = client.get(f"/v1/experiments/{exp_id}/stats", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def test_a_slice_keeps_the_chosen_layers_stats_and_records(
    client: TestClient, finished: str
) -> None:
    whole = stats_of(client, finished)
    n_records = len(whole["steps"])
    assert n_records > 6
    part = stats_of(client, finished, layers="0,2", stats="grad_norm,backprop_norm", every=3)
    assert part["layers"] == [whole["layers"][0], whole["layers"][2]]
    assert part["steps"] == whole["steps"][::3]
    assert set(part["stats"]) == {"grad_norm", "backprop_norm"}
    for name in part["stats"]:
        want = [[row[0], row[2]] for row in whole["stats"][name][::3]]
        assert part["stats"][name] == want, name
    assert part["grad_histogram"]["steps"] == whole["grad_histogram"]["steps"]
    assert part["grad_histogram"]["counts"] == [
        [per[0], per[2]] for per in whole["grad_histogram"]["counts"]
    ]
    bn = whole["batch_norm"]
    assert part["batch_norm"]["layers"] == [bn["layers"][0], bn["layers"][2]]
    assert part["batch_norm"]["gamma_norm"] == [[r[0], r[2]] for r in bn["gamma_norm"][::3]]
    for key in ("metrics", "summary", "diagnosis", "theory"):
        assert part[key] == whole[key], key


def test_ranges_orders_and_defaults(client: TestClient, finished: str) -> None:
    whole = stats_of(client, finished)
    assert stats_of(client, finished, layers="1-3") == stats_of(client, finished, layers="1,2,3")
    # Layers come in the order asked for; the output layer (last) has no batch norm.
    last = len(whole["layers"]) - 1
    part = stats_of(client, finished, layers=f"{last},0")
    assert [la["index"] for la in part["layers"]] == [last, 0]
    assert part["batch_norm"]["layers"] == [whole["batch_norm"]["layers"][0]]
    assert stats_of(client, finished, stats="weight_norm")["stats"].keys() == {"weight_norm"}
    # every alone keeps every layer and statistic.
    thinned = stats_of(client, finished, every=2)
    assert thinned["stats"].keys() == whole["stats"].keys()
    assert thinned["stats"]["grad_mean"] == whole["stats"]["grad_mean"][::2]


def test_a_slice_is_gzipped_on_request_and_has_its_own_etag(
    client: TestClient, finished: str
) -> None:
    url = f"/v1/experiments/{finished}/stats"
    whole = client.get(url, headers={"Accept-Encoding": "identity"})
    raw = client.get(url, params={"layers": "0", "every": 2}, headers={"Accept-Encoding": "gzip"})
    assert raw.headers["content-encoding"] == "gzip"
    plain = client.get(
        url, params={"layers": "0", "every": 2}, headers={"Accept-Encoding": "identity"}
    )
    assert "content-encoding" not in plain.headers
    assert raw.json() == plain.json()
    assert len(plain.content) < len(whole.content)  # the slice is smaller than the whole
    tag = raw.headers["etag"]
    assert tag != whole.headers["etag"]
    again = client.get(url, params={"layers": "0", "every": 2}, headers={"If-None-Match": tag})
    assert again.status_code == 304
    other = client.get(url, params={"layers": "1", "every": 2}, headers={"If-None-Match": tag})
    assert other.status_code == 200


def test_a_running_experiments_partial_result_slices_too(client: TestClient, store: Store) -> None:
    r = client.post("/v1/experiments", json=SPEC)
    exp_id = r.json()["id"]
    store.claim(exp_id, worker="w", max_attempts=3, lease_s=30)
    partial: Any = {
        "layers": [{"index": i, "name": f"dense_{i}", "fan_in": 8, "fan_out": 8} for i in range(3)],
        "steps": [0, 1, 2],
        "stats": {"grad_norm": [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]]},
        "grad_histogram": {"steps": [], "bin_edges_log10": [], "counts": []},
    }
    store.renew(exp_id, 1, lease_s=30, progress={"step": 1}, result=encode_result(partial))
    got = client.get(f"/v1/experiments/{exp_id}/stats", params={"layers": "2", "every": 2})
    assert got.status_code == 200
    assert "etag" not in got.headers
    assert got.json()["stats"] == {"grad_norm": [[3.0], [9.0]]}
    assert got.json()["steps"] == [0, 2]


def problem(r: Any) -> dict[str, Any]:
    return api_problem(r, 422)


@pytest.mark.parametrize(
    ("params", "field", "expect"),
    [
        ({"layers": "a"}, "layers", {}),
        ({"layers": "3-1"}, "layers", {}),
        ({"stats": "grad_norm,nope"}, "stats", {"allowed": list(LAYER_STATS)}),
        ({"every": 0}, "every", {"limit": {"ge": 1}}),
        ({"every": 10**7}, "every", {"limit": {"le": 1_000_000}}),
        ({"layers": "0," * 1001}, "layers", {"limit": {"max_length": 2000}}),
    ],
    ids=["not-an-index", "backward-range", "unknown-stat", "every-0", "every-huge", "too-long"],
)
def test_bad_slices_are_422_naming_the_parameter_and_its_limit(
    client: TestClient, finished: str, params: dict[str, Any], field: str, expect: dict[str, Any]
) -> None:
    body = problem(client.get(f"/v1/experiments/{finished}/stats", params=params))
    (error,) = body["errors"]
    assert error["field"] == field
    assert error["in"] == "query"
    for key, value in expect.items():
        assert error[key] == value, key


def test_a_layer_beyond_the_result_is_422_with_the_last_index(
    client: TestClient, finished: str
) -> None:
    n = len(stats_of(client, finished)["layers"])
    body = problem(client.get(f"/v1/experiments/{finished}/stats", params={"layers": f"0,{n}"}))
    (error,) = body["errors"]
    assert error["field"] == "layers"
    assert error["limit"] == {"le": n - 1}
    assert error["input"] == n
    assert json.dumps(body)  # a plain JSON problem


def test_the_client_asks_for_the_same_slice(client: TestClient, finished: str) -> None:
    from gradatlas.client import Client

    api = Client("http://testserver", http=client)
    got = api.stats(finished, layers=[0, range(2, 4)], stats=["grad_norm"], every=2)
    assert got == stats_of(client, finished, layers="0,2-3", stats="grad_norm", every=2)
    assert api.stats(finished) == stats_of(client, finished)
    with pytest.raises(ValueError, match="step 1"):
        api.stats(finished, layers=[range(0, 4, 2)])
