"""A run's result as arrays, from the recorder to the edge of the process.

Training, diagnosis, plots and the ``.npz`` writer share one ``RunResult``: NumPy
arrays, float64 with NaN where a value was not finite. It becomes the JSON
``ResultDict`` (lists, None for NaN) once, with ``to_json``, when it leaves the
process (the worker storing it, ``gradatlas run`` writing ``result.json``), and
comes back with ``RunResult.from_json`` for code that starts from stored JSON.

A float32 run's recorded statistics are written at float32 precision: each number as
the shortest decimal that reads back as the same float32 (``float32_shortest``), about
half the text of float64's 17 digits. Reading such a result gives float64 arrays whose
float32 values are exactly the recorded ones.

Shapes: R records, L dense layers, D batch-norm layers (one per hidden layer),
H histograms of B bins, E completed epochs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from core.result import (
    BatchNormStats,
    Diagnosis,
    Histogram,
    LayerInfo,
    Metrics,
    ResultDict,
    Summary,
    Theory,
    json_safe,
)
from core.spec import DType

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
#: JSON numbers: a list (of lists ...) of float or None.
JsonFloats = Sequence[float | None] | Sequence[Sequence[float | None]]


def nan_array(values: JsonFloats, shape: tuple[int, ...] | None = None) -> F64:
    """JSON numbers as float64, None as NaN: the inverse of ``json_safe`` on arrays.

    ``shape`` keeps the columns of an empty table: ``[]`` with ``shape=(0, L)``.
    """
    a = np.asarray(values, dtype=np.float64)
    return a if shape is None else a.reshape(shape)


def json_values(a: F64) -> list[float | None]:
    """A 1-D float array as a list, non-finite values as None."""
    out: list[float | None] = a.tolist()
    return out if np.isfinite(a).all() else json_safe(out)


def json_rows(a: F64, *, float32: bool = False) -> list[list[float | None]]:
    """A 2-D float array as nested lists, non-finite values as None.

    ``float32``: each value as the shortest decimal of its float32 rounding
    (``float32_shortest``). Only the rows holding a non-finite value are walked in
    Python: a record is mostly finite, and a result can hold millions of numbers.
    """
    rows: list[list[float | None]] = (float32_shortest(a) if float32 else a).tolist()
    for r in np.flatnonzero(~np.isfinite(a).all(axis=1)):
        rows[r] = json_safe(rows[r])
    return rows


#: Powers of ten in float64: exact up to 10^22, the nearest double after that.
_POW10 = np.array([float(f"1e{i}") for i in range(48)])
#: The same in extended precision, for the scales float64 has no exact power for.
_POW10_LONG = np.array([np.longdouble(f"1e{i}") for i in range(48)])
_F32_TINY = float(np.finfo(np.float32).tiny)


def float32_shortest(a: F64) -> F64:
    """The float64 numbers whose ``repr`` is the shortest decimal that reads back as
    ``float32(a)``: what ``str(np.float32(x))`` prints, for a whole array at once.

    ``float32(result) == float32(a)`` exactly (a JSON reader's float64, rounded to
    float32, is the recorded value) for values in float32's normal range; zeros,
    non-finite values and values outside that range (a vanishing norm of 1e-42, an
    exploding one of 1e40) keep their float64 value.

    Vectorised: the candidate with d significant digits is ``round(v 10^k) / 10^k``,
    k = d - 1 - floor(log10 |v|), kept where it reads back as the float32. It is the
    correctly rounded double of that decimal where 10^|k| is exact (|k| <= 22); beyond,
    the chosen decimal is divided out again in extended precision (and, should that
    ever miss, formatted by NumPy).
    """
    flat = a.ravel()
    out = flat.astype(np.float64, copy=True)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        v32 = flat.astype(np.float32)
        v = v32.astype(np.float64)
        # Only float32's normal range: below it float32 keeps few digits or none (a
        # vanishing gradient's norm must never read as 0), above it none at all.
        todo = np.flatnonzero(np.isfinite(v) & (np.abs(v) >= _F32_TINY))
        if todo.size == 0:
            return out.reshape(a.shape)
        vals, want = v[todo], v32[todo]
        e = np.floor(np.log10(np.abs(vals))).astype(np.int64)
        best, digits = vals.copy(), np.full(vals.shape, 17, dtype=np.int64)

        def attempt(sel: I64, d: int) -> NDArray[np.bool_]:
            q = _rounded(vals[sel], d - 1 - e[sel])
            ok: NDArray[np.bool_] = q.astype(np.float32) == want[sel]
            best[sel[ok]], digits[sel[ok]] = q[ok], d
            return ok

        # Most float32 values need 7-9 digits: try 7 on all, then fewer where 7 served
        # and more where it did not, on ever smaller subsets.
        every = np.arange(vals.size)
        hit = attempt(every, 7)
        served = every[hit]
        for d in range(6, 0, -1):
            if served.size == 0:
                break
            served = served[attempt(served, d)]
        left = every[~hit]
        for d in (8, 9):
            if left.size == 0:
                break
            left = left[~attempt(left, d)]
        far = np.flatnonzero(np.abs(digits - 1 - e) > 22)
        if far.size:
            k = digits[far] - 1 - e[far]
            q = _rounded(vals[far].astype(np.longdouble), k, _POW10_LONG)
            best[far] = np.where(q.astype(np.float32) == want[far], q, np.nan)
        for i in np.flatnonzero(np.isnan(best)):
            best[i] = float(str(v32[todo[i]]))
        out[todo] = best
    return out.reshape(a.shape)


def _rounded(vals: NDArray[Any], k: I64, powers: NDArray[Any] = _POW10) -> F64:
    """round(v 10^k) / 10^k as float64 (10^k from ``powers``; two factors past 10^22)."""
    ak = np.abs(k)
    p1, p2 = powers[np.minimum(ak, 22)], powers[np.maximum(ak - 22, 0)]
    up = k >= 0
    m = np.where(up, vals * p1 * p2, vals / p1 / p2)
    np.round(m, out=m)
    q: F64 = np.where(up, m / p1 / p2, m * p1 * p2).astype(np.float64)
    return q


@dataclass(frozen=True, kw_only=True)
class Histograms:
    """Histograms of log10 |dLoss/dW| at a few records."""

    #: (H,) the steps that carry a histogram.
    steps: I64
    #: (B + 1,) bin edges in log10 |dLoss/dW|.
    bin_edges_log10: F64
    #: (H, L, B) counts[h, l, b]: histogram h, layer l, bin b.
    counts: I64

    def to_json(self) -> Histogram:
        return {
            "steps": self.steps.tolist(),
            "bin_edges_log10": self.bin_edges_log10.tolist(),
            "counts": self.counts.tolist(),
        }

    @classmethod
    def from_json(cls, h: Histogram, n_layers: int) -> Histograms:
        edges = np.asarray(h["bin_edges_log10"], dtype=np.float64)
        counts = np.asarray(h["counts"], dtype=np.int64)
        return cls(
            steps=np.asarray(h["steps"], dtype=np.int64),
            bin_edges_log10=edges,
            counts=counts.reshape(len(h["counts"]), n_layers, max(edges.size - 1, 0)),
        )


@dataclass(frozen=True, kw_only=True)
class BatchNormArrays:
    """The batch-norm parameters' statistics, when batch norm is on."""

    #: (D,) names, input to output.
    layers: list[str]
    #: (R, D) each.
    gamma_grad_norm: F64
    beta_grad_norm: F64
    gamma_norm: F64

    def to_json(self, *, float32: bool = False) -> BatchNormStats:
        return {
            "layers": list(self.layers),
            "gamma_grad_norm": json_rows(self.gamma_grad_norm, float32=float32),
            "beta_grad_norm": json_rows(self.beta_grad_norm, float32=float32),
            "gamma_norm": json_rows(self.gamma_norm, float32=float32),
        }

    @classmethod
    def from_json(cls, bn: BatchNormStats) -> BatchNormArrays:
        d = len(bn["layers"])

        def table(rows: list[list[float | None]]) -> F64:
            return nan_array(rows, (len(rows), d))

        return cls(
            layers=list(bn["layers"]),
            gamma_grad_norm=table(bn["gamma_grad_norm"]),
            beta_grad_norm=table(bn["beta_grad_norm"]),
            gamma_norm=table(bn["gamma_norm"]),
        )


