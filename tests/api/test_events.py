"""Live events: the broadcaster against a real Redis, and the SSE routes through uvicorn.

A test plays the worker with the store's own writes (claim, progress with partial
results, finish), so it decides when each record appears; the partials are slices
of a real training result.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import redis
from service_procs import serve

from api.app import create_app
from api.services.events import Broadcaster, Event, ExperimentCursor
from core.result import ResultDict
from core.settings import Settings
from core.spec import ExperimentSpec
from core.store import Store, encode_result
from core.store.events import FeedReader
from core.train import train
from gradatlas import Client
from gradatlas.events import EventParser, ServerEvent
from worker.runner import ExperimentRunner

SPEC = ExperimentSpec.model_validate(
    {
        "seed": 3,
        "model": {"depth": 3, "width": 8, "activation": "tanh"},
        "data": {"dataset": "moons", "n_samples": 200},
        "training": {"epochs": 3, "batch_size": 32},
        "recording": {"every_steps": 2},
    }
)


@pytest.fixture(scope="module")
def full() -> ResultDict:
    return train(SPEC).to_json()


def partial(full: ResultDict, records: int, epochs: int) -> ResultDict:
    """The result as it stood after ``records`` records and ``epochs`` epochs."""
    cut: Any = json.loads(json.dumps(full))
    cut["steps"] = cut["steps"][:records]
    cut["stats"] = {k: v[:records] for k, v in cut["stats"].items()}
    cut["metrics"] = {k: v[:epochs] for k, v in cut["metrics"].items()}
    cut["diagnosis"] = None
    return cut  # type: ignore[no-any-return]


class FakeWorker:
    """What a worker writes, step by step, when the test says so."""

    def __init__(self, store: Store, full: ResultDict) -> None:
        self.store, self.full = store, full
        self.id = store.create(SPEC).id
        self.attempt = 0

    def claim(self) -> None:
        self.attempt = self.store.claim(self.id, worker="w", max_attempts=3, lease_s=60).attempt

    def write(self, records: int, epochs: int) -> None:
        progress = {
            "step": records,
            "total_steps": SPEC.total_steps,
            "epoch": epochs,
            "fraction": min(1.0, records / SPEC.total_steps),
        }
        data = encode_result(partial(self.full, records, epochs))
        self.store.renew(self.id, self.attempt, lease_s=60, progress=progress, result=data)

    def finish(self) -> None:
        full = self.full
        self.store.finish(
            self.id,
            "succeeded",
            attempt=self.attempt,
            result=encode_result(full),
            summary=dict(full["summary"]),
            diagnosis=None,
        )


def reader_for(settings: Settings, store: Store) -> FeedReader:
    return FeedReader(settings.redis_url, prefix=store.prefix)


async def collect(events: Any) -> list[Event]:
    return [e async for e in events]


def check_against_result(events: list[Event], full: ResultDict) -> None:
    """The record and metrics events are the result's rows, each once, in order."""
    check_records(events, full)
    check_metrics(events, full)


def check_records(events: list[Event], full: ResultDict, *, from_record: int = 0) -> None:
    rows = [json.loads(e.data) for e in events if e.name == "record"]
    assert [r["index"] for r in rows] == list(range(from_record, len(full["steps"])))
    for row in rows:
        r = row["index"]
        assert row["step"] == full["steps"][r]
        assert row["stats"] == {k: v[r] for k, v in full["stats"].items()}


def check_metrics(events: list[Event], full: ResultDict) -> None:
    curves = [json.loads(e.data) for e in events if e.name == "metrics"]
    assert [c["epoch"] for c in curves] == full["metrics"]["epoch"]
    assert [c["val_loss"] for c in curves] == full["metrics"]["val_loss"]


def test_a_stream_carries_every_row_of_the_stats_once_then_ends(
    store: Store, settings: Settings, full: ResultDict
) -> None:
    worker = FakeWorker(store, full)
    n = len(full["steps"])
    assert n >= 6, "the spec must record enough rows to arrive in several bursts"

    async def main() -> list[Event]:
        hub = Broadcaster(reader_for(settings, store), store, poll_s=0.02)
        task = asyncio.create_task(collect(hub.experiment(worker.id, None)))
        await asyncio.sleep(0.1)
        worker.claim()
        for records, epochs in ((2, 0), (4, 1), (n - 1, 2)):
            await asyncio.sleep(0.1)
            worker.write(records, epochs)
        await asyncio.sleep(0.1)
        worker.finish()
        events = await asyncio.wait_for(task, 10)
        assert hub.feeds == {}, "the feed stops with its last subscriber"
        await hub.reader.aclose()
        return events

    events = asyncio.run(main())
    names = [e.name for e in events]
    assert names[0] == "status"
    assert names[-1] == "end"
    assert names.count("end") == 1
    statuses = [json.loads(e.data)["status"] for e in events if e.name == "status"]
    assert statuses == ["queued", "running", "succeeded"]
    check_against_result(events, full)
    # Rows arrived while it ran, not only at the end.
    first_running_progress = names.index("progress", names.index("record"))
    assert first_running_progress < names.index("end")
    assert json.loads(events[-1].data)["status"] == "succeeded"
    assert json.loads(events[-1].data)["summary"] == full["summary"]
    # Ids count what was sent, so they never go back.
    counts = [tuple(int(x) for x in e.id.split(".")) for e in events]
    assert counts == sorted(counts)
    assert counts[-1] == (n, len(full["metrics"]["epoch"]))


