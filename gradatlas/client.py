"""A typed Python client for the gradatlas HTTP API (httpx, synchronous).

::

    with GradatlasClient("http://127.0.0.1:8000", owner="my-notebook") as api:
        exp = api.submit({"model": {"depth": 20, "activation": "sigmoid"}})
        exp = api.wait(exp["id"])
        result = api.stats(exp["id"])
        png = api.plot(exp["id"], "gradient-profile")
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from types import TracebackType
from typing import Any, Literal, TypedDict, TypeVar, cast

import httpx

from core.result import ResultDict
from core.spec import ExperimentSpec

Status = Literal["queued", "running", "succeeded", "failed", "cancelled"]
SweepStatus = Literal["queued", "running", "succeeded", "failed", "cancelled", "mixed"]
ImageFormat = Literal["png", "svg"]
FINAL: frozenset[str] = frozenset({"succeeded", "failed", "cancelled"})
#: A sweep whose children ended differently is ``mixed``, and final too.
SWEEP_FINAL: frozenset[str] = FINAL | {"mixed"}


class ProgressInfo(TypedDict):
    step: int
    total_steps: int
    epoch: int
    fraction: float


class Experiment(TypedDict):
    """``GET /v1/experiments/{id}`` (docs/contract.md § HTTP API)."""

    id: str
    status: Status
    spec: dict[str, Any]
    progress: ProgressInfo
    created_at: str
    started_at: str | None
    finished_at: str | None
    attempts: int
    owner: str | None
    cancel_requested: bool
    summary: dict[str, Any] | None
    diagnosis: dict[str, Any] | None
    error: str | None
    #: Where it came from: ``{"derived_from": id, "remedy": k}`` or ``{"sweep": id}``.
    meta: dict[str, str]
    links: dict[str, Any]


class Page(TypedDict):
    items: list[Experiment]
    next_cursor: str | None


class SweepRow(TypedDict):
    """One child of a sweep; its numbers are null until it has finished."""

    id: str
    params: dict[str, Any]
    status: str
    progress: float
    gradient_ratio_log10: float | None
    backprop_ratio_log10: float | None
    decay_per_layer: float | None
    final_val_accuracy: float | None
    verdict: str | None
    error: str | None


class Sweep(TypedDict):
    """``GET /v1/sweeps/{id}`` (docs/insight.md, "Sweeps")."""

    id: str
    name: str
    status: SweepStatus
    progress: float
    created_at: str | None
    owner: str | None
    base: dict[str, Any]
    grid: dict[str, list[Any]]
    counts: dict[str, int]
    children: list[SweepRow]
    links: dict[str, Any]


class ApiError(Exception):
    """An error answer: ``status`` and the RFC 9457 ``problem`` body."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        self.status = status
        self.problem = problem
        self.detail = str(problem.get("detail") or problem.get("title") or f"HTTP {status}")
        super().__init__(f"{status}: {self.detail}")

    @property
    def errors(self) -> list[dict[str, Any]]:
        """For a 422: one ``{field, message, ...}`` per bad field."""
        return list(self.problem.get("errors") or [])


