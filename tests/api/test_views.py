"""What every route serves, checked against the view it declares (``core.views``).

The routes serialise their views themselves (FastAPI does not re-validate a
``Response``), so nothing else would notice a body drifting from its
``response_model``. Here every route of the real app is called over a real
Redis; each success is validated strictly against its model, each error
against ``ProblemView``. A new route with a ``response_model`` fails
``test_every_view_route_is_exercised`` until it has a call below.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, cast

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from insight_support import TINY, VANISHING, finished, service, submit
from pydantic import TypeAdapter, ValidationError
from service_procs import RedisServer

from core import plots
from core.store import Store
from core.views import (
    COMPARE_PLOT_NAMES,
    PLOT_NAMES,
    STATUSES,
    SWEEP_PLOT_NAMES,
    ProblemView,
)

PROBLEM = TypeAdapter(ProblemView)
UNKNOWN = "0123456789abcdef01234567"
SWEEP = {"name": "views", "base": TINY, "grid": {"model.depth": [2, 3]}}


@dataclass
class World:
    client: TestClient
    store: Store
    #: Path parameters by name, for the calls that should succeed.
    params: dict[str, str] = field(default_factory=dict)

    @property
    def app(self) -> FastAPI:
        return cast(FastAPI, self.client.app)


@pytest.fixture(scope="module")
def world(redis_server: RedisServer) -> Iterator[World]:
    with service(redis_server) as (client, store):
        w = World(client, store)
        w.params["experiment_id"] = finished(client, store, VANISHING)
        w.params["k"] = "0"
        r = client.post("/v1/sweeps", json=SWEEP)
        assert r.status_code == 202, r.text
        w.params["sweep_id"] = r.json()["id"]
        store.beat("views-worker", ttl_s=60)  # so /readyz answers ready
        yield w


def api_routes(app: FastAPI) -> list[tuple[str, str, APIRoute]]:
    """``(method, full path, route)`` of every route of ``app``."""
    return [
        (m, str(c.path), c.original_route)
        for c in iter_route_contexts(app.routes)
        if isinstance(c.original_route, APIRoute)
        for m in sorted(c.methods or ())
    ]


def view_routes(app: FastAPI) -> list[tuple[str, str, APIRoute]]:
    """Those of ``api_routes`` that declare a response model."""
    return [(m, p, r) for m, p, r in api_routes(app) if r.response_model is not None]


def fill(path: str, params: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: params[m.group(1)], path)


def queued(w: World) -> dict[str, str]:
    """Parameters naming an experiment and a sweep that are still queued."""
    r = w.client.post("/v1/sweeps", json=SWEEP)
    assert r.status_code == 202, r.text
    return {**w.params, "experiment_id": submit(w.client, TINY), "sweep_id": r.json()["id"]}


#: How to call each view route so that it succeeds: (query, JSON body, fresh queued ids?).
CALLS: dict[tuple[str, str], list[tuple[dict[str, Any], Any, bool]]] = {
    ("POST", "/v1/experiments"): [({}, TINY, False)],
    ("GET", "/v1/experiments"): [
        ({}, None, False),
        ({"status": "succeeded", "limit": 1}, None, False),
    ],
    ("GET", "/v1/experiments/{experiment_id}"): [({}, None, False), ({}, None, True)],
    ("POST", "/v1/experiments/{experiment_id}/cancel"): [({}, None, True)],
    ("POST", "/v1/experiments/{experiment_id}/remedies/{k}"): [({}, None, False)],
    ("POST", "/v1/sweeps"): [({}, SWEEP, False)],
    ("GET", "/v1/sweeps"): [({}, None, False), ({"limit": 1}, None, False)],
    ("GET", "/v1/sweeps/{sweep_id}"): [({}, None, False), ({}, None, True)],
    ("POST", "/v1/sweeps/{sweep_id}/cancel"): [({}, None, True)],
    ("GET", "/v1/sweeps/{sweep_id}/plots"): [({}, None, False)],
    ("GET", "/v1/experiments/{experiment_id}/stats"): [({}, None, False)],
    ("GET", "/v1/experiments/{experiment_id}/plots"): [({}, None, False), ({}, None, True)],
    ("GET", "/v1/theory"): [
        ({"activation": "sigmoid", "depth": 5}, None, False),
        (
            {"activation": "relu", "depth": 4, "init": "xavier_normal", "batch_norm": True},
            None,
            False,
        ),
        (
            {"activation": "tanh", "depth": 4, "residual": True, "batch_norm": True},
            None,
            False,
        ),
        ({"activation": "tanh", "depth": 4, "init_gain": 1.5, "bias_std": 0.2}, None, False),
    ],
    ("GET", "/v1/activations"): [({}, None, False)],
    ("GET", "/healthz"): [({}, None, False)],
    ("GET", "/readyz"): [({}, None, False)],
}


def validate(adapter: TypeAdapter[Any], body: Any, what: str) -> None:
    try:
        adapter.validate_python(body, strict=True)
    except ValidationError as e:
        pytest.fail(f"{what} does not match its declared view:\n{e}\n{body!r}")


def test_every_view_route_is_exercised(world: World) -> None:
    declared = {(m, p) for m, p, _ in view_routes(world.app)}
    assert declared, "no route declares a response_model"
    assert declared == set(CALLS)


def test_every_route_serves_its_declared_view(world: World) -> None:
    checked = 0
    for method, path, route in view_routes(world.app):
        adapter = TypeAdapter(route.response_model)
        for query, body, fresh in CALLS[(method, path)]:
            params = queued(world) if fresh else world.params
            url = fill(path, params)
            r = world.client.request(method, url, params=query, json=body)
            assert 200 <= r.status_code < 300, f"{method} {url}: {r.status_code} {r.text}"
            assert r.headers["content-type"] == "application/json"
            validate(adapter, r.json(), f"{method} {url} ({r.status_code})")
            checked += 1
    assert checked >= len(CALLS)


def test_a_key_the_view_lacks_fails_validation(world: World) -> None:
    # The check above would be toothless if views let unknown keys through.
    path = "/v1/experiments/{experiment_id}"
    route = next(r for m, p, r in view_routes(world.app) if p == path)
    body = world.client.get(fill(path, world.params)).json()
    adapter = TypeAdapter(route.response_model)
    adapter.validate_python(body, strict=True)
    with pytest.raises(ValidationError):
        adapter.validate_python({**body, "surprise": 1}, strict=True)
    with pytest.raises(ValidationError):
        adapter.validate_python({**body, "status": "lost"}, strict=True)


#: Requests that must fail, beyond an unknown id in every path (see below).
BAD: list[tuple[str, str, dict[str, Any], Any, int]] = [
    ("POST", "/v1/experiments", {}, {"model": {"depth": 900, "activation": "relu"}}, 422),
    ("POST", "/v1/experiments", {}, {"model": {"depth": 2}, "typo": 1}, 422),
    ("GET", "/v1/experiments", {"limit": 0}, None, 422),
    ("GET", "/v1/experiments", {"status": "lost"}, None, 422),
    ("POST", "/v1/sweeps", {}, {"base": TINY, "grid": {"model.depth": [2, 900]}}, 422),
    ("GET", "/v1/sweeps", {"cursor": "not-hex"}, None, 422),
    ("GET", "/v1/theory", {"activation": "nope", "depth": 3}, None, 422),
    ("GET", "/v1/compare/plots/gradient-profile.png", {"ids": ""}, None, 422),
    ("GET", "/v1/activations/plots/derivatives.png", {"names": "nope"}, None, 422),
    ("GET", "/v1/nowhere", {}, None, 404),
    ("DELETE", "/v1/experiments", {}, None, 405),
]


def check_problem(r: Any, status: int, what: str) -> None:
    assert r.status_code == status, f"{what}: {r.status_code} {r.text}"
    assert r.headers["content-type"] == "application/problem+json", what
    body = r.json()
    validate(PROBLEM, body, what)
    assert body["status"] == status


def test_every_error_is_a_problem_view(world: World) -> None:
    for method, path, query, body, status in BAD:
        r = world.client.request(method, path, params=query, json=body)
        check_problem(r, status, f"{method} {path} {query}")
    # Every route with a path parameter, asked about something that is not there.
    unknown = {"experiment_id": UNKNOWN, "sweep_id": UNKNOWN, "k": "0", "filename": "x.png"}
    asked = 0
    for method, path, _ in api_routes(world.app):
        if "{" not in path:
            continue
        url = fill(path, unknown)
        r = world.client.request(method, url, params={"ids": UNKNOWN})
        check_problem(r, 404, f"{method} {url}")
        asked += 1
    assert asked >= 8


def test_readiness_without_a_worker_is_a_problem_view(redis_server: RedisServer) -> None:
    with service(redis_server) as (client, _):
        check_problem(client.get("/readyz"), 503, "GET /readyz")


def test_plot_names_are_the_registries_keys() -> None:
    assert tuple(plots.PLOTS) == PLOT_NAMES
    assert tuple(plots.SWEEP_PLOTS) == SWEEP_PLOT_NAMES
    assert set(COMPARE_PLOT_NAMES) <= set(PLOT_NAMES)


def test_openapi_describes_the_views(world: World) -> None:
    schema = world.client.get("/openapi.json").json()
    components = schema["components"]["schemas"]
    for name in ("ExperimentView", "ExperimentPage", "SweepView", "SweepPage", "ProblemView"):
        assert name in components, name
    assert components["ExperimentView"]["properties"]["status"]["enum"] == list(STATUSES)
    ops = schema["paths"]["/v1/experiments/{experiment_id}"]["get"]["responses"]
    assert ops["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ExperimentView"
    }
    assert ops["404"]["content"]["application/problem+json"]["schema"] == {
        "$ref": "#/components/schemas/ProblemView"
    }
    # Every reference resolves: no schema names a component that is not there.
    refs = set(
        re.findall(r'"#/components/schemas/([^"]+)"', world.client.get("/openapi.json").text)
    )
    assert refs <= set(components), refs - set(components)
