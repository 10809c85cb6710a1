"""Error answers the real API cannot give yet, each raised as its ``gradatlas.errors`` class.

test_client.py checks 404, 409, 422 and 503 against the real API. Here an
``httpx.MockTransport`` answers instead, and only for what the API does not
produce today: 401 and 429 (it has no authentication and no rate limit yet), a
500 (its last-resort handler, which no request reaches on purpose), and what a
proxy in front of it may send (an HTML 502, a bare 400, a date in Retry-After).
"""

from __future__ import annotations

import asyncio
import email.utils
import time
from typing import Any

import httpx
import pytest

from gradatlas import (
    ApiError,
    AsyncClient,
    Client,
    ClientError,
    RateLimited,
    ServerError,
    ServiceUnavailable,
    Unauthorized,
)

PROBLEM = "application/problem+json"


def answer(
    status: int, body: Any = None, text: str | None = None, **headers: str
) -> httpx.Response:
    if text is not None:
        return httpx.Response(status, text=text, headers=headers)
    return httpx.Response(status, json=body, headers={"content-type": PROBLEM, **headers})


def raised(kind: str, response: httpx.Response) -> ApiError:
    """What ``Client`` (or ``AsyncClient``) raises for ``list()`` answered with ``response``."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return response

    transport = httpx.MockTransport(handler)

    def call_sync() -> None:
        with httpx.Client(transport=transport, base_url="http://svc") as http:
            Client(http=http).list()

    async def call_async() -> None:
        async with httpx.AsyncClient(transport=transport, base_url="http://svc") as http:
            await AsyncClient(http=http).list()

    with pytest.raises(ApiError) as info:
        call_sync() if kind == "sync" else asyncio.run(call_async())
    assert [r.url.path for r in seen] == ["/v1/experiments"]
    return info.value


@pytest.fixture(params=["sync", "async"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_401_is_unauthorized(kind: str) -> None:
    body = {"type": "urn:x", "title": "Unauthorized", "status": 401, "detail": "Send a token."}
    exc = raised(kind, answer(401, body))
    assert type(exc) is Unauthorized
    assert (exc.status, exc.detail, exc.title) == (401, "Send a token.", "Unauthorized")
    assert exc.problem == body
    assert exc.retry_after is None


def test_429_is_rate_limited_with_its_retry_after(kind: str) -> None:
    exc = raised(kind, answer(429, {"title": "Too Many Requests"}, **{"Retry-After": "7"}))
    assert type(exc) is RateLimited
    assert exc.retry_after == 7.0
    assert exc.detail == "Too Many Requests"  # no detail: the title stands in


def test_retry_after_may_be_an_http_date(kind: str) -> None:
    when = email.utils.formatdate(time.time() + 120, usegmt=True)
    exc = raised(kind, answer(429, {"detail": "slow down"}, **{"Retry-After": when}))
    assert isinstance(exc, RateLimited)
    assert exc.retry_after is not None
    assert 60 < exc.retry_after <= 120


def test_a_retry_after_that_is_neither_is_ignored(kind: str) -> None:
    exc = raised(kind, answer(503, {"detail": "away"}, **{"Retry-After": "soon"}))
    assert type(exc) is ServiceUnavailable
    assert exc.retry_after is None


def test_500_is_a_server_error_but_not_unavailable(kind: str) -> None:
    exc = raised(kind, answer(500, {"title": "Internal error", "detail": "logged"}))
    assert type(exc) is ServerError
    assert not isinstance(exc, ServiceUnavailable)


def test_a_proxys_html_page_keeps_its_text(kind: str) -> None:
    exc = raised(kind, answer(502, text="<html>Bad Gateway</html>\n"))
    assert type(exc) is ServerError
    assert exc.detail == "<html>Bad Gateway</html>"
    assert exc.errors == []


def test_another_4xx_is_a_plain_api_error(kind: str) -> None:
    exc = raised(kind, answer(400, text=""))
    assert type(exc) is ApiError
    assert isinstance(exc, ClientError)
    assert exc.status == 400
    assert str(exc) == "400: Bad Request"  # the reason phrase, for a body that says nothing
    assert exc.problem == {
        "type": "about:blank",
        "title": "Bad Request",
        "status": 400,
        "detail": "Bad Request",
    }
