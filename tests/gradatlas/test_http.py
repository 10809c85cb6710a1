"""The HTTP client against the real API served by uvicorn (in a thread) and a real Redis."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from service_procs import free_port, serve

from api.app import create_app
from core.settings import Settings
from core.spec import ExperimentSpec
from core.store import Store
from gradatlas.client import ApiError, GradatlasClient
from worker.runner import ExperimentRunner

SPEC = ExperimentSpec.model_validate(
    {
        "model": {"depth": 2, "width": 8, "activation": "relu"},
        "data": {"dataset": "xor", "n_samples": 120},
        "training": {"epochs": 2},
    }
)


@pytest.fixture
def base_url(settings: Settings, store: Store) -> Iterator[str]:
    with serve(create_app(settings, store=store)) as base:
        yield base


@pytest.fixture
def api(base_url: str) -> Iterator[GradatlasClient]:
    with GradatlasClient(base_url, owner="tests", timeout=10) as client:
        yield client


def test_submit_wait_and_read_stats(api: GradatlasClient, store: Store, settings: Settings) -> None:
    exp = api.submit(SPEC)
    assert exp["status"] == "queued"
    assert exp["owner"] == "tests"
    ExperimentRunner(store, settings).run(exp["id"])  # what a worker does
    seen: list[str] = []
    done = api.wait(
        exp["id"], timeout=10, poll_s=0.05, on_progress=lambda e: seen.append(e["status"])
    )
    assert done["status"] == "succeeded"
    assert seen[-1] == "succeeded"
    assert api.stats(exp["id"]) == store.load_result(exp["id"])


def test_a_bad_spec_raises_with_the_fields(api: GradatlasClient) -> None:
    with pytest.raises(ApiError) as info:
        api.submit({"model": {"depth": 2, "activation": "nope"}})
    assert info.value.status == 422
    assert [e["field"] for e in info.value.errors] == ["model.activation"]
    assert "model.activation" in str(info.value)


def test_not_found_and_conflicts_raise(api: GradatlasClient) -> None:
    with pytest.raises(ApiError) as info:
        api.get("does-not-exist")
    assert info.value.status == 404
    exp = api.submit(SPEC)
    with pytest.raises(ApiError) as info:
        api.delete(exp["id"])
    assert info.value.status == 409
    assert api.cancel(exp["id"])["status"] == "cancelled"
    api.delete(exp["id"])
    with pytest.raises(ApiError):
        api.get(exp["id"])


def test_iterate_across_pages(api: GradatlasClient) -> None:
    ids = [api.submit(SPEC)["id"] for _ in range(5)]
    assert [e["id"] for e in api.iter_experiments(page_size=2)] == ids[::-1]
    assert [e["id"] for e in api.iter_experiments(status="running")] == []


def test_wait_times_out(api: GradatlasClient) -> None:
    exp = api.submit(SPEC)
    with pytest.raises(TimeoutError, match="still queued"):
        api.wait(exp["id"], timeout=0.2, poll_s=0.05)


def test_health_checks(api: GradatlasClient, store: Store) -> None:
    assert api.healthy()
    assert not api.ready()  # no worker heartbeat yet
    store.beat("w", ttl_s=30)
    assert api.ready()
    with GradatlasClient(f"http://127.0.0.1:{free_port()}", timeout=1) as nobody:
        assert not nobody.healthy()
        assert not nobody.ready()


def test_plot_and_remedy_of_a_finished_run(
    api: GradatlasClient, store: Store, settings: Settings
) -> None:
    vanishing = SPEC.model_copy(
        update={"model": SPEC.model.model_copy(update={"depth": 10, "activation": "sigmoid"})}
    )
    exp = api.submit(vanishing)
    with pytest.raises(ApiError) as info:
        api.remedy(exp["id"], 0)
    assert info.value.status == 409  # no diagnosis before it has run
    ExperimentRunner(store, settings).run(exp["id"])
    assert api.plot(exp["id"], "gradient-profile").startswith(b"\x89PNG\r\n\x1a\n")
    assert b"<svg" in api.plot(exp["id"], "training-curves", "svg")[:500]
    diagnosis = api.get(exp["id"])["diagnosis"]
    assert diagnosis is not None
    assert diagnosis["verdict"] == "vanishing"
    new = api.remedy(exp["id"], 0)
    assert new["status"] == "queued"
    assert new["meta"] == {"derived_from": exp["id"], "remedy": "0"}
    changed = diagnosis["remedies"][0]["change"]
    assert {k: new["spec"]["model"][k.split(".")[1]] for k in changed} == changed


def test_sweep_submit_get_and_wait(api: GradatlasClient, store: Store, settings: Settings) -> None:
    base = SPEC.model_dump(mode="json", exclude={"name"})
    sweep = api.submit_sweep({"name": "s", "base": base, "grid": {"model.depth": [2, 3]}})
    assert sweep["status"] == "queued"
    assert api.get_sweep(sweep["id"])["id"] == sweep["id"]
    with pytest.raises(TimeoutError, match=f"sweep {sweep['id']} still queued"):
        api.wait_sweep(sweep["id"], timeout=0.1, poll_s=0.05)
    for row in sweep["children"]:
        ExperimentRunner(store, settings).run(row["id"])
    seen: list[float] = []
    done = api.wait_sweep(
        sweep["id"], timeout=10, poll_s=0.05, on_progress=lambda s: seen.append(s["progress"])
    )
    assert done["status"] == "succeeded"
    assert seen == [1.0]
    assert [row["params"] for row in done["children"]] == [{"model.depth": 2}, {"model.depth": 3}]
    with pytest.raises(ApiError) as info:
        api.submit_sweep({"base": base, "grid": {"model.depth": [2, 900]}})
    assert info.value.status == 422
    assert [e["field"] for e in info.value.errors] == ["grid.model.depth"]
