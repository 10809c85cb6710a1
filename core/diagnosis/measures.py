"""The numbers a diagnosis reads from a result, gathered once.

Every statistic arrives as a ``(records, layers)`` float array with NaN for a
non-finite value (``RunResult.stats``). "Hidden" layers are ``0 .. depth-1``:
the output layer has no activation, so it neither saturates nor dies.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from core.run_result import RunResult

F64 = NDArray[np.float64]


def _nanmedian(a: F64) -> F64:
    # np.nanmedian warns on an all-NaN column; a column of a stopped layer is legitimately empty.
    out = np.full(a.shape[1], np.nan)
    for j in range(a.shape[1]):
        col = a[:, j][np.isfinite(a[:, j])]
        if col.size:
            out[j] = float(np.median(col))
    return out


def _ratio(table: F64, depth: int) -> float | None:
    """log10(layer 0 / layer depth-1) at the last record, None where not positive."""
    if table.shape[0] == 0:
        return None
    first, last = float(table[-1, 0]), float(table[-1, depth - 1])
    if not (first > 0 and last > 0 and math.isfinite(first) and math.isfinite(last)):
        return None
    return math.log10(first / last)


@dataclass(frozen=True)
class Measures:
    depth: int
    steps: list[int]
    gradient_ratio: float | None
    backprop_ratio: float | None
    decay: float | None
    backprop_decay: float | None
    diverged_at: int | None
    #: Median update ratio over the records, per layer (NaN where never finite).
    update_median: F64
    #: Mean saturation of the hidden layers at each record, and per layer at its worst record.
    saturation_mean: F64
    saturation_worst_record: int | None
    saturation_layers: F64
    #: Dead fraction per hidden layer at the last record.
    dead_layers: F64
    #: log10 of the largest total gradient norm over the run relative to step 0.
    gradient_growth_log10: float | None
    #: The largest median-over-layers update ratio of any record (NaN if none finite).
    update_peak: float
    #: log10(backprop_norm layer 0 / layer depth-1) and the same with grad_norm, at the
    #: last record: where the profile ended up after training.
    backprop_ratio_last: float | None
    gradient_ratio_last: float | None
    #: Final validation accuracy (the evaluation after training), if any.
    final_val: float | None
    weight_change_last: F64
    epochs: int
    train_loss: list[float]
    train_accuracy: list[float]
    val_accuracy: list[float]
    chance: float

    @property
    def saturation_peak(self) -> float:
        return float(np.nanmax(self.saturation_mean)) if self.saturation_mean.size else 0.0

    @property
    def val(self) -> float | None:
        """The validation accuracy the run ended with."""
        if self.final_val is not None:
            return self.final_val
        return self.val_accuracy[-1] if self.val_accuracy else None

    @property
    def dead_mean(self) -> float:
        return float(np.nanmean(self.dead_layers)) if self.dead_layers.size else 0.0


def measure(result: RunResult) -> Measures:
    """Everything ``diagnose`` looks at, from the result alone."""
    summary = result.summary
    n_layers = result.n_layers
    depth = max(1, n_layers - 1)
    grad = result.stat("grad_norm")
    sat = result.stat("saturation")[:, :depth]
    dead = result.stat("dead_fraction")[:, :depth]
    with np.errstate(invalid="ignore"):
        sat_mean = np.array([np.nanmean(r) if np.isfinite(r).any() else 0.0 for r in sat])
    worst = int(np.argmax(sat_mean)) if sat_mean.size else None
    growth: float | None = None
    if grad.shape[0] > 1:
        total = np.sqrt(np.nansum(grad**2, axis=1))
        if total[0] > 0 and np.isfinite(total).all():
            growth = math.log10(float(total.max()) / float(total[0]))
    change = result.stat("weight_change")
    upd = result.stat("update_ratio")
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN record
        per_record = np.nanmedian(upd, axis=1) if upd.size else np.full(0, np.nan)
    finite = per_record[np.isfinite(per_record)]
    update_peak = float(finite.max()) if finite.size else math.nan
    m = result.metrics
    classes = result.layers[-1]["fan_out"] if result.layers else 2
    return Measures(
        depth=depth,
        steps=result.steps.tolist(),
        gradient_ratio=summary.get("gradient_ratio_log10"),
        backprop_ratio=summary.get("backprop_ratio_log10"),
        decay=summary.get("decay_per_layer"),
        backprop_decay=summary.get("backprop_decay_per_layer"),
        diverged_at=summary.get("diverged_at_step"),
        update_median=_nanmedian(result.stat("update_ratio")),
        saturation_mean=sat_mean,
        saturation_worst_record=worst,
        saturation_layers=sat[worst] if worst is not None else np.zeros(depth),
        dead_layers=np.nan_to_num(dead[-1]) if dead.shape[0] else np.zeros(depth),
        gradient_growth_log10=growth,
        update_peak=update_peak,
        backprop_ratio_last=_ratio(result.stat("backprop_norm"), depth),
        gradient_ratio_last=_ratio(grad, depth),
        final_val=summary.get("final_val_accuracy"),
        weight_change_last=change[-1] if change.shape[0] else np.full(n_layers, np.nan),
        epochs=m.epoch.size,
        train_loss=m.train_loss.tolist(),
        train_accuracy=m.train_accuracy.tolist(),
        val_accuracy=m.val_accuracy.tolist(),
        chance=1.0 / max(classes, 1),
    )
