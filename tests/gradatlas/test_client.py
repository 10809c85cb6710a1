"""``Client`` and ``AsyncClient`` against the real API served by uvicorn (in a thread) over Redis.

Every test that takes ``api`` runs twice: once with ``Client``, once with
``AsyncClient`` whose coroutines are run one by one on an event loop
(:class:`Blocking`), so both are held to the same assertions.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from service_procs import free_port, serve

from api.app import create_app
from core.settings import Settings
from core.spec import ExperimentSpec
from core.store import Store
from gradatlas import (
    AsyncClient,
    Client,
    Conflict,
    InvalidRequest,
    InvalidSpec,
    InvalidURL,
    NotFound,
    ServiceUnavailable,
    TransportError,
    WaitTimeout,
)
from worker.runner import ExperimentRunner

SPEC = ExperimentSpec.model_validate(
    {
        "model": {"depth": 2, "width": 8, "activation": "relu"},
        "data": {"dataset": "xor", "n_samples": 120},
        "training": {"epochs": 2},
    }
)


class Blocking:
    """An ``AsyncClient`` called like a ``Client``: each coroutine runs to its end on ``runner``;
    an async iterator is drained into a list."""

    def __init__(self, client: AsyncClient, runner: asyncio.Runner) -> None:
        self.client = client
        self.runner = runner

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self.client, name)
        if inspect.isasyncgenfunction(method):
            return lambda *a, **kw: self.runner.run(_drain(method(*a, **kw)))
        assert inspect.iscoroutinefunction(method), name
        return lambda *a, **kw: self.runner.run(method(*a, **kw))


async def _drain(items: Any) -> list[Any]:
    return [item async for item in items]


Api = Client | Blocking


@contextlib.contextmanager
def open_client(kind: str, base_url: str, **kw: Any) -> Iterator[Api]:
    """A client of ``kind`` (``sync`` or ``async``) for ``base_url``, closed afterwards."""
    if kind == "sync":
        with Client(base_url, **kw) as client:
            yield client
        return
    with asyncio.Runner() as runner:
        async_client = AsyncClient(base_url, **kw)
        try:
            yield Blocking(async_client, runner)
        finally:
            runner.run(async_client.aclose())


@pytest.fixture
def base_url(settings: Settings, store: Store) -> Iterator[str]:
    with serve(create_app(settings, store=store)) as base:
        yield base


@pytest.fixture(params=["sync", "async"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def api(kind: str, base_url: str) -> Iterator[Api]:
    with open_client(kind, base_url, owner="tests", timeout=10) as client:
        yield client


def dead_url() -> str:
    return f"http://127.0.0.1:{free_port()}"


def test_submit_wait_and_read_stats(api: Api, store: Store, settings: Settings) -> None:
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


def test_a_bad_spec_raises_invalid_spec_with_the_fields(api: Api) -> None:
    with pytest.raises(InvalidSpec) as info:
        api.submit({"model": {"depth": 2, "activation": "nope"}})
    assert info.value.status == 422
    assert [e["field"] for e in info.value.errors] == ["model.activation"]
    assert "model.activation" in str(info.value)
    assert info.value.problem["type"] == "urn:gradatlas:problem:invalid-spec"


def test_a_bad_query_is_an_invalid_request_not_a_spec(api: Api) -> None:
    with pytest.raises(InvalidRequest) as info:
        api.list(limit=0)
    assert not isinstance(info.value, InvalidSpec)
    assert info.value.status == 422
    assert [e["field"] for e in info.value.errors] == ["limit"]


def test_not_found_and_conflicts_raise(api: Api) -> None:
    with pytest.raises(NotFound) as info:
        api.get("does-not-exist")
    assert info.value.status == 404
    assert "does-not-exist" in info.value.detail
    exp = api.submit(SPEC)
    with pytest.raises(Conflict) as conflict:
        api.delete(exp["id"])
    assert conflict.value.status == 409
    assert api.cancel(exp["id"])["status"] == "cancelled"
    api.delete(exp["id"])
    with pytest.raises(NotFound):
        api.get(exp["id"])


def test_an_id_stays_one_path_segment(api: Api) -> None:
    # Unquoted, "?status=queued" would become a query string and the request one for "x".
    with pytest.raises(NotFound) as info:
        api.get("x?status=queued")
    assert "'x?status=queued'" in info.value.detail


def test_iterate_across_pages(api: Api) -> None:
    ids = [api.submit(SPEC)["id"] for _ in range(5)]
    assert [e["id"] for e in api.iter_experiments(page_size=2)] == ids[::-1]
    assert [e["id"] for e in api.iter_experiments(status="running")] == []
    page = api.list(limit=2)
    assert [e["id"] for e in page["items"]] == ids[:-3:-1]
    assert page["next_cursor"] is not None


def test_wait_times_out(api: Api) -> None:
    exp = api.submit(SPEC)
    with pytest.raises(WaitTimeout, match="still queued") as info:
        api.wait(exp["id"], timeout=0.2, poll_s=0.05)
    assert isinstance(info.value, TimeoutError)  # what callers of earlier versions caught


def test_health_checks(api: Api, kind: str, store: Store) -> None:
    assert api.healthy()
    assert not api.ready()  # no worker heartbeat yet
    store.beat("w", ttl_s=30)
    assert api.ready()
    with open_client(kind, dead_url(), timeout=1) as nobody:
        assert not nobody.healthy()
        assert not nobody.ready()


def test_an_unreachable_service_raises_transport_error(kind: str) -> None:
    with open_client(kind, dead_url(), timeout=1) as nobody:
        with pytest.raises(TransportError) as info:
            nobody.list()
        assert isinstance(info.value.__cause__, httpx.ConnectError)


def test_a_url_without_a_scheme_raises_invalid_url(kind: str) -> None:
    with open_client(kind, "localhost:8000", timeout=1) as client, pytest.raises(InvalidURL):
        client.list()


def test_a_service_without_redis_raises_service_unavailable(kind: str) -> None:
    no_redis = Settings(redis_url=f"redis://127.0.0.1:{free_port()}/0", redis_socket_timeout_s=0.5)
    with (
        serve(create_app(no_redis)) as url,
        open_client(kind, url, timeout=10) as client,
        pytest.raises(ServiceUnavailable) as info,
    ):
        client.list()
    assert info.value.status == 503
    assert info.value.retry_after == no_redis.retry_after_s


def test_plot_and_remedy_of_a_finished_run(api: Api, store: Store, settings: Settings) -> None:
    vanishing = SPEC.model_copy(
        update={"model": SPEC.model.model_copy(update={"depth": 10, "activation": "sigmoid"})}
    )
    exp = api.submit(vanishing)
    with pytest.raises(Conflict):
        api.remedy(exp["id"], 0)  # no diagnosis before it has run
    ExperimentRunner(store, settings).run(exp["id"])
    assert api.plot(exp["id"], "gradient-profile").startswith(b"\x89PNG\r\n\x1a\n")
    assert b"<svg" in api.plot(exp["id"], "training-curves", "svg")[:500]
    with pytest.raises(NotFound) as info:
        api.plot(exp["id"], "nope")
    assert "gradient-profile" in info.value.detail
    assert api.compare_plot([exp["id"], exp["id"]]).startswith(b"\x89PNG")
    diagnosis = api.get(exp["id"])["diagnosis"]
    assert diagnosis is not None
    assert diagnosis["verdict"] == "vanishing"
    new = api.remedy(exp["id"], 0)
    assert new["status"] == "queued"
    assert new["meta"] == {"derived_from": exp["id"], "remedy": "0"}
    changed = diagnosis["remedies"][0]["change"]
    assert {k: new["spec"]["model"][k.split(".")[1]] for k in changed} == changed
    with pytest.raises(NotFound, match="there is no remedy 9"):
        api.remedy(exp["id"], 9)


def test_sweep_submit_get_list_wait_and_plot(api: Api, store: Store, settings: Settings) -> None:
    base = SPEC.model_dump(mode="json", exclude={"name"})
    sweep = api.submit_sweep({"name": "s", "base": base, "grid": {"model.depth": [2, 3]}})
    assert sweep["status"] == "queued"
    assert api.get_sweep(sweep["id"])["id"] == sweep["id"]
    assert [s["id"] for s in api.list_sweeps()["items"]] == [sweep["id"]]
    with pytest.raises(WaitTimeout, match=f"sweep {sweep['id']} still queued"):
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
    assert b"<svg" in api.sweep_plot(sweep["id"], "ratio-vs-depth", "svg")[:500]
    with pytest.raises(InvalidSpec) as info:
        api.submit_sweep({"base": base, "grid": {"model.depth": [2, 900]}})
    assert [e["field"] for e in info.value.errors] == ["grid.model.depth"]


def test_cancel_a_sweep(api: Api, store: Store) -> None:
    base = SPEC.model_dump(mode="json", exclude={"name"})
    sweep = api.submit_sweep({"name": "c", "base": base, "grid": {"model.depth": [2, 3]}})
    cancelled = api.cancel_sweep(sweep["id"])
    assert cancelled["status"] == "cancelled"
    assert [store.get(row["id"]).status for row in sweep["children"]] == ["cancelled"] * 2


def test_theory_and_activations(api: Api) -> None:
    deep = api.theory("sigmoid", 20, init="lecun_normal")
    shallow = api.theory("sigmoid", 5, init="lecun_normal")
    assert (deep["depth"], deep["applies"]) == (20, True)
    assert deep["backprop_ratio_log10"] is not None
    assert shallow["backprop_ratio_log10"] is not None
    assert deep["backprop_ratio_log10"] < shallow["backprop_ratio_log10"] < 0  # vanishing
    bn = api.theory("sigmoid", 20, batch_norm=True)
    assert (bn["applies"], bn["method"]) == (True, "batch_norm_monte_carlo")
    assert api.theory("sigmoid", 20, batch_norm=True, residual=True)["applies"] is False
    with pytest.raises(InvalidRequest) as info:
        api.theory("sigmoid", 0)
    assert [e["field"] for e in info.value.errors] == ["depth"]
    sigmoid = {a["name"]: a for a in api.activations()["activations"]}["sigmoid"]
    assert sigmoid["derivative_max"] == pytest.approx(0.25)
    assert api.activations_plot(["sigmoid", "relu"], "svg", x_min=-3.0)[:500].count(b"<svg") == 1


def test_the_async_client_overlaps_requests(base_url: str) -> None:
    """Several requests in flight on one AsyncClient, and its iterator used natively."""

    async def scenario() -> tuple[list[str], list[str], list[str]]:
        async with AsyncClient(base_url, timeout=10) as api:
            ids = [e["id"] for e in await asyncio.gather(*(api.submit(SPEC) for _ in range(4)))]
            got = await asyncio.gather(*(api.get(i) for i in ids))
            listed = [e["id"] async for e in api.iter_experiments(page_size=3)]
            return ids, [e["id"] for e in got], listed

    ids, got, listed = asyncio.run(scenario())
    assert got == ids
    assert sorted(listed) == sorted(ids)
