"""Softmax cross-entropy, the loss of every experiment."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.floating]


def softmax_cross_entropy(
    logits: Array, y: NDArray[np.integer], dlogits: Array | None = None
) -> tuple[float, int]:
    """Mean cross-entropy of softmax(logits) against labels, and the number correct.

    logits : (batch, classes);  y : (batch,) integer labels.
    dlogits : (batch, classes) or None; receives dLoss/dlogits = (softmax - onehot) / batch.

    Stable for any finite logits: the row maximum is subtracted before exp, so
    log-sum-exp never overflows.
    """
    n = logits.shape[0]
    rows = np.arange(n)
    m = logits.max(axis=1, keepdims=True)
    e = dlogits if dlogits is not None else np.empty_like(logits)
    np.subtract(logits, m, out=e)
    np.exp(e, out=e)
    s = e.sum(axis=1, keepdims=True)
    picked = logits[rows, y]
    loss = float(np.mean(np.log(s[:, 0]) + m[:, 0] - picked, dtype=np.float64))
    correct = int(np.count_nonzero(logits.argmax(axis=1) == y))
    if dlogits is not None:
        dlogits /= s
        dlogits[rows, y] -= 1.0
        dlogits *= 1.0 / n
    return loss, correct
