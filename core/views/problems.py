"""Every error's body (RFC 9457 problem+json), and the health answers."""

from __future__ import annotations

from typing import Annotated, Literal, NotRequired

from pydantic import ConfigDict, Field, with_config

# Not typing's: pydantic validates only typing_extensions.TypedDict before Python 3.12.
from typing_extensions import TypedDict

from core.errors import FieldErrorJSON
from core.views.examples import PROBLEM_EXAMPLE, exact

# --- problems and health ----------------------------------------------------------------


@with_config(ConfigDict(extra="allow", json_schema_extra={"examples": [dict(PROBLEM_EXAMPLE)]}))
class ProblemView(TypedDict):
    """Every error: RFC 9457 ``application/problem+json``, with members of its own."""

    type: Annotated[str, Field(description="A URN naming the kind of problem.")]
    title: str
    status: int
    detail: Annotated[str, Field(description="What happened and what to do, for a person.")]
    instance: NotRequired[Annotated[str, Field(description="The path that was asked for.")]]
    errors: NotRequired[
        Annotated[list[FieldErrorJSON], Field(description="A 422's bad fields, one entry each.")]
    ]


@with_config(exact())
class Liveness(TypedDict):
    status: Literal["ok"]


@with_config(exact())
class Readiness(TypedDict):
    status: Literal["ready"]
    redis: Literal["ok"]
    workers: Annotated[int, Field(ge=1, description="Workers with a fresh heartbeat.")]
