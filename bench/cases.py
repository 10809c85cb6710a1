"""The networks the engine benchmark times (bench/engine.py), shared by its peers."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

FEATURES, CLASSES = 64, 10
#: Plain SGD's learning rate in every engine (the update ratio follows from it).
LR = 1e-3


@dataclass(frozen=True)
class Case:
    key: str
    depth: int
    width: int
    batch: int
    activation: str
    batch_norm: bool = False
    residual: bool = False

    @property
    def label(self) -> str:
        return (
            f"d{self.depth} w{self.width} b{self.batch} {self.activation}"
            + (" +bn" if self.batch_norm else "")
            + (" +res" if self.residual else "")
        )

    def matmul_flops(self) -> float:
        """Multiply-add flops of one step's matrix products (forward, dW, dX)."""
        dims = [FEATURES, *[self.width] * self.depth, CLASSES]
        total = 0.0
        for i, (a, b) in enumerate(itertools.pairwise(dims)):
            total += 2 * self.batch * a * b * (2 if i == 0 else 3)
        return total


CASES = [
    Case("a", 10, 256, 128, "relu"),
    Case("b", 50, 128, 64, "sigmoid"),
    Case("c", 20, 512, 256, "tanh", batch_norm=True),
    Case("d", 20, 256, 128, "relu", residual=True),
    Case("tiny", 50, 16, 8, "relu"),
]
