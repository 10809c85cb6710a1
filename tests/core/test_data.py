"""Data sets: shapes, labels, determinism, standardisation, and the real digits."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pytest

from core.data import GENERATORS, Split, load_digits, make_dataset, standardise
from core.spec import DATASET_NAMES, DataSpec

SMALL: dict[str, dict[str, Any]] = {
    "spiral": {"n_samples": 300, "n_classes": 4},
    "moons": {"n_samples": 200},
    "circles": {"n_samples": 200},
    "xor": {"n_samples": 200},
    "blobs": {"n_samples": 250, "n_features": 5, "n_classes": 4},
    "gaussian": {"n_samples": 400, "n_features": 12, "n_classes": 3},
    "digits": {"n_samples": 500},
}


def small(dataset: str, **overrides: Any) -> DataSpec:
    return DataSpec.model_validate({"dataset": dataset, **SMALL[dataset], **overrides})


def build(spec: DataSpec, seed: int = 0, dtype: Any = np.float32) -> Split:
    return make_dataset(spec, np.random.default_rng(seed), dtype)


def test_every_spec_dataset_has_a_generator() -> None:
    assert set(GENERATORS) == set(DATASET_NAMES)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, "float32", "float64"])
@pytest.mark.parametrize("dataset", DATASET_NAMES)
def test_shapes_dtypes_and_labels(dataset: str, dtype: Any) -> None:
    spec = small(dataset)
    split = build(spec, dtype=dtype)
    assert split.x_train.shape == (spec.n_train, spec.features)
    assert split.x_val.shape == (spec.n_val, spec.features)
    assert split.y_train.shape == (spec.n_train,)
    assert split.y_val.shape == (spec.n_val,)
    assert split.x_train.dtype == np.dtype(dtype)
    assert split.x_val.dtype == np.dtype(dtype)
    assert split.y_train.dtype == np.int64
    assert split.y_val.dtype == np.int64
    assert split.n_classes == spec.classes
    assert split.n_features == spec.features
    labels = np.concatenate([split.y_train, split.y_val])
    assert labels.min() >= 0
    assert labels.max() < spec.classes
    assert np.isfinite(split.x_train).all()
    assert np.isfinite(split.x_val).all()


@pytest.mark.parametrize("dataset", DATASET_NAMES)
def test_default_sizes_follow_the_spec(dataset: str) -> None:
    spec = DataSpec.model_validate({"dataset": dataset})
    split = build(spec)
    assert len(split.y_train) + len(split.y_val) == spec.samples
    assert len(split.y_val) == spec.n_val


@pytest.mark.parametrize("dataset", DATASET_NAMES)
def test_same_seed_same_bits(dataset: str) -> None:
    a, b = build(small(dataset), seed=7), build(small(dataset), seed=7)
    for name in ("x_train", "y_train", "x_val", "y_val"):
        left, right = getattr(a, name), getattr(b, name)
        assert left.tobytes() == right.tobytes(), name


@pytest.mark.parametrize("dataset", DATASET_NAMES)
def test_different_seeds_differ(dataset: str) -> None:
    a, b = build(small(dataset), seed=1), build(small(dataset), seed=2)
    assert not np.array_equal(a.x_train, b.x_train)


def test_draws_only_from_the_given_rng() -> None:
    """The global NumPy state must neither feed nor be consumed by the generators."""
    spec = small("gaussian")
    np.random.seed(1)
    a = build(spec, seed=3)
    np.random.seed(2)
    b = build(spec, seed=3)
    assert np.array_equal(a.x_train, b.x_train)


@pytest.mark.parametrize("dataset", DATASET_NAMES)
def test_standardised_with_training_statistics(dataset: str) -> None:
    split = build(small(dataset), dtype=np.float64)
    mean = split.x_train.mean(axis=0)
    std = split.x_train.std(axis=0)
    varying = std > 1e-6
    assert varying.any()
    np.testing.assert_allclose(mean, 0.0, atol=1e-9)
    np.testing.assert_allclose(std[varying], 1.0, rtol=1e-9)
    # Constant features (digits' blank border pixels) are centred, not blown up.
    np.testing.assert_allclose(split.x_train[:, ~varying], 0.0, atol=1e-12)
    # Validation data is scaled with the training statistics, so it is near, not at, 0/1.
    assert np.abs(split.x_val.mean(axis=0)).max() < 1.0


def test_standardise_guards_constant_features() -> None:
    x_train = np.array([[1.0, 5.0], [3.0, 5.0], [5.0, 5.0]])
    x_val = np.array([[3.0, 6.0]])
    tr, va = standardise(x_train, x_val)
    np.testing.assert_allclose(tr[:, 0], [-np.sqrt(1.5), 0.0, np.sqrt(1.5)])
    np.testing.assert_allclose(tr[:, 1], 0.0)
    np.testing.assert_allclose(va, [[0.0, 1.0]])


@pytest.mark.parametrize("n_classes", [2, 3, 5])
def test_spiral_classes_balanced(n_classes: int) -> None:
    spec = DataSpec(dataset="spiral", n_samples=1000, n_classes=n_classes)
    split = build(spec)
    counts = np.bincount(np.concatenate([split.y_train, split.y_val]), minlength=n_classes)
    assert counts.max() - counts.min() <= 1
    train_counts = np.bincount(split.y_train, minlength=n_classes)
    assert train_counts.min() > 0.7 * spec.n_train / n_classes


def test_xor_labels_are_sign_products() -> None:
    # With tiny noise every point sits in its centre's quadrant.
    split = build(DataSpec(dataset="xor", n_samples=400, noise=0.05), dtype=np.float64)
    x = np.concatenate([split.x_train, split.x_val])
    y = np.concatenate([split.y_train, split.y_val])
    assert np.array_equal(y, (x[:, 0] * x[:, 1] < 0).astype(np.int64))


def test_gaussian_noise_blurs_the_teacher() -> None:
    """Without noise a linear model fits the teacher exactly; least squares nearly does."""

    def linear_fit_accuracy(noise: float) -> float:
        spec = DataSpec(dataset="gaussian", n_samples=2000, n_features=4, n_classes=2, noise=noise)
        s = build(spec, dtype=np.float64)
        target = np.where(s.y_train == 1, 1.0, -1.0)
        w, *_ = np.linalg.lstsq(np.c_[s.x_train, np.ones(len(target))], target, rcond=None)
        pred = (np.c_[s.x_val, np.ones(len(s.y_val))] @ w > 0).astype(np.int64)
        return float((pred == s.y_val).mean())

    assert linear_fit_accuracy(0.0) > 0.95
    assert linear_fit_accuracy(3.0) < linear_fit_accuracy(0.0) - 0.1


def test_digits_is_sklearns_digits() -> None:
    datasets = pytest.importorskip("sklearn.datasets")
    ref = datasets.load_digits()
    x, y = load_digits()
    assert x.shape == (1797, 64)
    assert np.array_equal(x, ref.data)
    assert np.array_equal(y, ref.target)
    assert sorted(set(y.tolist())) == list(range(10))


def test_digits_subset_is_seeded_and_without_repeats() -> None:
    spec = DataSpec(dataset="digits", n_samples=300, val_fraction=0.5)
    a, b = build(spec, seed=0), build(spec, seed=1)
    assert len(a.y_train) + len(a.y_val) == 300
    assert not np.array_equal(a.y_train, b.y_train)
    # Every drawn image is a real one, and none is drawn more often than the file holds it.
    raw, _ = load_digits()
    available = Counter(row.tobytes() for row in raw)
    x, _ = GENERATORS["digits"](spec, np.random.default_rng(0))
    drawn = Counter(row.tobytes() for row in x)
    assert all(available[key] >= n for key, n in drawn.items())


def test_digits_full_set_uses_every_image_once() -> None:
    split = build(DataSpec(dataset="digits"))
    y = np.concatenate([split.y_train, split.y_val])
    _, ref = load_digits()
    assert np.array_equal(np.bincount(y), np.bincount(ref))


def test_rejects_integer_dtype() -> None:
    with pytest.raises(ValueError, match="floating"):
        build(small("moons"), dtype=np.int32)
