"""Creating a resource at most once per ``Idempotency-Key`` (``core.store.idempotency``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from api.problems import QueryError
from core.errors import Conflict, FieldError
from core.settings import Settings
from core.store import Store
from core.store.idempotency import Idempotency, fingerprint

T = TypeVar("T")

HEADER = "Idempotency-Key"


def once(
    store: Store,
    settings: Settings,
    *,
    tenant: str | None,
    scope: str,
    key: str | None,
    body: str,
    create: Callable[[], T],
    id_of: Callable[[T], str],
    load: Callable[[str], T],
) -> tuple[T, bool]:
    """``create()`` once per ``key`` (none: every time); the resource and whether it was
    made by an earlier request with this key (``load``\\ ed by its id).

    ``body`` is the request's canonical JSON: the same key with another body is a 422.
    """
    if key is None:
        return create(), False
    idem = Idempotency(store, ttl_s=settings.idempotency_ttl_s)
    fp = fingerprint(body)
    begun = idem.begin(tenant, scope, key, fp)
    if begun.outcome == "replay":
        return load(begun.id), True
    if begun.outcome == "mismatch":
        raise QueryError(
            [
                FieldError(
                    HEADER,
                    "this key was already used with another body: send a new key for a new request",
                    in_="header",
                )
            ]
        )
    if begun.outcome == "pending":
        raise Conflict(
            "A request with this Idempotency-Key is still being handled; retry shortly.",
            retry_after=settings.retry_after_s,
        )
    try:
        made = create()
    except BaseException:
        idem.abandon(begun)
        raise
    idem.done(begun, fp, id_of(made))
    return made, False
