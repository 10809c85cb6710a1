"""A verdict on a run's gradients, the evidence for it in numbers, and remedies.

``diagnose`` (in ``verdict``) reads a result into a verdict; ``measures`` gathers
the numbers it reads; ``remedies`` proposes and applies spec changes.
"""

from core.diagnosis.remedies import apply_remedy
from core.diagnosis.verdict import (
    CHANCE_MARGIN,
    DEAD_FRACTION,
    DEAD_LAYER_FRACTION,
    EXPLODING_RATIO_LOG10,
    EXPLODING_UPDATE_RATIO,
    GRADIENT_GROWTH_LOG10,
    LEARNING_UPDATE_RATIO,
    OVERFIT_GAP,
    SATURATED_FRACTION,
    STALLED_UPDATE_RATIO,
    VANISHING_RATIO_LOG10,
    diagnose,
)
from core.result import VERDICTS

__all__ = [
    "CHANCE_MARGIN",
    "DEAD_FRACTION",
    "DEAD_LAYER_FRACTION",
    "EXPLODING_RATIO_LOG10",
    "EXPLODING_UPDATE_RATIO",
    "GRADIENT_GROWTH_LOG10",
    "LEARNING_UPDATE_RATIO",
    "OVERFIT_GAP",
    "SATURATED_FRACTION",
    "STALLED_UPDATE_RATIO",
    "VANISHING_RATIO_LOG10",
    "VERDICTS",
    "apply_remedy",
    "diagnose",
]
