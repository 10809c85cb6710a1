"""The shapes of the service's JSON answers, as the client returns them (docs/contract.md).

The experiment, sweep and problem shapes are the service's own (``core.views``),
under the client's names. The client casts the decoded JSON to them and checks
nothing, so a client one version behind the service still reads what it gets.
"""

from __future__ import annotations

from core.errors import FieldErrorJSON as ProblemField
from core.result import Diagnosis, ResultDict, Summary, Theory
from core.views import FINAL_STATUSES as FINAL
from core.views import (
    ActivationInfo,
    Activations,
    PlotInfo,
    PlotList,
    Status,
    SweepListItem,
    SweepPage,
    SweepRow,
    SweepStatus,
)
from core.views import ExperimentPage as Page
from core.views import ExperimentView as Experiment
from core.views import PlotFormat as ImageFormat
from core.views import PlotScale as ImageScale
from core.views import ProblemView as Problem
from core.views import ProgressView as ProgressInfo
from core.views import SweepView as Sweep

#: A sweep whose children ended differently is ``mixed``, and final too.
SWEEP_FINAL: frozenset[str] = FINAL | {"mixed"}

__all__ = [
    "FINAL",
    "SWEEP_FINAL",
    "ActivationInfo",
    "Activations",
    "Diagnosis",
    "Experiment",
    "ImageFormat",
    "ImageScale",
    "Page",
    "PlotInfo",
    "PlotList",
    "Problem",
    "ProblemField",
    "ProgressInfo",
    "ResultDict",
    "Status",
    "Summary",
    "Sweep",
    "SweepListItem",
    "SweepPage",
    "SweepRow",
    "SweepStatus",
    "Theory",
]
