"""schemathesis against the running service's ``/openapi.json``: real uvicorn, real Redis.

Every operation (HEAD and OPTIONS included) gets generated requests, valid and not: no
5xx, every error ``application/problem+json``, every answer as the schema says (status,
content type, headers, body). Bounded: ``MAX_EXAMPLES`` per operation, so the whole run
stays within a couple of minutes; no worker runs, so experiments stay ``queued``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import checks
from schemathesis.checks import CheckContext
from schemathesis.core.failures import FailureGroup
from service_procs import RedisServer, serve

from api.app import create_app
from core.settings import Settings
from core.store import Store

KEY = "fuzz-key-0123456789"
AUTH = {"Authorization": f"Bearer {KEY}"}
MAX_EXAMPLES = 25
#: One entry per case sent (the run's size, printed with ``-s``).
CASES: list[int] = []

pytestmark = pytest.mark.slow


@schemathesis.check
def errors_are_problems(ctx: CheckContext, response: schemathesis.Response, case: Any) -> bool:
    """Every 4xx/5xx with a body is RFC 9457 problem+json with its own status."""
    if response.status_code < 400 or case.method.upper() == "HEAD":
        return True
    media = response.headers.get("content-type", [""])[0].split(";")[0]
    assert media == "application/problem+json", f"{response.status_code} sent as {media!r}"
    body = response.json()
    assert body["status"] == response.status_code
    assert body["detail"]
    return True


@pytest.fixture(scope="module")
def service(redis_server: RedisServer) -> Iterator[str]:
    s = Settings(
        redis_url=redis_server.url,
        key_prefix=f"fz{uuid.uuid4().hex[:8]}",
        queue=f"q-{uuid.uuid4().hex[:8]}",
        api_keys=f"fuzz={KEY}",
        rate_limit_per_min=0,  # thousands of requests a minute, on purpose
        max_active_per_tenant=50,
        max_depth=20,
        max_width=64,
    )
    store = Store.from_settings(s)
    # A heartbeat as a worker sends it, so /readyz is ready (a 503 there is its schema's
    # answer for "no worker", which the server-error check would count).
    store.beat("fuzz-worker@test", ttl_s=3600)
    with serve(create_app(s, store=store)) as url:
        yield url
    store.worker_gone("fuzz-worker@test")


def fuzz(operation: Any, mode: schemathesis.GenerationMode) -> list[str]:
    """Run ``MAX_EXAMPLES`` generated cases of one operation; the failures, as text."""
    failures: list[str] = []

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: report, do not minimise
    )
    def run(case: schemathesis.Case[Any]) -> None:
        CASES.append(1)
        try:
            case.call_and_validate(
                headers=AUTH,
                additional_checks=[errors_are_problems],
                # A schema-valid spec may still exceed a server limit (a 422 naming it).
                excluded_checks=[checks.positive_data_acceptance],
            )
        except (AssertionError, FailureGroup) as e:
            failures.append(f"{case.method} {case.formatted_path}: {str(e)[:1500]}")

    try:
        run()
    except Unsatisfiable:  # nothing to make invalid (no parameters, no body)
        assert mode is schemathesis.GenerationMode.NEGATIVE, operation.label
    return failures


def test_every_operation_keeps_its_schema(service: str) -> None:
    schema = schemathesis.openapi.from_url(f"{service}/openapi.json")
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]  # an invalid schema raises here
        operations += 1
        for mode in schemathesis.GenerationMode:
            failures += fuzz(operation, mode)
    assert operations > 40  # HEAD and OPTIONS beside every route
    print(f"schemathesis: {len(CASES)} cases over {operations} operations")
    assert not failures, "\n\n".join(dict.fromkeys(failures))
