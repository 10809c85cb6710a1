"""Optimisers over the network's flat parameter array.

``update(theta, grad, out)`` writes the step ``delta`` into ``out`` without applying
it, so the recorder can measure ||delta W|| / ||W|| as it applies ``theta += delta``.
Weight decay adds ``weight_decay * W`` to the dense weights' gradient (an L2
penalty, also under Adam); biases and batch-norm parameters are not decayed.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.floating]


class Optimizer:
    """Base: holds the learning rate and the weight-decay span of theta."""

    def __init__(self, lr: float, *, weight_decay: float = 0.0, n_weights: int = 0) -> None:
        self.lr = lr
        self.weight_decay = weight_decay
        self.n_weights = n_weights

    def update(self, theta: Array, grad: Array, out: Array) -> Array:
        raise NotImplementedError

    def _decay(self, theta: Array, grad: Array, scratch: Array) -> None:
        """grad += weight_decay * W on the dense weights; ``scratch`` (theta's shape) is
        overwritten, so no temporary the size of the weights is made."""
        if self.weight_decay:
            n = self.n_weights
            np.multiply(theta[:n], self.weight_decay, out=scratch[:n])
            grad[:n] += scratch[:n]


class SGD(Optimizer):
    """delta = -lr g."""

    def update(self, theta: Array, grad: Array, out: Array) -> Array:
        self._decay(theta, grad, out)
        return np.multiply(grad, -self.lr, out=out)


class Momentum(Optimizer):
    """v <- mu v + g;  delta = -lr v  (PyTorch's heavy-ball form)."""

    def __init__(self, lr: float, momentum: float, size: int, dtype: np.dtype, **kw: float) -> None:
        super().__init__(lr, **kw)  # type: ignore[arg-type]
        self.mu = momentum
        self.v = np.zeros(size, dtype=dtype)

    def update(self, theta: Array, grad: Array, out: Array) -> Array:
        self._decay(theta, grad, out)
        self.v *= self.mu
        self.v += grad
        return np.multiply(self.v, -self.lr, out=out)


class Adam(Optimizer):
    """Kingma & Ba (2015) with bias correction:
    m <- b1 m + (1-b1) g;  v <- b2 v + (1-b2) g^2;
    delta = -lr m_hat / (sqrt(v_hat) + eps),  m_hat = m/(1-b1^t), v_hat = v/(1-b2^t).
    """

    def __init__(
        self,
        lr: float,
        beta1: float,
        beta2: float,
        eps: float,
        size: int,
        dtype: np.dtype,
        **kw: float,
    ) -> None:
        super().__init__(lr, **kw)  # type: ignore[arg-type]
        self.b1, self.b2, self.eps = beta1, beta2, eps
        self.m = np.zeros(size, dtype=dtype)
        self.v = np.zeros(size, dtype=dtype)
        self.t = 0

    def update(self, theta: Array, grad: Array, out: Array) -> Array:
        self._decay(theta, grad, out)
        self.t += 1
        self.m *= self.b1
        np.multiply(grad, 1.0 - self.b1, out=out)
        self.m += out
        self.v *= self.b2
        np.multiply(grad, grad, out=out)
        out *= 1.0 - self.b2
        self.v += out
        # Fold both bias corrections into one scalar and the epsilon (Kingma & Ba, sec. 2).
        c1 = 1.0 - self.b1**self.t
        c2 = 1.0 - self.b2**self.t
        np.sqrt(self.v, out=out)
        out /= math.sqrt(c2)
        out += self.eps
        np.divide(self.m, out, out=out)
        out *= -self.lr / c1
        return out


def clip_global_norm(grad: Array, max_norm: float, sumsq: float | None = None) -> float:
    """Scale ``grad`` in place so its L2 norm is at most ``max_norm``; the factor applied.

    ``sumsq``, if the caller has it, is ``grad @ grad`` (saves a pass).
    """
    if sumsq is None or not math.isfinite(sumsq):
        # float64 so that a huge but finite gradient does not overflow its own norm.
        sumsq = (
            float(np.dot(grad, grad))
            if sumsq is None
            else float(np.sum(np.square(grad, dtype=np.float64)))
        )
    norm = math.sqrt(sumsq)
    if norm <= max_norm:
        return 1.0
    factor = max_norm / norm
    grad *= factor
    return factor


def make_optimizer(
    name: str,
    *,
    lr: float,
    size: int,
    dtype: np.dtype,
    momentum: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    n_weights: int = 0,
) -> Optimizer:
    """The optimiser named by a ``training.optimizer`` literal."""
    kw = {"weight_decay": weight_decay, "n_weights": n_weights}
    if name == "sgd":
        return SGD(lr, **kw)  # type: ignore[arg-type]
    if name == "momentum":
        return Momentum(lr, momentum, size, dtype, **kw)
    if name == "adam":
        return Adam(lr, momentum, beta2, eps, size, dtype, **kw)
    raise KeyError(name)
