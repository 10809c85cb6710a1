"""Write a result to disk as ``result.json`` and as a NumPy ``.npz`` of stacked arrays.

The JSON file is the contract's result (docs/contract.md § Result) verbatim. The
``.npz`` holds the same numbers as arrays for analysis, NaN where the JSON has
``None``. Both writers take the result as arrays (``RunResult``) or as JSON
(``ResultDict``); arrays go to the ``.npz`` as they are:

==============================  =====================================================
key                             array
==============================  =====================================================
``steps``                       (records,) int64
``stats.<name>``                (records, layers) float64, one per ``stats`` entry
``layers.index``, ``.fan_in``,  (layers,) int64
``.fan_out``
``layers.name``                 (layers,) str
``metrics.epoch``               (epochs,) int64
``metrics.<name>``              (epochs,) float64 for the losses and accuracies
``grad_histogram.steps``        (histograms,) int64
``grad_histogram.bin_edges_log10``  (bins + 1,) float64
``grad_histogram.counts``       (histograms, layers, bins) int64
``batch_norm.<name>``           (records, bn_layers) float64, when batch norm is on
``batch_norm.layers``           (bn_layers,) str
``summary``, ``diagnosis``      0-d str: the JSON text of those entries
==============================  =====================================================

Files are written to a temporary name and renamed, so a reader never sees half
a file.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, cast

import numpy as np
from numpy.typing import NDArray

from core.result import ResultDict
from core.run_result import RunResult, as_run_result

PathLike = str | os.PathLike[str]


def save_json(result: ResultDict | RunResult, path: PathLike) -> None:
    """Write ``result`` as indented JSON; a NaN or inf in it is an error, not invalid JSON."""
    data = result.to_json() if isinstance(result, RunResult) else result
    text = json.dumps(data, indent=1, allow_nan=False)
    _atomic_write(Path(path), lambda f: f.write(text.encode("utf-8") + b"\n"))


def load_json(path: PathLike) -> ResultDict:
    """Read a result written by :func:`save_json`."""
    return cast(ResultDict, json.loads(Path(path).read_text(encoding="utf-8")))


def result_arrays(result: ResultDict | RunResult) -> dict[str, NDArray[Any]]:
    """The result as named arrays (the table in this module's docstring)."""
    run = as_run_result(result)
    layers = run.layers
    arrays: dict[str, NDArray[Any]] = {
        "steps": run.steps.astype(np.int64),
        "layers.index": np.asarray([la["index"] for la in layers], dtype=np.int64),
        "layers.name": np.asarray([la["name"] for la in layers], dtype=np.str_),
        "layers.fan_in": np.asarray([la["fan_in"] for la in layers], dtype=np.int64),
        "layers.fan_out": np.asarray([la["fan_out"] for la in layers], dtype=np.int64),
    }
    for name, table in run.stats.items():
        arrays[f"stats.{name}"] = table
    m = run.metrics
    arrays["metrics.epoch"] = m.epoch
    arrays["metrics.train_loss"] = m.train_loss
    arrays["metrics.val_loss"] = m.val_loss
    arrays["metrics.train_accuracy"] = m.train_accuracy
    arrays["metrics.val_accuracy"] = m.val_accuracy
    h = run.grad_histogram
    arrays["grad_histogram.steps"] = h.steps
    arrays["grad_histogram.bin_edges_log10"] = h.bin_edges_log10
    arrays["grad_histogram.counts"] = h.counts
    bn = run.batch_norm
    if bn is not None:
        arrays["batch_norm.layers"] = np.asarray(bn.layers, dtype=np.str_)
        arrays["batch_norm.gamma_grad_norm"] = bn.gamma_grad_norm
        arrays["batch_norm.beta_grad_norm"] = bn.beta_grad_norm
        arrays["batch_norm.gamma_norm"] = bn.gamma_norm
    arrays["summary"] = np.asarray(json.dumps(run.summary, allow_nan=False))
    arrays["diagnosis"] = np.asarray(json.dumps(run.diagnosis, allow_nan=False))
    return arrays


def save_npz(result: ResultDict | RunResult, path: PathLike) -> None:
    """Write :func:`result_arrays` of ``result`` as a compressed ``.npz`` at exactly ``path``."""
    arrays = result_arrays(result)
    # Through Callable[..., None]: NumPy's stubs read ``**arrays`` as its allow_pickle flag.
    savez: Callable[..., None] = np.savez_compressed
    _atomic_write(Path(path), lambda f: savez(f, **arrays))


def load_npz(path: PathLike) -> dict[str, Any]:
    """Read a file written by :func:`save_npz`: arrays by key, ``summary`` and
    ``diagnosis`` parsed back from JSON."""
    with np.load(Path(path), allow_pickle=False) as npz:
        out: dict[str, Any] = {key: npz[key] for key in npz.files}
    for key in ("summary", "diagnosis"):
        if key in out:
            out[key] = json.loads(str(out[key]))
    return out


def _atomic_write(path: Path, write: Callable[[IO[bytes]], object]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        # mkstemp makes the file private; a result is meant to be read by others.
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
