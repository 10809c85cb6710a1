"""Small HTTP pieces every router shares: JSON answers, 202s and ``If-None-Match``.

Views are serialised here with ``json.dumps`` into a ``Response``, which
FastAPI sends as it is: the builders' types (``core.views``) say the shape, and
``tests/api/test_views.py`` checks what is served against each route's model.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from fastapi import Request, Response

JSON = "application/json"


def json_response(
    body: Mapping[str, Any], status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """``body`` as JSON, sent without a second validation."""
    return Response(json.dumps(body), status_code=status, media_type=JSON, headers=headers)


#: Sent on a POST answered from an earlier one with the same ``Idempotency-Key``.
REPLAYED = "Idempotent-Replayed"


def accepted(
    body: Mapping[str, Any], location: str, retry_after_s: int, *, replayed: bool = False
) -> Response:
    """202 with ``body``, where to poll it and when; ``replayed``: an earlier request's."""
    headers = {"Location": location, "Retry-After": str(retry_after_s)}
    if replayed:
        headers[REPLAYED] = "true"
    return json_response(body, 202, headers)


def if_none_match(request: Request) -> list[str]:
    """The ETags of ``If-None-Match``, weak ones compared as strong (RFC 9110 § 13.1.2)."""
    # The first such header, as ``request.headers.get`` reads it, without building the
    # headers object (status polling asks this on every request).
    for name, value in request.scope["headers"]:
        if name == b"if-none-match":
            header = value.decode("latin-1")
            return [t.strip().removeprefix("W/") for t in header.split(",") if t.strip()]
    return []
