"""The errors gradatlas raises on purpose.

::

    GradatlasError              base: anything gradatlas means to raise
     +-- SpecError              a spec is invalid or exceeds a limit      (422)
     +-- NotFound               no such experiment, sweep, plot or remedy (404)
     +-- Conflict               the request clashes with the state        (409)
     +-- StoreUnavailable       Redis cannot be reached right now         (503)

The API maps each class to one HTTP status in a single exception handler; the
worker turns anything else into a ``failed`` experiment with the message.
"""

from __future__ import annotations

from typing import Any


class GradatlasError(Exception):
    """Base class; ``detail`` is a sentence a person can act on."""

    status: int = 500
    title: str = "Internal error"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class SpecError(GradatlasError):
    """The spec is invalid or exceeds a server limit.

    ``errors`` lists ``{"loc": [...], "msg": ...}`` entries, one per bad field.
    """

    status = 422
    title = "Invalid experiment spec"

    def __init__(self, detail: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(detail)
        self.errors = errors or []


class NotFound(GradatlasError):
    status = 404
    title = "Not found"


class Conflict(GradatlasError):
    status = 409
    title = "Conflict"


class StoreUnavailable(GradatlasError):
    status = 503
    title = "Store unavailable"
