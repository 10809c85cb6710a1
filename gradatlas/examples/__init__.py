"""Example experiment specs, one or two per claim about vanishing/exploding gradients.

The specs are JSON files beside this module (package data), each small enough
to run in seconds on one core. The two members of a claim share their data, seed,
training budget and recording, so the claim shows on the same budget: the sigmoid
family (depth, batch norm, residual) trains with momentum, lr 0.1, 30 epochs (a
sigmoid network's gradients are small: plain SGD at 0.05 teaches even the
shallow one nothing); the ReLU pairs with plain SGD, lr 0.05, 20 epochs (where
deep ReLU + He is stable), and ``sigmoid-deep-sgd`` is the deep sigmoid on theirs.
``gradatlas spec --list`` shows them and ``gradatlas spec --example NAME`` prints one.
"""

from __future__ import annotations

from importlib import resources

from core.spec import ExperimentSpec

#: What each example shows, keyed by file stem (= the spec's "name").
DESCRIPTIONS: dict[str, str] = {
    "sigmoid-deep": "20 sigmoid layers, Xavier init: gradients vanish toward the input "
    "(10^-12) and it stays at chance",
    "sigmoid-deep-sgd": "sigmoid-deep on the ReLU examples' budget (plain SGD, 20 epochs): "
    "still at chance",
    "relu-he-deep": "the same network with ReLU and He init: gradients stay level, it learns",
    "relu-xavier-deep": "ReLU with Xavier init: the backward signal halves in variance per "
    "layer (10^-3 across 20 layers) and learning is slowed",
    "sigmoid-batchnorm-deep": "deep sigmoid with batch norm: the gradient reaches the input "
    "(growing toward it at first) and it learns",
    "sigmoid-residual-deep": "deep sigmoid with residual blocks: skips carry the gradient, "
    "it learns",
    "sigmoid-shallow": "3 sigmoid layers: the same shrink per layer, compounded 3 times, "
    "not 20; it learns",
    "tanh-normal-exploding": "tanh with N(0,1) weights: gradients explode toward the input",
    "digits-relu": "the real 8x8 digits, 8 ReLU layers with He init",
}

#: The claims, each answered by comparing these examples.
CLAIMS: dict[str, tuple[str, ...]] = {
    "sigmoid-vs-relu": ("sigmoid-deep-sgd", "relu-he-deep"),
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
