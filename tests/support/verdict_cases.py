"""Real short runs for the verdict table: (id, spec overrides, expected verdict, severity)."""

from __future__ import annotations

from typing import Any

from core.spec import ExperimentSpec

#: id -> (model, data, training, expected verdict, expected severity)
CASES: dict[str, tuple[dict[str, Any], dict[str, Any], dict[str, Any], str, str | None]] = {
    "sigmoid-xavier-deep": (
        {"depth": 10, "activation": "sigmoid", "init": "xavier_normal"},
        {},
        {},
        "vanishing",
        "severe",
    ),
    "relu-xavier-deep": (
        {"depth": 20, "width": 64, "activation": "relu", "init": "xavier_normal"},
        {"n_samples": 2000},
        {"epochs": 20},
        "vanishing",
        "mild",
    ),
    "relu-he-deep": (
        {"depth": 10, "activation": "relu", "init": "he_normal"},
        {},
        {},
        "healthy",
        None,
    ),
    "tanh-normal-deep": (
        {"depth": 16, "activation": "tanh", "init": "normal"},
        {},
        {},
        "exploding",
        "severe",
    ),
    "relu-he-huge-lr": (
        {"depth": 10, "activation": "relu", "init": "he_normal"},
        {},
        {"learning_rate": 10.0},
        "diverged",
        "severe",
    ),
    "sigmoid-batchnorm-deep": (
        {"depth": 20, "width": 64, "activation": "sigmoid", "batch_norm": True},
        {"n_samples": 2000},
        {"optimizer": "momentum", "learning_rate": 0.1, "epochs": 10},
        "healthy",
        None,
    ),
    "sigmoid-residual-deep": (
        {"depth": 10, "activation": "sigmoid", "residual": True},
        {},
        {"optimizer": "momentum", "learning_rate": 0.1, "epochs": 8},
        "healthy",
        None,
    ),
    "sigmoid-normal-one-layer": (
        {"depth": 1, "width": 64, "activation": "sigmoid", "init": "normal"},
        {"dataset": "gaussian", "n_features": 64},
        {},
        "saturated",
        "mild",
    ),
    "relu-tiny-lr": (
        {"depth": 3, "activation": "relu", "init": "he_normal"},
        {},
        {"learning_rate": 1e-5},
        "not_learning",
        "severe",
    ),
    "tanh-xavier-gaussian": (
        {"depth": 10, "activation": "tanh", "init": "xavier_normal"},
        {"dataset": "gaussian", "n_features": 32},
        {},
        "healthy",
        None,
    ),
}


def case_spec(case: str) -> ExperimentSpec:
    model, data, training, _, _ = CASES[case]
    return ExperimentSpec.model_validate(
        {
            "seed": 0,
            "model": {"width": 32, **model},
            "data": {"dataset": "spiral", "n_samples": 600, **data},
            "training": {"epochs": 5, **training},
        }
    )
