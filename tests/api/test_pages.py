"""The lab and the API docs are served from the package, with no third-party host named."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

#: Anything fetched from elsewhere: a script, a style sheet or a font of a CDN.
REMOTE = re.compile(r"""(src|href)=["']?(https?:)?//""")


@pytest.mark.parametrize("path", ["/docs", "/redoc", "/"])
def test_pages_load_their_assets_from_the_package(client: TestClient, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert not REMOTE.search(r.text), REMOTE.search(r.text)
    local = re.findall(r"""(?:src|href)=["']?(/static/[^"' >]+)""", r.text)
    assert local, "the page loads its scripts from /static"
    for url in local:
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert len(asset.content) > 0


def test_vendored_libraries_carry_their_licences(client: TestClient) -> None:
    for lib in ("swagger-ui", "redoc", "uplot"):
        r = client.get(f"/static/vendor/{lib}/LICENSE")
        assert r.status_code == 200
        assert "Permission is hereby granted" in r.text or "Apache License" in r.text


def test_the_docs_are_not_in_the_api_description(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert not {"/", "/docs", "/redoc"} & set(paths)
    assert "/v1/experiments/{experiment_id}/events" in paths


def test_the_lab_presets_are_the_examples() -> None:
    import json
    from pathlib import Path

    import gradatlas.examples as ex
    from api.routers.pages import STATIC_DIR

    presets = json.loads(Path(STATIC_DIR, "lab", "presets.json").read_text())
    assert [p["name"] for p in presets] == ex.names(), "run `make presets`"
    for p in presets:
        assert p["spec"] == json.loads(ex.read_text(p["name"])), "run `make presets`"
        assert p["description"] == ex.DESCRIPTIONS[p["name"]]
