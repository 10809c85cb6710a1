"""A typed Python client for the gradatlas HTTP API (httpx, synchronous).

::

    with GradatlasClient("http://127.0.0.1:8000", owner="my-notebook") as api:
        exp = api.submit({"model": {"depth": 20, "activation": "sigmoid"}})
        exp = api.wait(exp["id"])
        result = api.stats(exp["id"])
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from types import TracebackType
from typing import Any, Literal, TypedDict, cast

import httpx

from gradatlas.core.result import ResultDict
from gradatlas.core.spec import ExperimentSpec

Status = Literal["queued", "running", "succeeded", "failed", "cancelled"]
FINAL: frozenset[str] = frozenset({"succeeded", "failed", "cancelled"})


class ProgressInfo(TypedDict):
    step: int
    total_steps: int
    epoch: int
    fraction: float


class Experiment(TypedDict):
    """``GET /v1/experiments/{id}`` (CONTRACT.md section 4)."""

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
    links: dict[str, Any]


class Page(TypedDict):
    items: list[Experiment]
    next_cursor: str | None


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

    def wait(
        self,
        experiment_id: str,
        *,
        timeout: float = 3600.0,
        poll_s: float = 0.5,
        on_progress: Callable[[Experiment], None] | None = None,
    ) -> Experiment:
        """Poll until the experiment is final; ``TimeoutError`` after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            exp = self.get(experiment_id)
            if on_progress is not None:
                on_progress(exp)
            if exp["status"] in FINAL:
                return exp
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"experiment {experiment_id} still {exp['status']} after {timeout} s"
                )
            time.sleep(poll_s)

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
