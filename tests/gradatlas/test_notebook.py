"""Jupyter helpers: statistics as NumPy arrays, an experiment that shows its profile inline."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import anyio
import numpy as np
import pytest
from service_procs import serve, wait_until

from api.app import create_app
from core.run_result import RunResult
from core.settings import Settings
from core.store import Store
from gradatlas import AsyncClient, Client
from worker.runner import ExperimentRunner

SPEC = {
    "model": {"depth": 3, "width": 8, "activation": "sigmoid"},
    "data": {"dataset": "moons", "n_samples": 100},
    "training": {"epochs": 1},
}
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def api(settings: Settings, store: Store) -> Iterator[Client]:
    with serve(create_app(settings, store=store)) as base, Client(base) as client:
        yield client


def test_stats_as_arrays_are_the_json_stats(api: Client, store: Store, settings: Settings) -> None:
    exp_id = api.submit(SPEC)["id"]
    ExperimentRunner(store, settings).run(exp_id)
    plain = api.stats(exp_id)
    arrays = api.stats(exp_id, as_arrays=True)
    assert isinstance(arrays, RunResult)
    grad = arrays.stats["grad_norm"]
    assert isinstance(grad, np.ndarray)
    assert grad.shape == (len(plain["steps"]), len(plain["layers"]))
    np.testing.assert_array_equal(grad, np.array(plain["stats"]["grad_norm"], dtype=grad.dtype))
    # The async client reads the same arrays.
    base = str(api.http.base_url).rstrip("/")

    async def read() -> RunResult:
        async with AsyncClient(base) as client:
            return await client.stats(exp_id, as_arrays=True)

    np.testing.assert_array_equal(anyio.run(read).stats["grad_norm"], grad)


def test_an_experiment_shows_its_gradient_profile_inline(
    api: Client, store: Store, settings: Settings
) -> None:
    exp = api.experiment(api.submit(SPEC)["id"])
    assert exp._repr_png_() is None  # queued: nothing to draw yet
    assert "queued" in exp._repr_html_()
    ExperimentRunner(store, settings).run(exp.id)
    assert exp.wait(timeout=10)["status"] == "succeeded"
    png = exp._repr_png_()
    assert png is not None
    assert png.startswith(PNG)
    # GET /v1/experiments/{id} may answer from its short cache (GRADATLAS_STATUS_CACHE_S).
    wait_until(lambda: exp.info()["status"] == "succeeded", timeout=5, what="the status")
    page = exp._repr_html_()
    assert "data:image/png;base64," in page
    assert "verdict:" in page
    assert exp.stats().stats["grad_norm"].shape[1] == 4


def test_the_notebook_example_is_a_script_beside_the_specs() -> None:
    from gradatlas import examples

    path = Path(examples.__file__).with_name("sweep_notebook.py")
    tree = ast.parse(path.read_text())
    assert "sweep_notebook" not in examples.names()  # `gradatlas spec --list` lists specs only
    calls = {
        n.func.attr for n in ast.walk(tree) if isinstance(n, ast.Call) and hasattr(n.func, "attr")
    }
    assert {"submit_sweep", "wait_sweep", "stats", "experiment"} <= calls
