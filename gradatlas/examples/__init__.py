"""Example experiment specs, one or two per claim about vanishing/exploding gradients.

The specs are JSON files beside this module (package data), each small enough
to run in seconds on one core. ``gradatlas spec --list`` shows them and
``gradatlas spec --example NAME`` prints one.
"""

from __future__ import annotations

from importlib import resources

from core.spec import ExperimentSpec

#: What each example shows, keyed by file stem (= the spec's "name").
DESCRIPTIONS: dict[str, str] = {
    "sigmoid-deep": "20 sigmoid layers, Xavier init: gradients vanish toward the input",
    "relu-he-deep": "the same network with ReLU and He init: gradients stay level",
    "relu-xavier-deep": "ReLU with Xavier init: the backward signal halves in variance per layer",
    "sigmoid-batchnorm-deep": "deep sigmoid with batch norm: the gradient flows again",
    "sigmoid-residual-deep": "deep sigmoid with residual blocks: skips carry the gradient",
    "sigmoid-shallow": "3 sigmoid layers: the same shrink per layer, compounded 3 times, not 20",
    "tanh-normal-exploding": "tanh with N(0,1) weights: gradients explode toward the input",
    "digits-relu": "the real 8x8 digits, 8 ReLU layers with He init",
}

#: The claims, each answered by comparing these examples.
CLAIMS: dict[str, tuple[str, ...]] = {
    "sigmoid-vs-relu": ("sigmoid-deep", "relu-he-deep"),
    "xavier-vs-he": ("relu-xavier-deep", "relu-he-deep"),
    "batch-norm": ("sigmoid-deep", "sigmoid-batchnorm-deep"),
    "residual": ("sigmoid-deep", "sigmoid-residual-deep"),
    "depth": ("sigmoid-shallow", "sigmoid-deep"),
    "exploding": ("tanh-normal-exploding",),
    "real-data": ("digits-relu",),
}


def names() -> list[str]:
    """The example names, sorted."""
    root = resources.files(__name__)
    return sorted(p.name.removesuffix(".json") for p in root.iterdir() if p.name.endswith(".json"))


def read_text(name: str) -> str:
    """The JSON text of example ``name``; KeyError if there is none."""
    if name not in names():
        raise KeyError(name)
    return resources.files(__name__).joinpath(f"{name}.json").read_text(encoding="utf-8")


def load(name: str) -> ExperimentSpec:
    """Example ``name`` as a validated spec."""
    return ExperimentSpec.model_validate_json(read_text(name))
