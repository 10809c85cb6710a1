"""The client without I/O: what to send, how to read the answer, when to poll again.

A :class:`Call` says one request and how to turn its response into a value;
:func:`interpret` turns a response into that value or the right
:mod:`gradatlas.errors` class; :func:`poll` is ``wait``'s loop as a generator of
calls. ``Client`` and ``AsyncClient`` (gradatlas/client.py) only send the calls,
one with ``httpx.Client``, the other with ``httpx.AsyncClient``.

httpx is imported where a request is made, not here, so that importing
``gradatlas`` (and starting ``gradatlas spec``) stays quick.
"""

from __future__ import annotations

import contextlib
import dataclasses
import email.utils
import math
import time
from collections.abc import Callable, Generator, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from gradatlas.errors import ApiError, InvalidURL, TransportError, WaitTimeout, api_error
from gradatlas.types import Experiment, Problem, Sweep

if TYPE_CHECKING:
    import httpx

T = TypeVar("T")
Polled = TypeVar("Polled", Experiment, Sweep)
QueryValue = str | int | float | bool


@dataclass(frozen=True)
class Call(Generic[T]):
    """One request, and how its (successful) response becomes a value."""

    method: str
    path: str
    read: Callable[[httpx.Response], T]
    params: Mapping[str, QueryValue] | None = None
    json: Any = None
    #: Wait this long before sending (``poll`` spaces its requests this way).
    delay_s: float = 0.0
    #: False: any status is an answer for ``read`` (health checks), not an error.
    check: bool = True

    def request(self, http: httpx.Client | httpx.AsyncClient) -> httpx.Request:
        return http.build_request(self.method, self.path, params=self.params, json=self.json)


#: A generator of calls that is sent each call's value and returns a result.
Steps = Generator[Call[T], T, T]


def read_json(kind: type[T]) -> Callable[[httpx.Response], T]:
    """A reader that decodes the JSON body as ``kind`` (a TypedDict: cast, not checked)."""

    def read(response: httpx.Response) -> T:
        return cast(T, response.json())

    return read


def read_bytes(response: httpx.Response) -> bytes:
    return response.content


def read_nothing(response: httpx.Response) -> None:
    return None


def is_ok(response: httpx.Response) -> bool:
    return response.status_code == 200


def interpret(call: Call[T], response: httpx.Response) -> T:
    """The call's value, or the :class:`~gradatlas.errors.ApiError` the status means."""
    if call.check and response.status_code >= 400:
        raise error_of(response)
    return call.read(response)


def error_of(response: httpx.Response) -> ApiError:
    """An error answer as the most specific ``ApiError``, its problem body kept."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        problem = cast(Problem, body)
    else:  # a proxy's HTML page, or an empty body: RFC 9457's "about:blank" problem
        problem = {
            "type": "about:blank",
            "title": response.reason_phrase,
            "status": response.status_code,
            "detail": response.text.strip() or response.reason_phrase,
        }
    return api_error(response.status_code, problem, retry_after(response.headers))


def retry_after(headers: httpx.Headers) -> float | None:
    """``Retry-After`` in seconds (it may be a number or an HTTP date); None if absent or bad."""
    value = headers.get("retry-after")
    if value is None:
        return None
    with contextlib.suppress(ValueError):
        seconds = float(value)
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


@contextlib.contextmanager
def transport_errors(base_url: httpx.URL | str) -> Iterator[None]:
    """httpx's exceptions for a request that got no answer, as the client's own."""
    import httpx

    try:
        yield
    except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
        raise InvalidURL(f"cannot request {base_url!s}: {exc}") from exc
    except httpx.TransportError as exc:
        raise TransportError(f"no answer from {base_url!s}: {exc}") from exc


def poll(
    get: Call[Polled],
    final: frozenset[str],
    *,
    what: str,
    timeout: float,
    poll_s: float,
    on_progress: Callable[[Polled], None] | None,
) -> Steps[Polled]:
    """Send ``get`` until the body's status is in ``final``; ``WaitTimeout`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    call = get
    while True:
        body = yield call
        if on_progress is not None:
            on_progress(body)
        if body["status"] in final:
            return body
        left = deadline - time.monotonic()
        if left <= 0:
            raise WaitTimeout(f"{what} still {body['status']} after {timeout} s")
        # The last poll lands on the deadline rather than up to poll_s past it.
        call = dataclasses.replace(get, delay_s=min(poll_s, left))
