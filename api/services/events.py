"""Live events: one store reader per followed experiment or sweep, fanned out to every subscriber.

An experiment's stream (``GET /v1/experiments/{id}/events``)::

    event: status    data: {"status": "running", "error": null}
    event: record    data: {"index": r, "step": steps[r], "stats": {name: [one per layer]}}
    event: metrics   data: {"index": e, "epoch": 1, "train_loss": .., "val_loss": ..,
                            "train_accuracy": .., "val_accuracy": ..}
    event: progress  data: {"step": .., "total_steps": .., "epoch": .., "fraction": ..}
    event: end       data: the experiment, as GET /v1/experiments/{id} answers once it is final

``record`` rows are the rows of ``/stats`` (row ``r`` of every ``stats.X``), read
from the partial result the worker stores while it trains, so they arrive in
bursts of a few. Every event's id is ``"R.E"``: the records and epochs sent so
far. A client that reconnects with ``Last-Event-ID: R.E`` is sent the current
status and progress and every record and epoch from there on: nothing is lost.

A sweep's stream (``GET /v1/sweeps/{id}/events``): ``status`` (``{"status"}``),
``child`` (a row of the summary table, when it changes), ``progress``
(``{"progress", "counts"}``) and ``end`` (the sweep, as ``GET /v1/sweeps/{id}``).
Its state is small, so a reconnecting client is sent all of it again.

Each followed id has one :class:`Feed` in the process: a task that reads the
store every ``poll_s`` seconds while anyone listens, and wakes its subscribers;
each subscriber only compares the feed's state with what it has sent, so a
hundred subscribers cost about what one does. Decoding a result is CPU work
and runs in a thread, never on the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, Protocol, TypeVar

from api.views import experiment_view, sweep_view
from core.errors import NotFound, StoreUnavailable
from core.result import Metrics
from core.store import ExperimentRecord, Store, SweepStore, decode_result
from core.store.events import FeedReader
from core.views import FINAL_STATUSES, SweepView

log = logging.getLogger(__name__)

EventName = Literal["status", "progress", "record", "metrics", "child", "end"]
#: Seconds between two reads of a followed experiment or sweep.
POLL_S = 0.25
#: Seconds between keep-alive comments on an idle stream (proxies close silent ones).
KEEPALIVE_S = 15.0
_METRICS: tuple[str, ...] = tuple(Metrics.__annotations__)


@dataclass(frozen=True)
class Event:
    """One server-sent event; ``data`` is JSON text."""

    name: EventName
    data: str
    id: str


class Cursor(Protocol):
    """What one subscriber has been sent."""

    ended: bool


C = TypeVar("C", bound=Cursor)


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), allow_nan=False)


class Feed(Generic[C]):
    """The shared state of one stream, refreshed by one task while anyone listens."""

    def __init__(self, poll_s: float) -> None:
        self.poll_s = poll_s
        self.subscribers = 0
        #: True once nothing more will come (final, or gone from the store).
        self.done = False
        self.gone = False
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def refresh(self) -> bool:
        """Read the store once; True when the state changed."""
        raise NotImplementedError

    def pending(self, c: C) -> list[Event]:
        """What ``c`` has not been sent yet, in order; advances ``c``."""
        raise NotImplementedError

    async def follow(self, c: C) -> AsyncIterator[Event]:
        """Every event for ``c`` until the end (or until the experiment is gone)."""
        while not c.ended:
            changed = self._changed  # taken before reading: a change meanwhile sets it
            for event in self.pending(c):
                yield event
            if c.ended or self.gone:
                return
            await changed.wait()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while not self.done:
            try:
                changed = await self.refresh()
            except NotFound:
                self.done = self.gone = changed = True
            except StoreUnavailable as e:  # subscribers keep their stream and wait it out
                log.warning("live events: %s", e)
                changed = False
            except Exception:  # a feed that died silently would hang its streams
                log.exception("live events: reading the store failed")
                changed = False
            if changed:
                wake, self._changed = self._changed, asyncio.Event()
                wake.set()
            if not self.done:
                await asyncio.sleep(self.poll_s)


@dataclass
class ExperimentCursor:
    """What one subscriber of an experiment has been sent."""

    records: int = 0
    epochs: int = 0
    status: str | None = None
    progress: dict[str, Any] | None = None
    ended: bool = False

    @property
    def id(self) -> str:
        return f"{self.records}.{self.epochs}"

    @classmethod
    def resume(cls, last_event_id: str | None) -> ExperimentCursor:
        """From a ``Last-Event-ID`` (``"R.E"``); anything else starts from the beginning."""
        records, _, epochs = (last_event_id or "").strip().partition(".")
        if records.isdigit() and epochs.isdigit():
            return cls(records=int(records), epochs=int(epochs))
        return cls()


def rows_of(data: bytes, records: int, epochs: int) -> tuple[list[str], list[str]]:
    """The ``record`` and ``metrics`` events' data after the first ``records`` and ``epochs``."""
    result = decode_result(data)
    steps, stats = result["steps"], result["stats"]
    rows = [
        _dumps({"index": r, "step": steps[r], "stats": {k: v[r] for k, v in stats.items()}})
        for r in range(records, len(steps))
    ]
    m: Mapping[str, list[Any]] = result["metrics"]  # type: ignore[assignment]
    curves = [
        _dumps({"index": e, **{k: m[k][e] for k in _METRICS}})
        for e in range(epochs, len(m["epoch"]))
    ]
    return rows, curves


