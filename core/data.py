"""Data sets: six synthetic generators and one real, shipped data set.

Every random draw comes from the ``rng`` passed in, so the same
:class:`~core.spec.DataSpec` and the same generator seed give the
same arrays, bit for bit. Points are generated in float64, split with a
seeded permutation, standardised with the *training* mean and standard
deviation, and only then cast to the asked dtype.

What ``data.noise`` does, per data set:

- ``spiral``: standard deviation of the Gaussian jitter of each point's angle
  (radians); radii run evenly from 0 to 1 along each arm.
- ``moons``, ``circles``: standard deviation of isotropic Gaussian noise added
  to points on the two curves (radius 1 and, for circles, 0.5).
- ``xor``, ``blobs``: standard deviation of each cluster around its centre.
- ``gaussian``: standard deviation of Gaussian noise added to the teacher's
  logits before the argmax, so larger noise blurs the class boundaries.
- ``digits``: not used.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np
import numpy.typing as npt
from numpy.typing import NDArray

from core.spec import DIGITS_SAMPLES, DataSpec

FloatArray = NDArray[np.floating[Any]]
LabelArray = NDArray[np.int64]
_Points = tuple[NDArray[np.float64], LabelArray]
DatasetFn = Callable[[DataSpec, np.random.Generator], _Points]

#: Below this training standard deviation a feature counts as constant and is
#: only centred: digits has pixels that are zero in every image.
_MIN_STD = 1e-8


@dataclass(frozen=True)
class Split:
    """A data set split into training and validation examples.

    Attributes
    ----------
    x_train : (n_train, n_features) array of the asked float dtype
    y_train : (n_train,) int64 labels in ``0 .. n_classes-1``
    x_val : (n_val, n_features) array of the asked float dtype
    y_val : (n_val,) int64 labels
    n_classes : number of labels
    """

    x_train: FloatArray
    y_train: LabelArray
    x_val: FloatArray
    y_val: LabelArray
    n_classes: int

    @property
    def n_features(self) -> int:
        return int(self.x_train.shape[1])


def make_dataset(
    data: DataSpec, rng: np.random.Generator, dtype: npt.DTypeLike = np.float32
) -> Split:
    """Generate (or load) ``data.dataset``, split it and standardise it.

    Parameters
    ----------
    data : the spec's data section; ``samples``, ``features``, ``classes`` and
        ``n_val`` give the resolved sizes.
    rng : the only source of randomness.
    dtype : float dtype of the inputs (``np.float32``, ``"float64"``, ...).

    Returns
    -------
    Split with ``data.n_train`` training and ``data.n_val`` validation examples.
    """
    out_dtype = np.dtype(dtype)
    if out_dtype.kind != "f":
        raise ValueError(f"dtype must be a floating-point type, not {out_dtype}")
    x, y = GENERATORS[data.dataset](data, rng)
    order = rng.permutation(len(y))
    val, train = order[: data.n_val], order[data.n_val :]
    x_train, x_val = standardise(x[train], x[val])
    return Split(
        x_train=x_train.astype(out_dtype),
        y_train=y[train],
        x_val=x_val.astype(out_dtype),
        y_val=y[val],
        n_classes=data.classes,
    )


def standardise(
    x_train: NDArray[np.float64], x_val: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Centre and scale both sets with the training mean and std, per feature.

    x_train : (n_train, f), x_val : (n_val, f). A feature whose training std is
    below ``1e-8`` is centred but not scaled, rather than divided by ~zero.
    """
    mean = x_train.mean(axis=0)
    std = x_train.std(axis=0)
    std = np.where(std > _MIN_STD, std, 1.0)
    return (x_train - mean) / std, (x_val - mean) / std


