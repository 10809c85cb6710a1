"""``AsyncClient``: :class:`gradatlas.client.Client`'s methods as coroutines (httpx.AsyncClient).

What each method sends and how its answer is read is gradatlas/endpoints.py
and gradatlas/protocol.py, shared with ``Client``; only the sending is here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TypeVar, Unpack

from gradatlas import endpoints as ep
from gradatlas.config import DEFAULT_TIMEOUT_S, POLL_S, WAIT_TIMEOUT_S, service_url
from gradatlas.endpoints import DerivativesOptions, TheoryOptions
from gradatlas.errors import TransportError
from gradatlas.protocol import Call, Steps, interpret, poll, transport_errors
from gradatlas.types import (
    FINAL,
    SWEEP_FINAL,
    Activations,
    Experiment,
    ImageFormat,
    Page,
    ResultDict,
    Status,
    Sweep,
    SweepPage,
    Theory,
)

if TYPE_CHECKING:
    import httpx

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
        timeout: float = DEFAULT_TIMEOUT_S,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        import httpx

        url = service_url(base_url)
        self._own = http is None
        with transport_errors(url):
            self.http = http or httpx.AsyncClient(base_url=url, timeout=timeout)
        self.http.headers.update(ep.headers(owner))

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

    async def stats(
        self,
        experiment_id: str,
        *,
        layers: Sequence[int | range] | None = None,
        stats: Sequence[str] | None = None,
        every: int | None = None,
    ) -> ResultDict:
        """As :meth:`Client.stats <gradatlas.client.Client.stats>`."""
        return await self._send(ep.stats(experiment_id, layers, stats, every))

    async def cancel(self, experiment_id: str) -> Experiment:
        return await self._send(ep.cancel(experiment_id))

    async def delete(self, experiment_id: str) -> None:
        await self._send(ep.delete(experiment_id))

    async def plot(self, experiment_id: str, name: str, fmt: ImageFormat = "png") -> bytes:
        return await self._send(ep.plot(experiment_id, name, fmt))

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
    ) -> Experiment:
        what = f"experiment {experiment_id}"
        get = ep.get(experiment_id)
        return await self._run(
            poll(get, FINAL, what=what, timeout=timeout, poll_s=poll_s, on_progress=on_progress)
        )

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

    async def sweep_plot(self, sweep_id: str, name: str, fmt: ImageFormat = "png") -> bytes:
        return await self._send(ep.sweep_plot(sweep_id, name, fmt))

    async def wait_sweep(
        self,
        sweep_id: str,
        *,
        timeout: float = WAIT_TIMEOUT_S,
        poll_s: float = POLL_S,
        on_progress: Callable[[Sweep], None] | None = None,
    ) -> Sweep:
        get = ep.get_sweep(sweep_id)
        return await self._run(
            poll(
                get,
                SWEEP_FINAL,
                what=f"sweep {sweep_id}",
                timeout=timeout,
                poll_s=poll_s,
                on_progress=on_progress,
            )
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
