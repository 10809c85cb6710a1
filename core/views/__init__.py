"""The wire shapes: every JSON view the API serves and the client reads, declared once.

Each view is a ``TypedDict``: the API's builders return them (so mypy checks
every key), the routes name them as ``response_model`` (so ``/openapi.json``
describes what is served) and the client can return them as they are. The
statuses and plot names are ``Literal`` types with their tuples derived from
them. docs/contract.md § HTTP API is the prose of the same shapes.

No NumPy or matplotlib here: the API imports this module at startup.
"""

from core.views.examples import (
    EXPERIMENT_EXAMPLE,
    PROBLEM_EXAMPLE,
    SWEEP_EXAMPLE,
    SWEEP_ITEM_EXAMPLE,
    SWEEP_ROW_EXAMPLE,
)
from core.views.experiments import (
    ExperimentLinks,
    ExperimentPage,
    ExperimentView,
    ProgressView,
    SpecJSON,
)
from core.views.figures import (
    ActivationInfo,
    Activations,
    PlotInfo,
    PlotList,
    SweepPlotInfo,
    SweepPlotList,
)
from core.views.names import (
    COMPARE_PLOT_NAMES,
    FINAL_STATUSES,
    PLOT_FORMATS,
    PLOT_NAMES,
    PLOT_SCALES,
    STATUSES,
    SWEEP_PLOT_NAMES,
    SWEEP_STATUSES,
    ActivationPlotName,
    ChildStatus,
    ComparePlotName,
    FinalStatus,
    PlotFormat,
    PlotName,
    PlotScale,
    Status,
    SweepPlotName,
    SweepStatus,
)
from core.views.problems import (
    Liveness,
    ProblemView,
    Readiness,
)
from core.views.sweeps import (
    SweepHead,
    SweepLinks,
    SweepListItem,
    SweepPage,
    SweepRow,
    SweepView,
)

__all__ = [
    "COMPARE_PLOT_NAMES",
    "EXPERIMENT_EXAMPLE",
    "FINAL_STATUSES",
    "PLOT_FORMATS",
    "PLOT_NAMES",
    "PLOT_SCALES",
    "PROBLEM_EXAMPLE",
    "STATUSES",
    "SWEEP_EXAMPLE",
    "SWEEP_ITEM_EXAMPLE",
    "SWEEP_PLOT_NAMES",
    "SWEEP_ROW_EXAMPLE",
    "SWEEP_STATUSES",
    "ActivationInfo",
    "ActivationPlotName",
    "Activations",
    "ChildStatus",
    "ComparePlotName",
    "ExperimentLinks",
    "ExperimentPage",
    "ExperimentView",
    "FinalStatus",
    "Liveness",
    "PlotFormat",
    "PlotInfo",
    "PlotList",
    "PlotName",
    "PlotScale",
    "ProblemView",
    "ProgressView",
    "Readiness",
    "SpecJSON",
    "Status",
    "SweepHead",
    "SweepLinks",
    "SweepListItem",
    "SweepPage",
    "SweepPlotInfo",
    "SweepPlotList",
    "SweepPlotName",
    "SweepRow",
    "SweepStatus",
    "SweepView",
]