class ExperimentFeed(Feed[ExperimentCursor]):
    def __init__(self, reader: FeedReader, exp_id: str, poll_s: float) -> None:
        super().__init__(poll_s)
        self.reader, self.id = reader, exp_id
        self.record: ExperimentRecord | None = None
        self.rows: list[str] = []
        self.curves: list[str] = []
        self.end: str | None = None
        self._tag: bytes | None = None

    async def refresh(self) -> bool:
        tick = await self.reader.tick(self.id)
        changed = tick.record != self.record
        if tick.result_tag is not None and tick.result_tag != self._tag:
            data = await self.reader.result(self.id)
            if data is not None:
                rows, curves = await asyncio.to_thread(
                    rows_of, data, len(self.rows), len(self.curves)
                )
                self.rows += rows
                self.curves += curves
                self._tag = data[-8:]
                changed = True
        self.record = tick.record
        if tick.record.final:
            # The record and the tag come from one transaction, and a final result never
            # changes: the result read above (or before) is the final one.
            self.end = _dumps(experiment_view(tick.record))
            self.done = True
        return changed

    def pending(self, c: ExperimentCursor) -> list[Event]:
        out: list[Event] = []
        rec = self.record
        if rec is None:
            return out
        if rec.status != c.status:
            c.status = rec.status
            out.append(Event("status", _dumps({"status": rec.status, "error": rec.error}), c.id))
        while c.records < len(self.rows):
            c.records += 1
            out.append(Event("record", self.rows[c.records - 1], c.id))
        while c.epochs < len(self.curves):
            c.epochs += 1
            out.append(Event("metrics", self.curves[c.epochs - 1], c.id))
        if rec.progress != c.progress:
            c.progress = rec.progress
            out.append(Event("progress", _dumps(rec.progress), c.id))
        if self.end is not None and not c.ended:
            c.ended = True
            out.append(Event("end", self.end, c.id))
        return out


@dataclass
class SweepCursor:
    sent: int = 0
    status: str | None = None
    progress: str | None = None
    children: dict[str, str] = field(default_factory=dict)
    ended: bool = False


class SweepFeed(Feed[SweepCursor]):
    def __init__(self, store: Store, sweep_id: str, poll_s: float) -> None:
        super().__init__(poll_s)
        self.store, self.id = store, sweep_id
        self.view: SweepView | None = None
        self.rows: dict[str, str] = {}

    def _read(self) -> SweepView:
        store = SweepStore(self.store)
        sweep = store.get(self.id)
        return sweep_view(sweep, store.children(sweep))

    async def refresh(self) -> bool:
        view = await asyncio.to_thread(self._read)  # the sync store, and one read per child
        changed = view != self.view
        self.view = view
        self.rows = {row["id"]: _dumps(row) for row in view["children"]}
        self.done = view["status"] == "mixed" or view["status"] in FINAL_STATUSES
        return changed

    def pending(self, c: SweepCursor) -> list[Event]:
        out: list[Event] = []
        view = self.view
        if view is None:
            return out

        def add(name: EventName, data: str) -> None:
            c.sent += 1
            out.append(Event(name, data, str(c.sent)))

        if view["status"] != c.status:
            c.status = view["status"]
            add("status", _dumps({"status": view["status"]}))
        for child_id, row in self.rows.items():
            if c.children.get(child_id) != row:
                c.children[child_id] = row
                add("child", row)
        progress = _dumps({"progress": view["progress"], "counts": view["counts"]})
        if progress != c.progress:
            c.progress = progress
            add("progress", progress)
        if self.done and not c.ended:
            c.ended = True
            add("end", _dumps(view))
        return out


F = TypeVar("F", bound=Feed[Any])


class Broadcaster:
    """Every live feed of this process, keyed by what it follows."""

    def __init__(
        self,
        reader: FeedReader,
        store: Store,
        *,
        poll_s: float = POLL_S,
        keepalive_s: float = KEEPALIVE_S,
    ) -> None:
        self.reader, self.store = reader, store
        self.poll_s, self.keepalive_s = poll_s, keepalive_s
        self.feeds: dict[tuple[str, str], Feed[Any]] = {}

    @contextlib.asynccontextmanager
    async def _join(self, key: tuple[str, str], make: Callable[[], F]) -> AsyncIterator[F]:
        feed = self.feeds.get(key)
        if feed is None:
            feed = self.feeds[key] = make()
            feed.start()
        feed.subscribers += 1
        try:
            yield feed  # type: ignore[misc]  # the key names the feed's kind
        finally:
            feed.subscribers -= 1
            if feed.subscribers == 0:
                if self.feeds.get(key) is feed:
                    del self.feeds[key]
                await feed.stop()

    async def experiment(self, exp_id: str, last_event_id: str | None) -> AsyncIterator[Event]:
        """The experiment's events from ``last_event_id`` on, until ``end``."""
        key = ("experiment", exp_id)
        async with self._join(key, lambda: ExperimentFeed(self.reader, exp_id, self.poll_s)) as f:
            async for event in f.follow(ExperimentCursor.resume(last_event_id)):
                yield event

    async def sweep(self, sweep_id: str) -> AsyncIterator[Event]:
        """The sweep's whole state, then its changes, until ``end``."""
        key = ("sweep", sweep_id)
        async with self._join(key, lambda: SweepFeed(self.store, sweep_id, self.poll_s)) as f:
            async for event in f.follow(SweepCursor()):
                yield event
