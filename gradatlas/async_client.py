"""``AsyncClient``: :class:`gradatlas.client.Client`'s methods as coroutines (httpx.AsyncClient).

What each method sends and how its answer is read is gradatlas/endpoints.py
and gradatlas/protocol.py, shared with ``Client``; only the sending is here.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Self, TypeVar, Unpack, overload

from gradatlas import endpoints as ep
from gradatlas.config import DEFAULT_TIMEOUT_S, POLL_S, WAIT_TIMEOUT_S, service_url
from gradatlas.endpoints import DerivativesOptions, TheoryOptions
from gradatlas.errors import TransportError
from gradatlas.events import EVENT_STREAM, STALL_S, EventParser, Follower
from gradatlas.protocol import Call, Polled, Steps, interpret, poll, transport_errors
from gradatlas.types import (
    FINAL,
    SWEEP_FINAL,
    Activations,
    Experiment,
    ImageFormat,
    ImageScale,
    Page,
    PlotList,
    ResultDict,
    Status,
    Sweep,
    SweepPage,
    Theory,
)

if TYPE_CHECKING:
    import httpx

    from core.run_result import RunResult
    from core.spec import ExperimentSpec

T = TypeVar("T")


class AsyncClient:
    """:class:`Client`'s methods as coroutines, over ``httpx.AsyncClient``.

    ``iter_experiments`` is an async iterator; ``on_progress`` callbacks are plain
    functions. Sleeps go through anyio, so it runs under asyncio and trio.
    """

    def __init__(
        self,
        base_url: str | None = None,
        *,
        owner: str | None = None,
        api_key: str | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        import httpx

        url = service_url(base_url)
        self._own = http is None
        with transport_errors(url):
            self.http = http or httpx.AsyncClient(base_url=url, timeout=timeout)
        self.http.headers.update(ep.headers(owner, api_key))

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._own:
            await self.http.aclose()

    async def _send(self, call: Call[T]) -> T:
        if call.delay_s > 0:
            import anyio  # httpx's own dependency: sleeps under asyncio and trio alike

            await anyio.sleep(call.delay_s)
        with transport_errors(self.http.base_url):
            response = await self.http.send(call.request(self.http))
        return interpret(call, response)

    async def _run(self, steps: Steps[T]) -> T:
        try:
            call = next(steps)
            while True:
                call = steps.send(await self._send(call))
        except StopIteration as done:
            result: T = done.value
            return result

    # --- experiments ---------------------------------------------------------
    async def submit(self, spec: ExperimentSpec | Mapping[str, Any]) -> Experiment:
        return await self._send(ep.submit(spec))

    async def get(self, experiment_id: str) -> Experiment:
        return await self._send(ep.get(experiment_id))

    async def list(
        self, *, status: Status | None = None, limit: int | None = None, cursor: str | None = None
    ) -> Page:
        return await self._send(ep.list_experiments(status, limit, cursor))

    async def iter_experiments(
        self, *, status: Status | None = None, page_size: int = 50
    ) -> AsyncIterator[Experiment]:
        cursor: str | None = None
        while True:
            page = await self.list(status=status, limit=page_size, cursor=cursor)
            for item in page["items"]:
                yield item
            if (cursor := page["next_cursor"]) is None:
                return

    @overload
    async def stats(
        self,
        experiment_id: str,
        *,
        layers: Sequence[int | range] | None = None,
        stats: Sequence[str] | None = None,
        every: int | None = None,
        as_arrays: Literal[False] = False,
    ) -> ResultDict: ...
    @overload
    async def stats(
        self,
        experiment_id: str,
        *,
        layers: Sequence[int | range] | None = None,
        stats: Sequence[str] | None = None,
        every: int | None = None,
        as_arrays: Literal[True],
    ) -> RunResult: ...
    async def stats(
        self,
        experiment_id: str,
        *,
        layers: Sequence[int | range] | None = None,
        stats: Sequence[str] | None = None,
        every: int | None = None,
        as_arrays: bool = False,
    ) -> ResultDict | RunResult:
        """As :meth:`Client.stats <gradatlas.client.Client.stats>`."""
        result = await self._send(ep.stats(experiment_id, layers, stats, every))
        if not as_arrays:
            return result
        from core.run_result import RunResult

        return RunResult.from_json(result)

    async def cancel(self, experiment_id: str) -> Experiment:
        return await self._send(ep.cancel(experiment_id))

    async def delete(self, experiment_id: str) -> None:
        await self._send(ep.delete(experiment_id))

    async def plot(
        self,
        experiment_id: str,
        name: str,
        fmt: ImageFormat = "png",
        scale: ImageScale | None = None,
    ) -> bytes:
        return await self._send(ep.plot(experiment_id, name, fmt, scale))

    async def plots(self, experiment_id: str) -> PlotList:
        return await self._send(ep.plots(experiment_id))

    async def remedy(self, experiment_id: str, k: int) -> Experiment:
        return await self._send(ep.remedy(experiment_id, k))

    async def compare_plot(self, experiment_ids: Sequence[str], fmt: ImageFormat = "png") -> bytes:
        return await self._send(ep.compare_plot(experiment_ids, fmt))

    async def wait(
        self,
        experiment_id: str,
        *,
        timeout: float = WAIT_TIMEOUT_S,
        poll_s: float = POLL_S,
        on_progress: Callable[[Experiment], None] | None = None,
        events: bool = True,
    ) -> Experiment:
        get = ep.get(experiment_id)
        path = ep.events_path(experiment_id) if events else None
        what = f"experiment {experiment_id}"
        return await self._wait(
            get, path, FINAL, what, timeout=timeout, poll_s=poll_s, on_progress=on_progress
        )

    async def _wait(
        self,
        get: Call[Polled],
        events: str | None,
        final: frozenset[str],
        what: str,
        *,
        timeout: float,
        poll_s: float,
        on_progress: Callable[[Polled], None] | None,
    ) -> Polled:
        body = await self._send(get)
        if on_progress is not None:
            on_progress(body)
        follower = Follower(body, final=final, what=what, timeout=timeout)
        if not follower.done and events is not None:
            await self._follow(events, follower, on_progress)
        if follower.done:
            return follower.body
        left = max(0.0, follower.deadline - time.monotonic())
        return await self._run(
            poll(get, final, what=what, timeout=left, poll_s=poll_s, on_progress=on_progress)
        )

    async def _follow(
        self, path: str, follower: Follower[Polled], on_progress: Callable[[Polled], None] | None
    ) -> None:
        """As ``Client._follow``."""
        import httpx

        headers = {"Accept": EVENT_STREAM}
        try:
            timeout = httpx.Timeout(min(STALL_S, follower.left()))
            async with self.http.stream("GET", path, headers=headers, timeout=timeout) as r:
                if r.status_code != 200 or EVENT_STREAM not in r.headers.get("content-type", ""):
                    return
                parser = EventParser()
                async for line in r.aiter_lines():
                    event = parser.feed(line)
                    if event is not None and follower.apply(event) and on_progress is not None:
                        on_progress(follower.body)
                    if follower.done:
                        return
                    follower.left()
        except httpx.TransportError:
            return

    # --- sweeps --------------------------------------------------------------
    async def submit_sweep(self, sweep: Mapping[str, Any]) -> Sweep:
        return await self._send(ep.submit_sweep(sweep))

    async def get_sweep(self, sweep_id: str) -> Sweep:
        return await self._send(ep.get_sweep(sweep_id))

    async def list_sweeps(
        self, *, limit: int | None = None, cursor: str | None = None
    ) -> SweepPage:
        return await self._send(ep.list_sweeps(limit, cursor))

    async def cancel_sweep(self, sweep_id: str) -> Sweep:
        return await self._send(ep.cancel_sweep(sweep_id))

    async def sweep_plot(
        self, sweep_id: str, name: str, fmt: ImageFormat = "png", scale: ImageScale | None = None
    ) -> bytes:
        return await self._send(ep.sweep_plot(sweep_id, name, fmt, scale))

    async def wait_sweep(
        self,
        sweep_id: str,
        *,
        timeout: float = WAIT_TIMEOUT_S,
        poll_s: float = POLL_S,
        on_progress: Callable[[Sweep], None] | None = None,
        events: bool = True,
    ) -> Sweep:
        get = ep.get_sweep(sweep_id)
        path = ep.sweep_events_path(sweep_id) if events else None
        what = f"sweep {sweep_id}"
        return await self._wait(
            get, path, SWEEP_FINAL, what, timeout=timeout, poll_s=poll_s, on_progress=on_progress
        )

    # --- answers that need no training ---------------------------------------
    async def theory(self, activation: str, depth: int, **options: Unpack[TheoryOptions]) -> Theory:
        return await self._send(ep.theory(activation, depth, **options))

    async def activations(self) -> Activations:
        return await self._send(ep.activations())

    async def activations_plot(
        self,
        names: Sequence[str] | None = None,
        fmt: ImageFormat = "png",
        **options: Unpack[DerivativesOptions],
    ) -> bytes:
        return await self._send(ep.activations_plot(names, fmt, **options))

    # --- the service ---------------------------------------------------------
    async def healthy(self) -> bool:
        try:
            return await self._send(ep.healthy())
        except TransportError:
            return False

    async def ready(self) -> bool:
        try:
            return await self._send(ep.ready())
        except TransportError:
            return False
