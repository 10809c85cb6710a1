"""Settings from the environment, as compose and `make run` pass them."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.settings import Settings


def test_an_empty_variable_is_an_unset_one(monkeypatch: pytest.MonkeyPatch) -> None:
    # docker-compose.yml passes `${GRADATLAS_API_KEYS_FILE:-}` through: "" when unset. As a
    # path, "" would be the working directory, and the API would refuse to start.
    monkeypatch.setenv("GRADATLAS_API_KEYS_FILE", "")
    monkeypatch.setenv("GRADATLAS_API_KEYS", "alice=k1")
    monkeypatch.setenv("GRADATLAS_MAX_DEPTH", "")
    s = Settings()
    assert s.api_keys_file is None
    assert s.key_ring.tenants == {"alice"}
    assert s.max_depth == Settings.model_fields["max_depth"].default


def test_a_keys_file_that_is_not_a_file_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("GRADATLAS_API_KEYS_FILE", str(tmp_path))
    with pytest.raises(ValueError, match="GRADATLAS_API_KEYS_FILE cannot be read"):
        Settings()
