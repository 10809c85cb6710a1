"""Per-layer arrays laid out so that layers of equal shape sit in one stacked array.

A deep network's hidden layers mostly share one shape. Storing them as one
``(n_layers, *shape)`` array lets a statistic of every layer be one NumPy call on
the stack instead of one call per layer, which is what keeps recording cheap.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import DTypeLike, NDArray

Array = NDArray[np.floating]
Shape = tuple[int, ...]


@dataclass(frozen=True)
class Stacked:
    """``views[i]`` is layer i's array; ``runs`` hold the stacks they are views of.

    Each run is ``(layers, stack)``: ``stack[k]`` is ``views[layers.start + k]``.
    """

    views: list[Array]
    runs: list[tuple[slice, Array]]

    def __len__(self) -> int:
        return len(self.views)

    def per_layer(self, fn: Callable[[Array], NDArray[np.float64]]) -> NDArray[np.float64]:
        """Apply ``fn`` to each run flattened to ``(n, size)``; gather ``(n_layers, ...)``.

        ``fn`` maps an ``(n, size)`` array to ``(n, ...)`` values, a row per layer; runs
        hold consecutive layers in order, so their rows stack into one per layer.
        """
        parts = [fn(stack.reshape(stack.shape[0], -1)) for _, stack in self.runs]
        return np.concatenate(parts) if len(parts) > 1 else parts[0]


def runs_of(shapes: Sequence[Shape]) -> list[tuple[slice, Shape]]:
    """Group consecutive equal shapes: [(slice of layers, shape), ...]."""
    runs: list[tuple[slice, Shape]] = []
    start = 0
    for i in range(1, len(shapes) + 1):
        if i == len(shapes) or shapes[i] != shapes[start]:
            runs.append((slice(start, i), tuple(shapes[start])))
            start = i
    return runs


def stacked_empty(shapes: Sequence[Shape], dtype: DTypeLike) -> Stacked:
    """Fresh uninitialised arrays of the given shapes, stacked by runs."""
    views: list[Array] = []
    runs: list[tuple[slice, Array]] = []
    for layers, shape in runs_of(shapes):
        stack = np.empty((layers.stop - layers.start, *shape), dtype=dtype)
        runs.append((layers, stack))
        views.extend(stack)
    return Stacked(views, runs)


def stacked_in(flat: Array, offset: int, shapes: Sequence[Shape]) -> tuple[Stacked, int]:
    """Views into ``flat`` from ``offset`` on, stacked by runs; also the end offset."""
    views: list[Array] = []
    runs: list[tuple[slice, Array]] = []
    for layers, shape in runs_of(shapes):
        n = layers.stop - layers.start
        size = n * int(np.prod(shape))
        stack = flat[offset : offset + size].reshape(n, *shape)
        runs.append((layers, stack))
        views.extend(stack)
        offset += size
    return Stacked(views, runs), offset