def _class_sizes(n: int, k: int) -> list[int]:
    """Split ``n`` examples over ``k`` classes as evenly as possible."""
    return [n // k + (1 if c < n % k else 0) for c in range(k)]


def _labels(sizes: list[int]) -> LabelArray:
    return np.repeat(np.arange(len(sizes), dtype=np.int64), sizes)


def spiral(data: DataSpec, rng: np.random.Generator) -> _Points:
    """``classes`` interleaved spiral arms in the plane (CS231n's toy problem)."""
    k = data.classes
    xs = []
    for c, m in enumerate(_class_sizes(data.samples, k)):
        r = np.linspace(0.0, 1.0, m)
        # Each arm turns through 4 radians and starts 2π/k after the previous one.
        theta = 2 * np.pi * c / k + 4.0 * r + data.noise * rng.standard_normal(m)
        xs.append(np.column_stack([r * np.sin(theta), r * np.cos(theta)]))
    return np.concatenate(xs), _labels(_class_sizes(data.samples, k))


def moons(data: DataSpec, rng: np.random.Generator) -> _Points:
    """Two interleaving half circles (as scikit-learn's ``make_moons``)."""
    sizes = _class_sizes(data.samples, 2)
    t0 = rng.uniform(0.0, np.pi, sizes[0])
    t1 = rng.uniform(0.0, np.pi, sizes[1])
    upper = np.column_stack([np.cos(t0), np.sin(t0)])
    lower = np.column_stack([1.0 - np.cos(t1), 0.5 - np.sin(t1)])
    x = np.concatenate([upper, lower])
    x += data.noise * rng.standard_normal(x.shape)
    return x, _labels(sizes)


def circles(data: DataSpec, rng: np.random.Generator) -> _Points:
    """Two concentric circles, radii 1 (label 0) and 0.5 (label 1)."""
    sizes = _class_sizes(data.samples, 2)
    parts = []
    for radius, m in zip((1.0, 0.5), sizes, strict=True):
        t = rng.uniform(0.0, 2 * np.pi, m)
        parts.append(radius * np.column_stack([np.cos(t), np.sin(t)]))
    x = np.concatenate(parts)
    x += data.noise * rng.standard_normal(x.shape)
    return x, _labels(sizes)


def xor(data: DataSpec, rng: np.random.Generator) -> _Points:
    """Four clusters at (±1, ±1); label 1 where the centre's coordinates differ in sign."""
    centres = np.array([[1.0, 1.0], [-1.0, -1.0], [1.0, -1.0], [-1.0, 1.0]])
    sizes = _class_sizes(data.samples, 4)
    which = np.repeat(np.arange(4), sizes)
    x = centres[which] + data.noise * rng.standard_normal((data.samples, 2))
    y = (centres[which, 0] * centres[which, 1] < 0).astype(np.int64)
    return x, y


def blobs(data: DataSpec, rng: np.random.Generator) -> _Points:
    """``classes`` Gaussian clusters with centres uniform in [-1, 1]^features."""
    sizes = _class_sizes(data.samples, data.classes)
    centres = rng.uniform(-1.0, 1.0, (data.classes, data.features))
    y = _labels(sizes)
    x = centres[y] + data.noise * rng.standard_normal((data.samples, data.features))
    return x, y


def gaussian(data: DataSpec, rng: np.random.Generator) -> _Points:
    """Inputs i.i.d. N(0, 1); labels the argmax of a random linear teacher.

    x : (samples, features); the teacher W : (features, classes) has entries
    N(0, 1/features) so its logits x @ W have unit variance whatever the input
    dimension, and ``noise`` is the std of N(0, 1) noise added to them.
    Classes are roughly, not exactly, balanced.
    """
    x = rng.standard_normal((data.samples, data.features))
    teacher = rng.standard_normal((data.features, data.classes)) / np.sqrt(data.features)
    logits = x @ teacher + data.noise * rng.standard_normal((data.samples, data.classes))
    return x, np.argmax(logits, axis=1).astype(np.int64)


@lru_cache(maxsize=1)
def _digits_table() -> NDArray[np.float64]:
    source = resources.files("core").joinpath("datasets/digits.csv.gz")
    with source.open("rb") as raw, gzip.open(raw, "rt") as text:
        table = np.loadtxt(text, delimiter=",", dtype=np.float64)
    if table.shape != (DIGITS_SAMPLES, 65):
        raise RuntimeError(f"digits.csv.gz has shape {table.shape}, expected (1797, 65)")
    table.setflags(write=False)
    return table


def load_digits() -> tuple[NDArray[np.float64], LabelArray]:
    """The 8x8 digits in file order: x : (1797, 64) pixels in 0..16, y : (1797,) in 0..9."""
    table = _digits_table()
    return table[:, :-1].copy(), table[:, -1].astype(np.int64)


def digits(data: DataSpec, rng: np.random.Generator) -> _Points:
    """The real digits; a seeded random subset when ``data.n_samples`` is set."""
    x, y = load_digits()
    if data.samples < len(y):
        keep = rng.choice(len(y), size=data.samples, replace=False)
        x, y = x[keep], y[keep]
    return x, y


#: Keyed by the spec's ``Dataset`` literals.
GENERATORS: dict[str, DatasetFn] = {
    "spiral": spiral,
    "moons": moons,
    "circles": circles,
    "xor": xor,
    "blobs": blobs,
    "gaussian": gaussian,
    "digits": digits,
}
