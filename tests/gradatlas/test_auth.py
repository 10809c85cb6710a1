"""The client against an API with keys: ``api_key=`` or ``$GRADATLAS_API_KEY`` as a bearer token."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from service_procs import serve

from api.app import create_app
from core.settings import Settings
from core.store import Store
from gradatlas import AsyncClient, Client
from gradatlas.errors import NotFound, Unauthorized

SPEC: dict[str, Any] = {
    "model": {"depth": 2, "width": 8, "activation": "relu"},
    "data": {"dataset": "xor", "n_samples": 120},
    "training": {"epochs": 1},
}


@pytest.fixture
def base_url(settings: Settings, store: Store) -> Iterator[str]:
    keyed = Settings(
        **settings.model_dump(exclude={"api_keys"}),
        api_keys="ann=ann-key-123,ben=ben-key-456",
    )
    with serve(create_app(keyed, store=store)) as base:
        yield base


def test_the_key_is_sent_and_scopes_what_the_client_sees(base_url: str) -> None:
    with (
        Client(base_url, api_key="ann-key-123") as ann,
        Client(base_url, api_key="ben-key-456") as ben,
    ):
        exp = ann.submit(SPEC)
        assert exp["owner"] == "ann"
        assert ann.get(exp["id"])["id"] == exp["id"]
        with pytest.raises(NotFound):
            ben.get(exp["id"])
        assert [e["id"] for e in ann.list()["items"]] == [exp["id"]]
        assert ben.list()["items"] == []


def test_no_or_a_wrong_key_is_unauthorized(base_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GRADATLAS_API_KEY", raising=False)
    with Client(base_url) as nobody, pytest.raises(Unauthorized):
        nobody.list()
    with Client(base_url, api_key="ann-key-12") as wrong, pytest.raises(Unauthorized):
        wrong.list()


def test_the_key_comes_from_the_environment(base_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRADATLAS_API_KEY", "ben-key-456")
    with Client(base_url) as ben:
        assert ben.submit(SPEC)["owner"] == "ben"

    async def listed() -> int:
        async with AsyncClient(base_url) as client:
            return len((await client.list())["items"])

    assert asyncio.run(listed()) == 1
