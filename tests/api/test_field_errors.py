"""FieldErrors from the API's producers (server limits, query checks) and on the wire."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.limits import check_limits
from api.problems import QueryError, install
from core.errors import FieldError, SpecError
from core.settings import Settings
from core.spec import ExperimentSpec

SPEC = ExperimentSpec.model_validate({"model": {"depth": 10, "width": 64, "activation": "relu"}})


def test_server_limits_name_field_limit_and_input() -> None:
    settings = Settings(max_depth=4, max_width=32)
    with pytest.raises(SpecError) as info:
        check_limits(SPEC, settings)
    assert info.value.errors[:2] == [
        FieldError(
            "model.depth",
            "this server runs at most 4 hidden layers (GRADATLAS_MAX_DEPTH); asked for 10",
            limit={"le": 4},
            input=10,
        ),
        FieldError(
            "model.width",
            "this server runs hidden layers of at most 32 units (GRADATLAS_MAX_WIDTH); "
            "asked for 64",
            limit={"le": 32},
            input=64,
        ),
    ]
    assert info.value.detail.startswith("2 fields exceed a server limit: model.depth: ")
    check_limits(SPEC, Settings(max_depth=10, max_width=64))  # at the limit: fine


def test_query_error_from_a_spec_error_is_in_the_query() -> None:
    exc = SpecError("bad", [FieldError("names", "unknown"), FieldError("x_max", "low", input=1)])
    assert [(e.field, e.in_) for e in QueryError.of(exc).errors] == [
        ("names", "query"),
        ("x_max", "query"),
    ]
    (only,) = QueryError.of(SpecError("nothing named")).errors
    assert (only.field, only.message, only.in_) == ("query", "nothing named", "query")


@pytest.fixture
def client() -> TestClient:
    app = FastAPI()
    install(app, retry_after_s=1)

    @app.get("/spec")
    def spec() -> None:
        raise SpecError("1 field is invalid", [FieldError("model.depth", "no", limit={"le": 5})])

    @app.get("/query")
    def query(x: float = 0.0) -> None:
        raise QueryError([FieldError("x", "x must be positive", input=x)])

    return TestClient(app, base_url="http://localhost")


def test_a_spec_error_is_an_invalid_spec_problem(client: TestClient) -> None:
    r = client.get("/spec")
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = r.json()
    assert body["type"] == "urn:gradatlas:problem:invalid-spec"
    assert body["detail"] == "1 field is invalid"
    assert body["errors"] == [{"field": "model.depth", "message": "no", "limit": {"le": 5}}]


def test_a_query_error_is_the_same_422_as_fastapis_own(client: TestClient) -> None:
    ours = client.get("/query", params={"x": -1}).json()
    assert ours["type"] == "urn:gradatlas:problem:invalid-request"
    assert ours["title"] == "Invalid request"
    assert ours["detail"] == "1 field is invalid: x: x must be positive"
    assert ours["errors"] == [
        {"field": "x", "message": "x must be positive", "in": "query", "input": -1.0}
    ]
    theirs = client.get("/query", params={"x": "abc"}).json()  # FastAPI's validation
    assert (theirs["type"], theirs["title"]) == (ours["type"], ours["title"])
    assert theirs["errors"][0]["field"] == "x"
    assert theirs["errors"][0]["in"] == "query"