def test_last_event_id_resumes_without_loss(
    store: Store, settings: Settings, full: ResultDict
) -> None:
    worker = FakeWorker(store, full)
    worker.claim()
    worker.write(3, 1)

    async def main() -> tuple[list[Event], list[Event]]:
        hub = Broadcaster(reader_for(settings, store), store, poll_s=0.02)
        first: list[Event] = []
        async for e in hub.experiment(worker.id, None):
            first.append(e)
            if e.name == "progress":
                break  # the connection drops after the first burst
        resumed = asyncio.create_task(collect(hub.experiment(worker.id, first[-1].id)))
        await asyncio.sleep(0.1)
        worker.finish()
        second = await asyncio.wait_for(resumed, 10)
        await hub.reader.aclose()
        return first, second

    first, second = asyncio.run(main())
    assert first[-1].id == "3.1"
    assert [json.loads(e.data)["index"] for e in first if e.name == "record"] == [0, 1, 2]
    # The state again, then only what the first stream had not had.
    assert second[0].name == "status"
    check_metrics(first + second, full)
    check_records(second, full, from_record=3)
    assert second[-1].name == "end"


def test_a_bad_last_event_id_starts_from_the_beginning() -> None:
    assert ExperimentCursor.resume("garbage").records == 0
    assert ExperimentCursor.resume(None).id == "0.0"
    assert ExperimentCursor.resume(" 12.4").id == "12.4"


def _reads(client: redis.Redis) -> dict[str, int]:
    stats: dict[str, Any] = client.info("commandstats")
    return {k: int(stats.get(f"cmdstat_{k}", {}).get("calls", 0)) for k in ("getrange", "get")}


def _followed_by(
    store: Store, settings: Settings, full: ResultDict, subscribers: int
) -> dict[str, int]:
    """Redis reads made for ``subscribers`` streams of one scripted run."""
    worker = FakeWorker(store, full)
    n = len(full["steps"])

    async def main() -> list[list[Event]]:
        hub = Broadcaster(reader_for(settings, store), store, poll_s=0.05)
        tasks = [
            asyncio.create_task(collect(hub.experiment(worker.id, None)))
            for _ in range(subscribers)
        ]
        worker.claim()
        for records, epochs in ((2, 0), (4, 1), (n - 1, 2)):
            await asyncio.sleep(0.3)
            worker.write(records, epochs)
        await asyncio.sleep(0.3)
        worker.finish()
        done = await asyncio.wait_for(asyncio.gather(*tasks), 20)
        await hub.reader.aclose()
        return done

    before = _reads(store.redis)
    streams = asyncio.run(main())
    after = _reads(store.redis)
    for events in streams:
        check_against_result(events, full)
        assert events[-1].name == "end"
    return {k: after[k] - before[k] for k in before}


def test_a_hundred_subscribers_cost_the_reads_of_one(
    store: Store, settings: Settings, full: ResultDict
) -> None:
    one = _followed_by(store, settings, full, 1)
    hundred = _followed_by(store, settings, full, 100)
    # One tick (a GETRANGE) per poll, whatever the number of subscribers: the run takes
    # the same scripted time both ways, so only a per-subscriber read could add 100x.
    assert hundred["getrange"] <= 2 * one["getrange"] + 5
    # The result is read only when it changed: three partials and the final one.
    assert hundred["get"] <= 4
    assert one["get"] <= 4


# --- over HTTP -------------------------------------------------------------------------


@pytest.fixture
def base_url(settings: Settings, store: Store) -> Iterator[str]:
    app = create_app(settings.model_copy(update={"progress_every_s": 0.05}), store=store)
    app.state.events.keepalive_s = 0.2
    app.state.events.poll_s = 0.05
    with serve(app) as base:
        yield base


def read_stream(
    base: str, path: str, headers: dict[str, str] | None = None, *, until: str = "end"
) -> tuple[httpx.Response, list[ServerEvent], list[str]]:
    """The events of a stream up to ``until``, and every comment line seen meanwhile."""
    parser = EventParser()
    events: list[ServerEvent] = []
    comments: list[str] = []
    with httpx.stream("GET", base + path, headers=headers, timeout=20) as r:
        if r.status_code != 200:
            r.read()
            return r, events, comments
        for line in r.iter_lines():
            if line.startswith(":"):
                comments.append(line)
            event = parser.feed(line)
            if event is not None:
                events.append(event)
                if event.event == until:
                    break
    return r, events, comments