@dataclass(frozen=True, kw_only=True)
class MetricArrays:
    """Per-epoch curves, each (E,); a loss is NaN where it was not finite."""

    epoch: I64
    train_loss: F64
    val_loss: F64
    train_accuracy: F64
    val_accuracy: F64

    def to_json(self) -> Metrics:
        return {
            "epoch": self.epoch.tolist(),
            "train_loss": json_values(self.train_loss),
            "val_loss": json_values(self.val_loss),
            # Accuracies are counts over sizes: always finite.
            "train_accuracy": self.train_accuracy.tolist(),
            "val_accuracy": self.val_accuracy.tolist(),
        }

    @classmethod
    def from_json(cls, m: Metrics) -> MetricArrays:
        return cls(
            epoch=np.asarray(m["epoch"], dtype=np.int64),
            train_loss=nan_array(m["train_loss"]),
            val_loss=nan_array(m["val_loss"]),
            train_accuracy=nan_array(m["train_accuracy"]),
            val_accuracy=nan_array(m["val_accuracy"]),
        )


@dataclass(frozen=True, kw_only=True)
class RunResult:
    """A run's result as arrays: the contract's result (docs/contract.md § Result).

    ``stats[name][r, l]`` is statistic ``name`` at record r (step ``steps[r]``)
    for dense layer l. The arrays may be views of the recorder's buffers: treat
    them as read-only.
    """

    layers: list[LayerInfo]
    #: (R,) the recorded steps.
    steps: I64
    #: name -> (R, L).
    stats: dict[str, F64]
    grad_histogram: Histograms
    metrics: MetricArrays
    summary: Summary
    batch_norm: BatchNormArrays | None = None
    #: None while the run is in progress.
    diagnosis: Diagnosis | None = None
    #: The mean-field prediction (``core.theory.predict``); None while running.
    theory: Theory | None = field(default=None)
    #: The run's precision; a float32 run's statistics go to JSON at float32 precision.
    dtype: DType = "float64"
    #: True once ``published`` has rounded the tables (``to_json`` then need not again).
    rounded: bool = False

    @property
    def n_layers(self) -> int:
        return len(self.layers)

    def stat(self, name: str) -> F64:
        """``stats[name]``, (R, L); (0, L) when the result has no such statistic."""
        a = self.stats.get(name)
        return np.full((0, self.n_layers), np.nan) if a is None else a

    def published(self) -> RunResult:
        """This result with the values its JSON holds: a float32 run's statistics and
        batch-norm tables at float32 precision (``float32_shortest``), so that arrays,
        JSON, figures, diagnosis and ``.npz`` all carry the same numbers."""
        if self.dtype != "float32" or self.rounded:
            return self
        bn = self.batch_norm
        if bn is not None:
            bn = replace(
                bn,
                gamma_grad_norm=float32_shortest(bn.gamma_grad_norm),
                beta_grad_norm=float32_shortest(bn.beta_grad_norm),
                gamma_norm=float32_shortest(bn.gamma_norm),
            )
        stats = {name: float32_shortest(a) for name, a in self.stats.items()}
        return replace(self, stats=stats, batch_norm=bn, rounded=True)

    def to_json(self) -> ResultDict:
        """The JSON form: lists, None for every non-finite value; a float32 run's
        statistics (and batch-norm tables) at float32 precision."""
        f32 = self.dtype == "float32" and not self.rounded
        out: ResultDict = {
            "layers": [la.copy() for la in self.layers],
            "steps": self.steps.tolist(),
            "stats": {name: json_rows(a, float32=f32) for name, a in self.stats.items()},
            "grad_histogram": self.grad_histogram.to_json(),
            "metrics": self.metrics.to_json(),
            "summary": self.summary.copy(),
            "diagnosis": self.diagnosis,
        }
        if self.batch_norm is not None:
            out["batch_norm"] = self.batch_norm.to_json(float32=f32)
        if self.theory is not None:
            out["theory"] = self.theory
        return out

    @classmethod
    def from_json(cls, result: ResultDict) -> RunResult:
        """The arrays of a JSON result (say, one read back from the store)."""
        layers = list(result["layers"])
        n = len(layers)
        bn = result.get("batch_norm")
        return cls(
            layers=layers,
            steps=np.asarray(result["steps"], dtype=np.int64),
            stats={k: nan_array(rows, (len(rows), n)) for k, rows in result["stats"].items()},
            grad_histogram=Histograms.from_json(result["grad_histogram"], n),
            metrics=MetricArrays.from_json(result["metrics"]),
            summary=result["summary"],
            batch_norm=None if bn is None else BatchNormArrays.from_json(bn),
            diagnosis=result.get("diagnosis"),
            theory=result.get("theory"),
        )


def as_run_result(result: ResultDict | RunResult) -> RunResult:
    """``result`` as arrays, converting a JSON result once."""
    return result if isinstance(result, RunResult) else RunResult.from_json(result)
