"""Fixtures of the API tests: a client of the app over the test's store (tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from api_support import api_client

from core.settings import Settings
from core.store import Store

if TYPE_CHECKING:  # imported by the test modules, under pytest's warning filters
    from fastapi.testclient import TestClient


@pytest.fixture
def client(settings: Settings, store: Store) -> Iterator[TestClient]:
    """The app of ``settings`` (the test module may override them) over ``store``."""
    with api_client(settings, store) as c:
        yield c
