"""Helpers shared by the insight API tests (plots, sweeps, theory, remedies).

A module-scoped app over the session's real redis-server, with the real Celery
producer (messages land in a private queue nobody consumes) and the worker's
own ``ExperimentRunner`` run in-process to finish experiments.
"""

from __future__ import annotations

import io
import struct
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

from api_support import api_client, app_settings
from fastapi import FastAPI
from fastapi.testclient import TestClient
from service_procs import RedisServer

from core.settings import Settings
from core.store import Store, connect
from worker.runner import ExperimentRunner

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
CSP = "default-src 'none'; style-src 'unsafe-inline'"

#: Trains in a fraction of a second.
TINY: dict[str, Any] = {
    "name": "tiny",
    "seed": 1,
    "model": {"depth": 3, "width": 8, "activation": "relu", "init": "he_normal"},
    "data": {"dataset": "xor", "n_samples": 120},
    "training": {"epochs": 2, "batch_size": 32},
}
#: Deep enough for sigmoid + Xavier to vanish (about 10^-0.6 per layer), still tiny.
VANISHING: dict[str, Any] = {
    **TINY,
    "name": "sigmoid-8",
    "seed": 7,
    "model": {"depth": 8, "width": 16, "activation": "sigmoid", "init": "xavier_normal"},
}


@contextmanager
def service(redis_server: RedisServer, **overrides: Any) -> Iterator[tuple[TestClient, Store]]:
    """An app and its store under a fresh key prefix and queue."""
    client = connect(redis_server.url)
    prefix = f"t{uuid.uuid4().hex[:10]}"
    store = Store(client, prefix=prefix, result_ttl_s=3600)
    settings = app_settings(
        store, redis_server.url, progress_every_s=0.05, **{"max_depth": 50, **overrides}
    )
    try:
        with api_client(settings, store) as c:
            yield c, store
    finally:
        client.close()


def settings_of(c: TestClient) -> Settings:
    settings: Settings = cast(FastAPI, c.app).state.settings
    return settings


def submit(c: TestClient, spec: dict[str, Any] = TINY) -> str:
    r = c.post("/v1/experiments", json=spec)
    assert r.status_code == 202, r.text
    exp_id: str = r.json()["id"]
    return exp_id


def run_it(c: TestClient, store: Store, exp_id: str) -> None:
    """Do what a worker does, in-process."""
    assert ExperimentRunner(store, settings_of(c)).run(exp_id).kind == "succeeded"


def finished(c: TestClient, store: Store, spec: dict[str, Any] = TINY) -> str:
    exp_id = submit(c, spec)
    run_it(c, store, exp_id)
    return exp_id


def is_problem(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = r.json()
    assert body["status"] == status
    assert body["detail"]
    return body


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk, after checking the magic."""
    assert data[:8] == PNG_MAGIC
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def svg_root(data: bytes) -> ET.Element:
    root = ET.parse(io.BytesIO(data)).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    return root


def check_image(r: Any, fmt: str) -> bytes:
    """A valid PNG (800 px wide), SVG or PDF, with the headers every image must carry."""
    assert r.status_code == 200, r.text
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["content-security-policy"] == CSP
    data: bytes = r.content
    if fmt == "png":
        assert r.headers["content-type"] == "image/png"
        width, height = png_size(data)
        assert width == 800
        assert 300 <= height <= 1000
    elif fmt == "pdf":
        assert r.headers["content-type"] == "application/pdf"
        assert data.startswith(b"%PDF-")
    else:
        assert r.headers["content-type"].startswith("image/svg+xml")
        svg_root(data)
    return data
