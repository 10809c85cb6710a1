"""Fixtures for the engine's tests: a seeded generator and a spec builder."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from core.spec import ExperimentSpec

SpecFactory = Callable[..., ExperimentSpec]


@pytest.fixture
def rng() -> np.random.Generator:
    """A generator with a fixed seed: every test that draws numbers draws the same ones."""
    return np.random.default_rng(20240601)


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


@pytest.fixture
def make_spec() -> SpecFactory:
    """``make_spec(model={...}, data={...}, ...)``: a tiny, fast spec with overrides merged in.

    The default is a depth-3, width-8 ReLU net on 100 ``moons`` points, 2 epochs.
    """

    def make(**sections: Any) -> ExperimentSpec:
        base: dict[str, Any] = {
            "name": "test",
            "seed": 0,
            "model": {"depth": 3, "width": 8, "activation": "relu", "init": "he_normal"},
            "data": {"dataset": "moons", "n_samples": 100},
            "training": {"batch_size": 16, "epochs": 2, "learning_rate": 0.1},
            "recording": {"every_steps": 1},
        }
        return ExperimentSpec.model_validate(_merge(base, sections))

    return make