class GradatlasClient:
    def __init__(
        self,
        base_url: str = "http://127.0.0.1:8000",
        *,
        owner: str | None = None,
        timeout: float = 30.0,
        http: httpx.Client | None = None,
    ) -> None:
        headers = {"X-Gradatlas-Owner": owner} if owner else {}
        self._own = http is None
        self.http = http or httpx.Client(base_url=base_url, timeout=timeout)
        self.http.headers.update(headers)

    def __enter__(self) -> GradatlasClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._own:
            self.http.close()

    def _call(self, method: str, path: str, **kw: Any) -> httpx.Response:
        r = self.http.request(method, path, **kw)
        if r.status_code >= 400:
            try:
                problem = r.json()
            except ValueError:
                problem = {"detail": r.text or r.reason_phrase}
            raise ApiError(r.status_code, problem if isinstance(problem, dict) else {})
        return r

    # --- experiments ---------------------------------------------------------
    def submit(self, spec: ExperimentSpec | Mapping[str, Any]) -> Experiment:
        """Queue an experiment; raises ``ApiError`` (422) naming each bad field."""
        body = spec.model_dump(mode="json") if isinstance(spec, ExperimentSpec) else dict(spec)
        return cast(Experiment, self._call("POST", "/v1/experiments", json=body).json())

    def get(self, experiment_id: str) -> Experiment:
        return cast(Experiment, self._call("GET", f"/v1/experiments/{experiment_id}").json())

    def list(
        self, *, status: Status | None = None, limit: int = 20, cursor: str | None = None
    ) -> Page:
        params: dict[str, Any] = {"limit": limit}
        if status:
            params["status"] = status
        if cursor:
            params["cursor"] = cursor
        return cast(Page, self._call("GET", "/v1/experiments", params=params).json())

    def iter_experiments(
        self, *, status: Status | None = None, page_size: int = 50
    ) -> Iterator[Experiment]:
        """Every experiment, newest first, fetching pages as needed."""
        cursor = None
        while True:
            page = self.list(status=status, limit=page_size, cursor=cursor)
            yield from page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                return

    def stats(self, experiment_id: str) -> ResultDict:
        """The recorded statistics (partial while running)."""
        return cast(ResultDict, self._call("GET", f"/v1/experiments/{experiment_id}/stats").json())

    def cancel(self, experiment_id: str) -> Experiment:
        r = self._call("POST", f"/v1/experiments/{experiment_id}/cancel")
        return cast(Experiment, r.json())

    def delete(self, experiment_id: str) -> None:
        self._call("DELETE", f"/v1/experiments/{experiment_id}")

    def plot(self, experiment_id: str, name: str, fmt: ImageFormat = "png") -> bytes:
        """A figure's bytes; ``name`` is one of docs/contract.md § HTTP API's plot names."""
        return self._call("GET", f"/v1/experiments/{experiment_id}/plots/{name}.{fmt}").content

    def remedy(self, experiment_id: str, k: int) -> Experiment:
        """Submit the spec changed by remedy ``k`` (from 0) of a finished run's diagnosis."""
        r = self._call("POST", f"/v1/experiments/{experiment_id}/remedies/{k}")
        return cast(Experiment, r.json())

    def wait(
        self,
        experiment_id: str,
        *,
        timeout: float = 3600.0,
        poll_s: float = 0.5,
        on_progress: Callable[[Experiment], None] | None = None,
    ) -> Experiment:
        """Poll until the experiment is final; ``TimeoutError`` after ``timeout`` seconds."""
        return _poll(
            lambda: self.get(experiment_id),
            FINAL,
            what=f"experiment {experiment_id}",
            timeout=timeout,
            poll_s=poll_s,
            on_progress=on_progress,
        )

    # --- sweeps --------------------------------------------------------------
    def submit_sweep(self, sweep: Mapping[str, Any]) -> Sweep:
        """Start ``{name, base, grid}``; raises ``ApiError`` (422) naming each bad grid path."""
        return cast(Sweep, self._call("POST", "/v1/sweeps", json=dict(sweep)).json())

    def get_sweep(self, sweep_id: str) -> Sweep:
        return cast(Sweep, self._call("GET", f"/v1/sweeps/{sweep_id}").json())

    def wait_sweep(
        self,
        sweep_id: str,
        *,
        timeout: float = 3600.0,
        poll_s: float = 0.5,
        on_progress: Callable[[Sweep], None] | None = None,
    ) -> Sweep:
        """Poll until every child is final; ``TimeoutError`` after ``timeout`` seconds."""
        return _poll(
            lambda: self.get_sweep(sweep_id),
            SWEEP_FINAL,
            what=f"sweep {sweep_id}",
            timeout=timeout,
            poll_s=poll_s,
            on_progress=on_progress,
        )

    # --- the service ---------------------------------------------------------
    def healthy(self) -> bool:
        try:
            return self.http.get("/healthz").status_code == 200
        except httpx.TransportError:
            return False

    def ready(self) -> bool:
        """Redis answers and at least one worker is alive."""
        try:
            return self.http.get("/readyz").status_code == 200
        except httpx.TransportError:
            return False


_Polled = TypeVar("_Polled", Experiment, Sweep)


def _poll(
    get: Callable[[], _Polled],
    final: frozenset[str],
    *,
    what: str,
    timeout: float,
    poll_s: float,
    on_progress: Callable[[_Polled], None] | None,
) -> _Polled:
    deadline = time.monotonic() + timeout
    while True:
        body = get()
        if on_progress is not None:
            on_progress(body)
        if body["status"] in final:
            return body
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{what} still {body['status']} after {timeout} s")
        time.sleep(poll_s)