def test_the_route_streams_a_real_run_to_its_end(
    base_url: str, store: Store, settings: Settings
) -> None:
    exp_id = store.create(SPEC).id
    runner = threading.Thread(target=ExperimentRunner(store, settings).run, args=(exp_id,))
    runner.start()
    r, events, _ = read_stream(base_url, f"/v1/experiments/{exp_id}/events")
    runner.join(30)
    assert r.headers["content-type"].startswith("text/event-stream")
    assert events[-1].event == "end"
    done = json.loads(events[-1].data)
    assert done["status"] == "succeeded"
    stats = httpx.get(f"{base_url}/v1/experiments/{exp_id}/stats").json()
    rows = [json.loads(e.data) for e in events if e.event == "record"]
    assert [row["index"] for row in rows] == list(range(len(stats["steps"])))
    assert [row["stats"]["grad_norm"] for row in rows] == stats["stats"]["grad_norm"]
    # Resuming after the last record gives the state and the end, no record twice.
    last = [e for e in events if e.event == "record"][-1].id
    _, again, _ = read_stream(
        base_url, f"/v1/experiments/{exp_id}/events", {"Last-Event-ID": str(last)}
    )
    assert [e.event for e in again].count("record") == 0
    assert again[-1].event == "end"


def test_an_idle_stream_sends_keep_alive_comments(base_url: str, store: Store) -> None:
    exp_id = store.create(SPEC).id  # queued, and no worker: nothing happens
    parser = EventParser()
    events: list[str] = []
    comments: list[str] = []
    with httpx.stream("GET", f"{base_url}/v1/experiments/{exp_id}/events", timeout=10) as r:
        for line in r.iter_lines():
            if (event := parser.feed(line)) is not None:
                events.append(event.event)
            if line.startswith(":"):
                comments.append(line)
                if len(comments) == 2:
                    break
    assert events == ["status", "progress"]  # then silence, but for the comments
    assert len(comments) == 2


def test_unknown_ids_are_404_problems_not_streams(base_url: str) -> None:
    for path in ("/v1/experiments/nope/events", "/v1/sweeps/nope/events"):
        r = httpx.get(base_url + path)
        assert r.status_code == 404
        assert r.headers["content-type"] == "application/problem+json"


def test_a_sweep_streams_its_children_to_its_end(
    base_url: str, store: Store, settings: Settings
) -> None:
    body = {
        "name": "events",
        "base": {
            "model": {"width": 8},
            "data": {"dataset": "moons", "n_samples": 100},
            "training": {"epochs": 1},
        },
        "grid": {"model.activation": ["tanh", "relu"], "model.depth": [2]},
    }
    with Client(base_url) as api:
        sweep = api.submit_sweep(body)
    ids = [row["id"] for row in sweep["children"]]

    def work() -> None:
        for exp_id in ids:
            ExperimentRunner(store, settings).run(exp_id)

    runner = threading.Thread(target=work)
    runner.start()
    _, events, _ = read_stream(base_url, f"/v1/sweeps/{sweep['id']}/events")
    runner.join(30)
    assert events[0].event == "status"
    assert events[-1].event == "end"
    final = json.loads(events[-1].data)
    assert final["status"] == "succeeded"
    children = [json.loads(e.data) for e in events if e.event == "child"]
    assert {c["id"] for c in children} == set(ids)
    assert {c["id"] for c in children if c["status"] == "succeeded"} == set(ids)


def test_the_client_waits_over_events_and_falls_back_to_polling(
    base_url: str, store: Store, settings: Settings
) -> None:
    exp_id = store.create(SPEC).id
    runner = threading.Thread(target=ExperimentRunner(store, settings).run, args=(exp_id,))
    seen: list[str] = []
    with Client(base_url) as api:
        runner.start()
        done = api.wait(exp_id, timeout=30, on_progress=lambda e: seen.append(e["status"]))
        runner.join(30)
        assert done["status"] == "succeeded"
        assert done["summary"] is not None
        assert seen[-1] == "succeeded"
    # A service without the events route (404 for the path): polling answers the same.
    gets: list[str] = []

    def answer(req: httpx.Request) -> httpx.Response:
        if req.url.path.endswith("/events"):
            return httpx.Response(404, json={"status": 404, "title": "Not Found"})
        gets.append(req.url.path)
        return httpx.Response(200, json={**done, "status": "running"} if len(gets) == 1 else done)

    no_events = httpx.Client(base_url="http://x", transport=httpx.MockTransport(answer))
    with Client(http=no_events) as api:
        assert api.wait(exp_id, timeout=5, poll_s=0.01) == done
    assert len(gets) == 2
