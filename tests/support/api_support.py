"""The API under test, over the session's real redis-server: its settings, a client, errors.

One declaration of what every API test builds: settings with a key prefix and a queue of
their own (so tests never see each other's records or messages), and a ``TestClient`` on
``http://localhost`` (the Host allow-list's default).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from core.settings import Settings
from core.store import Store

if TYPE_CHECKING:
    from fastapi.testclient import TestClient


#: The smallest spec worth sending: trains in a few milliseconds.
TINY: dict[str, Any] = {
    "model": {"depth": 2, "width": 8, "activation": "relu"},
    "data": {"dataset": "xor", "n_samples": 120},
    "training": {"epochs": 1},
}


def app_settings(store: Store, redis_url: str, **overrides: Any) -> Settings:
    """Settings for an app over ``store``, with a queue of its own, and ``overrides``."""
    return Settings(
        redis_url=redis_url,
        key_prefix=store.prefix,
        queue=f"q-{uuid.uuid4().hex[:8]}",
        **overrides,
    )


@contextmanager
def api_client(settings: Settings, store: Store) -> Iterator[TestClient]:
    """The app of ``settings`` over ``store``, started and stopped around the block.

    The app and the test client are imported here, not with this module: tests/conftest.py
    imports it for ``app_settings`` before pytest's warning filters are in place.
    """
    from fastapi.testclient import TestClient

    from api.app import create_app

    with TestClient(create_app(settings, store=store), base_url="http://localhost") as c:
        yield c


def problem(r: Any, status: int) -> dict[str, Any]:
    """The problem+json body of ``r``, after checking its status and media type."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = r.json()
    assert body["status"] == status
    return body
