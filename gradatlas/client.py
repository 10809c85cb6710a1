"""A typed Python client for the gradatlas HTTP API: ``Client`` (sync; ``AsyncClient`` beside it).

::

    with Client("http://127.0.0.1:8000", owner="my-notebook") as api:
        exp = api.submit({"model": {"depth": 20, "activation": "sigmoid"}})
        exp = api.wait(exp["id"])
        result = api.stats(exp["id"])
        png = api.plot(exp["id"], "gradient-profile")

    async with AsyncClient() as api:  # $GRADATLAS_URL, else http://127.0.0.1:8000
        exp = await api.wait((await api.submit(spec))["id"])

Both have the same methods and raise the same :mod:`gradatlas.errors`. What a
method sends and how its answer is read is written once, in
gradatlas/endpoints.py and gradatlas/protocol.py; ``Client`` and
``AsyncClient`` (gradatlas/async_client.py) only send.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
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
    from gradatlas.notebook import ExperimentHandle

T = TypeVar("T")


class Client:
    """The gradatlas API over ``httpx.Client``; ``base_url`` defaults to ``$GRADATLAS_URL``.

    ``api_key`` (default ``$GRADATLAS_API_KEY``) is sent as ``Authorization: Bearer``
    to a service that has API keys. Pass ``http`` to reuse a configured
    ``httpx.Client`` (its ``base_url`` is used, and it is not closed by :meth:`close`).
    """

    def __init__(
        self,
        base_url: str | None = None,
        *,
        owner: str | None = None,
        api_key: str | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        http: httpx.Client | None = None,
    ) -> None:
        import httpx  # here, not at import: see gradatlas/protocol.py

        url = service_url(base_url)
        self._own = http is None
        with transport_errors(url):
            self.http = http or httpx.Client(base_url=url, timeout=timeout)
        self.http.headers.update(ep.headers(owner, api_key))

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._own:
            self.http.close()

    def _send(self, call: Call[T]) -> T:
        if call.delay_s > 0:
            time.sleep(call.delay_s)
        with transport_errors(self.http.base_url):
            response = self.http.send(call.request(self.http))
        return interpret(call, response)

    def _run(self, steps: Steps[T]) -> T:
        try:
            call = next(steps)
            while True:
                call = steps.send(self._send(call))
        except StopIteration as done:
            result: T = done.value
            return result

    # --- experiments ---------------------------------------------------------
    def submit(self, spec: ExperimentSpec | Mapping[str, Any]) -> Experiment:
        """Queue an experiment; ``InvalidSpec`` (422) names each bad field."""
        return self._send(ep.submit(spec))

    def get(self, experiment_id: str) -> Experiment:
        return self._send(ep.get(experiment_id))

    def list(
        self, *, status: Status | None = None, limit: int | None = None, cursor: str | None = None
    ) -> Page:
        """One page, newest first; pass its ``next_cursor`` as ``cursor`` for the next."""
        return self._send(ep.list_experiments(status, limit, cursor))

    def iter_experiments(
        self, *, status: Status | None = None, page_size: int = 50
    ) -> Iterator[Experiment]:
        """Every experiment, newest first, fetching pages as needed."""
        cursor: str | None = None
        while True:
            page = self.list(status=status, limit=page_size, cursor=cursor)
            yield from page["items"]
            if (cursor := page["next_cursor"]) is None:
                return

    @overload
    def stats(
        self,
        experiment_id: str,
        *,
        layers: Sequence[int | range] | None = None,
        stats: Sequence[str] | None = None,
        every: int | None = None,
        as_arrays: Literal[False] = False,
    ) -> ResultDict: ...
    @overload
    def stats(
        self,
        experiment_id: str,
        *,
        layers: Sequence[int | range] | None = None,
        stats: Sequence[str] | None = None,
        every: int | None = None,
        as_arrays: Literal[True],
    ) -> RunResult: ...
    def stats(
        self,
        experiment_id: str,
        *,
        layers: Sequence[int | range] | None = None,
        stats: Sequence[str] | None = None,
        every: int | None = None,
        as_arrays: bool = False,
    ) -> ResultDict | RunResult:
        """The recorded statistics (partial while running; ``Conflict`` before any).

        ``layers``, ``stats`` and ``every`` fetch a slice: only those layers (indices or
        ``range``s), statistics and every k-th record, in the same shape. ``as_arrays``:
        as ``core.run_result.RunResult``, NumPy arrays (loads NumPy).
        """
        result = self._send(ep.stats(experiment_id, layers, stats, every))
        if not as_arrays:
            return result
        from core.run_result import RunResult

        return RunResult.from_json(result)

    def experiment(self, experiment_id: str) -> ExperimentHandle:
        """The experiment as an object a notebook shows inline (gradatlas/notebook.py)."""
        from gradatlas.notebook import ExperimentHandle

        return ExperimentHandle(self, experiment_id)

    def cancel(self, experiment_id: str) -> Experiment:
        return self._send(ep.cancel(experiment_id))

    def delete(self, experiment_id: str) -> None:
        """Forget a finished experiment; ``Conflict`` while it is queued or running."""
        self._send(ep.delete(experiment_id))

    def plot(
        self,
        experiment_id: str,
        name: str,
        fmt: ImageFormat = "png",
        scale: ImageScale | None = None,
    ) -> bytes:
        """A figure's bytes (PNG, SVG or PDF); ``name`` is one of ``plots()``'s names and
        ``scale="auto"`` zooms to the run (the server's default is ``absolute``)."""
        return self._send(ep.plot(experiment_id, name, fmt, scale))

    def plots(self, experiment_id: str) -> PlotList:
        """Every figure of an experiment: name, title, caption and a URL per format."""
        return self._send(ep.plots(experiment_id))

    def remedy(self, experiment_id: str, k: int) -> Experiment:
        """Submit the spec changed by remedy ``k`` (from 0) of a finished run's diagnosis."""
        return self._send(ep.remedy(experiment_id, k))

    def compare_plot(self, experiment_ids: Sequence[str], fmt: ImageFormat = "png") -> bytes:
        """The step-0 gradient profiles of several experiments, overlaid."""
        return self._send(ep.compare_plot(experiment_ids, fmt))

    def wait(
        self,
        experiment_id: str,
        *,
        timeout: float = WAIT_TIMEOUT_S,
        poll_s: float = POLL_S,
        on_progress: Callable[[Experiment], None] | None = None,
        events: bool = True,
    ) -> Experiment:
        """Until the experiment is final: over its live events (``events``), else by polling;
        ``WaitTimeout`` after ``timeout`` seconds."""
        get = ep.get(experiment_id)
        what = f"experiment {experiment_id}"
        return self._wait(
            get,
            ep.events_path(experiment_id) if events else None,
            FINAL,
            what,
            timeout=timeout,
            poll_s=poll_s,
            on_progress=on_progress,
        )

    def _wait(
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
        body = self._send(get)
        if on_progress is not None:
            on_progress(body)
        follower = Follower(body, final=final, what=what, timeout=timeout)
        if not follower.done and events is not None:
            self._follow(events, follower, on_progress)
        if follower.done:
            return follower.body
        left = max(0.0, follower.deadline - time.monotonic())
        return self._run(
            poll(get, final, what=what, timeout=left, poll_s=poll_s, on_progress=on_progress)
        )

    def _follow(
        self, path: str, follower: Follower[Polled], on_progress: Callable[[Polled], None] | None
    ) -> None:
        """Fold the stream's events into ``follower`` until ``end``; quietly return when
        the stream cannot be had or drops (the caller polls then)."""
        import httpx

        headers = {"Accept": EVENT_STREAM}
        try:
            timeout = httpx.Timeout(min(STALL_S, follower.left()))
            with self.http.stream("GET", path, headers=headers, timeout=timeout) as r:
                if r.status_code != 200 or EVENT_STREAM not in r.headers.get("content-type", ""):
                    return
                parser = EventParser()
                for line in r.iter_lines():
                    event = parser.feed(line)
                    if event is not None and follower.apply(event) and on_progress is not None:
                        on_progress(follower.body)
                    if follower.done:
                        return
                    follower.left()
        except httpx.TransportError:
            return

    # --- sweeps --------------------------------------------------------------
    def submit_sweep(self, sweep: Mapping[str, Any]) -> Sweep:
        """Start ``{name, base, grid}``; ``InvalidSpec`` (422) names each bad grid path."""
        return self._send(ep.submit_sweep(sweep))

    def get_sweep(self, sweep_id: str) -> Sweep:
        return self._send(ep.get_sweep(sweep_id))

    def list_sweeps(self, *, limit: int | None = None, cursor: str | None = None) -> SweepPage:
        return self._send(ep.list_sweeps(limit, cursor))

    def cancel_sweep(self, sweep_id: str) -> Sweep:
        """Cancel every child still queued or running; finished ones are kept."""
        return self._send(ep.cancel_sweep(sweep_id))

    def sweep_plot(
        self, sweep_id: str, name: str, fmt: ImageFormat = "png", scale: ImageScale | None = None
    ) -> bytes:
        return self._send(ep.sweep_plot(sweep_id, name, fmt, scale))

    def wait_sweep(
        self,
        sweep_id: str,
        *,
        timeout: float = WAIT_TIMEOUT_S,
        poll_s: float = POLL_S,
        on_progress: Callable[[Sweep], None] | None = None,
        events: bool = True,
    ) -> Sweep:
        """Until every child is final (over live events, else polling); ``WaitTimeout``
        after ``timeout`` seconds."""
        get = ep.get_sweep(sweep_id)
        return self._wait(
            get,
            ep.sweep_events_path(sweep_id) if events else None,
            SWEEP_FINAL,
            f"sweep {sweep_id}",
            timeout=timeout,
            poll_s=poll_s,
            on_progress=on_progress,
        )

    # --- answers that need no training ---------------------------------------
    def theory(self, activation: str, depth: int, **options: Unpack[TheoryOptions]) -> Theory:
        """The mean-field prediction for a plain network, without training (docs/insight.md)."""
        return self._send(ep.theory(activation, depth, **options))

    def activations(self) -> Activations:
        return self._send(ep.activations())

    def activations_plot(
        self,
        names: Sequence[str] | None = None,
        fmt: ImageFormat = "png",
        **options: Unpack[DerivativesOptions],
    ) -> bytes:
        """phi (top) and phi' (bottom) of ``names`` (default: the server's choice)."""
        return self._send(ep.activations_plot(names, fmt, **options))

    # --- the service ---------------------------------------------------------
    def healthy(self) -> bool:
        try:
            return self._send(ep.healthy())
        except TransportError:
            return False

    def ready(self) -> bool:
        """Redis answers and at least one worker is alive."""
        try:
            return self._send(ep.ready())
        except TransportError:
            return False


#: The name of earlier versions.
GradatlasClient = Client
