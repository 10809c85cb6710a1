"""The views of experiments: one experiment, its progress and links, and a page of them."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, GetPydanticSchema, with_config
from pydantic_core import core_schema

# Not typing's: pydantic validates only typing_extensions.TypedDict before Python 3.12.
from typing_extensions import TypedDict

from core.result import Diagnosis, Summary
from core.spec import ExperimentSpec
from core.views.examples import EXAMPLE_ID, EXPERIMENT_EXAMPLE, PROGRESS_EXAMPLE, exact
from core.views.names import PlotName, Status


def _spec_schema(_source: Any, handler: Any) -> core_schema.CoreSchema:
    # Validated and documented as an ExperimentSpec, kept as the JSON dict it is on the wire.
    spec = handler(ExperimentSpec)
    return core_schema.no_info_after_validator_function(
        lambda s: s.model_dump(mode="json"),
        spec,
        serialization=core_schema.plain_serializer_function_ser_schema(
            lambda d: d, return_schema=spec
        ),
    )


#: An experiment spec as JSON (docs/contract.md § Spec): every field, defaults filled in.
SpecJSON = Annotated[dict[str, Any], GetPydanticSchema(_spec_schema)]


# --- experiments ------------------------------------------------------------------------


@with_config(exact(PROGRESS_EXAMPLE))
class ProgressView(TypedDict):
    """Where a run stands; ``fraction`` is ``step / total_steps``."""

    step: int
    total_steps: int
    epoch: int
    fraction: Annotated[float, Field(ge=0, le=1)]


@with_config(exact())
class ExperimentLinks(TypedDict):
    self: str
    stats: str
    cancel: str
    plots: Annotated[
        dict[PlotName, str],
        Field(description="Each figure, as PNG (captions: `GET .../plots`)."),
    ]


@with_config(exact(EXPERIMENT_EXAMPLE))
class ExperimentView(TypedDict):
    """One experiment: where it stands and how it ended."""

    id: str
    status: Status
    spec: SpecJSON
    progress: ProgressView
    created_at: Annotated[str, Field(description="ISO 8601, UTC.")]
    started_at: str | None
    finished_at: str | None
    attempts: Annotated[
        int, Field(description="Deliveries to a worker (more than 1: a worker died).")
    ]
    owner: Annotated[
        str | None, Field(description="The X-Gradatlas-Owner header it was submitted with.")
    ]
    cancel_requested: bool
    summary: Annotated[
        Summary | None,
        Field(description="docs/contract.md § Result `summary`; null until it has finished."),
    ]
    diagnosis: Annotated[
        Diagnosis | None,
        Field(description="Verdict, evidence and remedies; null until it has finished."),
    ]
    error: Annotated[str | None, Field(description="Why it failed, for a person.")]
    meta: Annotated[
        dict[str, str],
        Field(
            description='Where it came from: {"derived_from": id, "remedy": k} or {"sweep": id}.'
        ),
    ]
    links: ExperimentLinks


@with_config(exact({"items": [EXPERIMENT_EXAMPLE], "next_cursor": EXAMPLE_ID}))
class ExperimentPage(TypedDict):
    """A page of experiments, newest first."""

    items: list[ExperimentView]
    next_cursor: Annotated[
        str | None, Field(description="Pass as `cursor` for the next page; null at the end.")
    ]
