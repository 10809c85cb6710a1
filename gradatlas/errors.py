"""The errors the gradatlas client raises.

::

    ClientError                    base: anything the client raises on purpose
     +-- TransportError            no answer: unreachable, refused, timed out
     +-- InvalidURL                the base URL cannot be used (no scheme, bad host)
     +-- WaitTimeout               wait()/wait_sweep() ran out of time (also a TimeoutError)
     +-- ApiError                  the service answered with an error status
          +-- Unauthorized         401: no or wrong credentials
          +-- NotFound             404: no such experiment, sweep, plot or remedy
          +-- Conflict             409: the request clashes with the state (e.g. not finished)
          +-- InvalidRequest       422: bad parameters; ``errors`` names each field
          |    +-- InvalidSpec     422: a bad experiment or sweep spec
          +-- RateLimited          429: too many requests; ``retry_after`` seconds
          +-- ServerError          5xx: the service failed
               +-- ServiceUnavailable  503: Redis (or a worker) is away; ``retry_after``

Every :class:`ApiError` keeps the HTTP ``status`` and the RFC 9457 ``problem``
body the service sent (docs/contract.md § HTTP API); ``detail`` is its
sentence a person can act on. Other 4xx answers (400, 413, 415 ...) are plain
``ApiError``. The names are the client's own: the server's ``core.errors``
hierarchy is not imported here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gradatlas.types import Problem, ProblemField


class ClientError(Exception):
    """Base class of every error the client raises on purpose."""


class TransportError(ClientError):
    """The request got no answer (connection refused, DNS, timeout); ``__cause__`` says which."""


class InvalidURL(ClientError, ValueError):
    """The base URL or a path cannot be requested (e.g. ``localhost:8000``, without a scheme)."""


class WaitTimeout(ClientError, TimeoutError):
    """``wait`` or ``wait_sweep`` gave up: the experiment or sweep is still not final."""


class ApiError(ClientError):
    """An error answer: the HTTP ``status`` and the RFC 9457 ``problem`` body."""

    def __init__(self, status: int, problem: Problem, *, retry_after: float | None = None) -> None:
        self.status = status
        self.problem = problem
        #: Seconds the service asked to wait before retrying (``Retry-After``), if it did.
        self.retry_after = retry_after
        self.detail = str(problem.get("detail") or problem.get("title") or f"HTTP {status}")
        super().__init__(f"{status}: {self.detail}")

    @property
    def title(self) -> str | None:
        return self.problem.get("title")

    @property
    def errors(self) -> list[ProblemField]:
        """One ``{field, message, ...}`` per bad field (a 422); empty otherwise."""
        return list(self.problem.get("errors") or [])


class Unauthorized(ApiError):
    """401."""


class NotFound(ApiError):
    """404."""


class Conflict(ApiError):
    """409."""


class InvalidRequest(ApiError):
    """422: a bad query or path parameter; ``errors`` names each."""


class InvalidSpec(InvalidRequest):
    """422 with the ``invalid-spec`` problem type: ``errors`` names each bad spec field."""


class RateLimited(ApiError):
    """429; ``retry_after`` says when to try again."""


class ServerError(ApiError):
    """5xx."""


class ServiceUnavailable(ServerError):
    """503: the store is unreachable or nothing can take the work now; see ``retry_after``."""


_BY_STATUS: dict[int, type[ApiError]] = {
    401: Unauthorized,
    404: NotFound,
    409: Conflict,
    422: InvalidRequest,
    429: RateLimited,
    503: ServiceUnavailable,
}
#: The problem ``type`` the API gives a bad spec (api/problems.py).
INVALID_SPEC_TYPE = "urn:gradatlas:problem:invalid-spec"


def api_error(status: int, problem: Problem, retry_after: float | None = None) -> ApiError:
    """The most specific :class:`ApiError` for an error answer."""
    cls = _BY_STATUS.get(status) or (ServerError if status >= 500 else ApiError)
    if cls is InvalidRequest and problem.get("type") == INVALID_SPEC_TYPE:
        cls = InvalidSpec
    return cls(status, problem, retry_after=retry_after)
