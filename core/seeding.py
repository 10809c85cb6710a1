"""The random streams of a run, and the first training batch they give.

Three independent generators are spawned from the spec's seed (data, initial
weights, shuffling), so the same spec gives the same numbers bit for bit on the
same machine, and changing the initialiser leaves the data and the batch order
as they were. ``core.train`` draws from them; ``core.theory`` rebuilds the first
batch from them to predict a batch-normalised network from its actual inputs.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from .data import make_dataset
from .spec import ExperimentSpec


def rngs(seed: int) -> tuple[np.random.Generator, np.random.Generator, np.random.Generator]:
    """Independent generators for data, initial weights and shuffling."""
    data, init, shuffle = np.random.SeedSequence(seed).spawn(3)
    return np.random.default_rng(data), np.random.default_rng(init), np.random.default_rng(shuffle)


def first_batch(spec: ExperimentSpec) -> NDArray[np.float64]:
    """The inputs of step 0's batch, (batch, features), as the run draws them."""
    data_rng, _, shuffle_rng = rngs(spec.seed)
    split = make_dataset(spec.data, data_rng, spec.model.dtype)
    n = split.x_train.shape[0]
    order = shuffle_rng.permutation(n)
    size = min(spec.training.batch_size, n)
    return split.x_train[order[:size]].astype(np.float64)
