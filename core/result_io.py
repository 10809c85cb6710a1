"""Write a result to disk as ``result.json`` and as a NumPy ``.npz`` of stacked arrays.

The JSON file is the contract's result (docs/contract.md § Result) verbatim. The
``.npz`` holds the same numbers as arrays for analysis, ``None`` becoming NaN:

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
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any, cast

import numpy as np
from numpy.typing import NDArray

from core.result import ResultDict

PathLike = str | os.PathLike[str]


def save_json(result: ResultDict, path: PathLike) -> None:
    """Write ``result`` as indented JSON; a NaN or inf in it is an error, not invalid JSON."""
    text = json.dumps(result, indent=1, allow_nan=False)
    _atomic_write(Path(path), lambda f: f.write(text.encode("utf-8") + b"\n"))


def load_json(path: PathLike) -> ResultDict:
    """Read a result written by :func:`save_json`."""
    return cast(ResultDict, json.loads(Path(path).read_text(encoding="utf-8")))


def result_arrays(result: ResultDict) -> dict[str, NDArray[Any]]:
    """The result as named arrays (the table in this module's docstring)."""
    layers = result["layers"]
    n_layers = len(layers)
    arrays: dict[str, NDArray[Any]] = {
        "steps": np.asarray(result["steps"], dtype=np.int64),
        "layers.index": np.asarray([la["index"] for la in layers], dtype=np.int64),
        "layers.name": np.asarray([la["name"] for la in layers], dtype=np.str_),
        "layers.fan_in": np.asarray([la["fan_in"] for la in layers], dtype=np.int64),
        "layers.fan_out": np.asarray([la["fan_out"] for la in layers], dtype=np.int64),
    }
    for name, rows in result["stats"].items():
        arrays[f"stats.{name}"] = _float_table(rows, n_layers)

    metrics = result["metrics"]
    arrays["metrics.epoch"] = np.asarray(metrics["epoch"], dtype=np.int64)
    for key, values in metrics.items():
        if key != "epoch":
            arrays[f"metrics.{key}"] = np.asarray(values, dtype=np.float64).reshape(-1)

    hist = result["grad_histogram"]
    edges = np.asarray(hist["bin_edges_log10"], dtype=np.float64)
    arrays["grad_histogram.steps"] = np.asarray(hist["steps"], dtype=np.int64)
    arrays["grad_histogram.bin_edges_log10"] = edges
    arrays["grad_histogram.counts"] = np.asarray(hist["counts"], dtype=np.int64).reshape(
        len(hist["counts"]), n_layers, max(len(edges) - 1, 0)
    )

    bn = result.get("batch_norm")
    if bn is not None:
        arrays["batch_norm.layers"] = np.asarray(bn["layers"], dtype=np.str_)
        n_bn = len(bn["layers"])
        arrays["batch_norm.gamma_grad_norm"] = _float_table(bn["gamma_grad_norm"], n_bn)
        arrays["batch_norm.beta_grad_norm"] = _float_table(bn["beta_grad_norm"], n_bn)
        arrays["batch_norm.gamma_norm"] = _float_table(bn["gamma_norm"], n_bn)

    arrays["summary"] = np.asarray(json.dumps(result["summary"], allow_nan=False))
    arrays["diagnosis"] = np.asarray(json.dumps(result["diagnosis"], allow_nan=False))
    return arrays


def save_npz(result: ResultDict, path: PathLike) -> None:
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


def _float_table(rows: Sequence[Sequence[float | None]], width: int) -> NDArray[np.float64]:
    """(records, width) float64, None as NaN; (0, width) when there are no records."""
    table = np.asarray(rows, dtype=np.float64)
    return table.reshape(len(rows), width)


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
