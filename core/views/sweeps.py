"""The views of sweeps: the summary table's rows, one sweep, and a page of them."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, with_config

# Not typing's: pydantic validates only typing_extensions.TypedDict before Python 3.12.
from typing_extensions import TypedDict

from core.views.examples import (
    SWEEP_EXAMPLE,
    SWEEP_ITEM_EXAMPLE,
    SWEEP_ROW_EXAMPLE,
    exact,
)
from core.views.names import ChildStatus, SweepPlotName, SweepStatus

# --- sweeps -----------------------------------------------------------------------------


@with_config(exact(SWEEP_ROW_EXAMPLE))
class SweepRow(TypedDict):
    """One child: its values, where it stands, and its numbers once finished."""

    id: str
    params: Annotated[dict[str, Any], Field(description="The grid's value of each path.")]
    status: ChildStatus
    progress: Annotated[float, Field(ge=0, le=1)]
    gradient_ratio_log10: Annotated[
        float | None, Field(description="As `weight_grad_ratio_log10` (the older name).")
    ]
    backprop_ratio_log10: Annotated[
        float | None,
        Field(
            description="log10 of the back-propagated norm ||dL/dz|| at layer 0 over the "
            "last hidden layer, at step 0 (below 0: vanishing toward the input)."
        ),
    ]
    decay_per_layer: Annotated[
        float | None, Field(description="As `weight_grad_decay_per_layer` (the older name).")
    ]
    weight_grad_ratio_log10: Annotated[
        float | None,
        Field(
            description="log10 of the weight-gradient norm ||dL/dW|| of layer 0 over the "
            "last hidden layer, at step 0."
        ),
    ]
    weight_grad_decay_per_layer: Annotated[
        float | None,
        Field(
            description="Factor per layer of the weight-gradient norm toward the input, "
            "from a least-squares line at step 0 (below 1: shrinking)."
        ),
    ]
    backprop_decay_per_layer: Annotated[
        float | None,
        Field(description="The same factor for the back-propagated norm ||dL/dz||."),
    ]
    final_val_accuracy: Annotated[float | None, Field(description="At the last epoch.")]
    verdict: Annotated[str | None, Field(description="The diagnosis' verdict.")]
    error: Annotated[str | None, Field(description="Why the child failed.")]


@with_config(exact())
class SweepLinks(TypedDict):
    self: str
    cancel: str
    plots: Annotated[dict[SweepPlotName, str], Field(description="Each figure, as PNG.")]


@with_config(exact())
class SweepHead(TypedDict):
    """What a sweep and a sweep in a list share."""

    id: str
    name: str
    status: SweepStatus
    progress: Annotated[
        float, Field(ge=0, le=1, description="Mean child progress; final ones count 1.")
    ]
    created_at: Annotated[str | None, Field(description="ISO 8601, UTC.")]
    owner: str | None
    base: Annotated[dict[str, Any], Field(description="The spec every child shares.")]
    grid: Annotated[dict[str, list[Any]], Field(description="Each path's values.")]
    counts: Annotated[dict[ChildStatus, int], Field(description="Children by status.")]
    links: SweepLinks


@with_config(exact(SWEEP_EXAMPLE))
class SweepView(SweepHead):
    """A sweep: its status and progress read from its children, and the summary table."""

    children: Annotated[list[SweepRow], Field(description="The summary table, one row per child.")]


@with_config(exact(SWEEP_ITEM_EXAMPLE))
class SweepListItem(SweepHead):
    """A sweep in a list: as ``SweepView``, with the number of children for the table."""

    children_count: int


@with_config(exact({"items": [SWEEP_ITEM_EXAMPLE], "next_cursor": None}))
class SweepPage(TypedDict):
    """A page of sweeps, newest first (each without its table)."""

    items: list[SweepListItem]
    next_cursor: str | None
