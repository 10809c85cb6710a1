"""Dense and batch-norm layers: forward caches what backward needs, side by side.

Parameters and their gradients are views into the network's flat arrays (so an
optimiser updates every parameter in one call); activations live in buffers the
caller allocates once per batch size and passes in with ``out=``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.floating]

#: Added to the batch variance before the square root, as in PyTorch.
BN_EPS = 1e-5
#: Weight of the newest batch in the running mean and variance.
BN_MOMENTUM = 0.1


class Dense:
    """y = x @ W + b.  x: (batch, fan_in) -> y: (batch, fan_out).

    W, dW : (fan_in, fan_out);  b, db : (fan_out,).
    """

    def __init__(self, W: Array, b: Array, dW: Array, db: Array) -> None:
        self.W, self.b, self.dW, self.db = W, b, dW, db
        self._x: Array | None = None

    @property
    def fan_in(self) -> int:
        return int(self.W.shape[0])

    @property
    def fan_out(self) -> int:
        return int(self.W.shape[1])

    @property
    def x(self) -> Array:
        """The input of the last forward pass, (batch, fan_in): what dW = x^T dy used."""
        assert self._x is not None, "no forward pass yet"
        return self._x

    def forward(self, x: Array, out: Array) -> Array:
        self._x = x
        np.matmul(x, self.W, out=out)
        out += self.b
        return out

    def backward(self, dy: Array, ones: Array, dx: Array | None) -> Array | None:
        """Store dW = x^T dy and db = 1^T dy; write dy W^T into ``dx`` unless it is None.

        ``ones`` is a (batch,) vector of ones: ``ones @ dy`` sums the batch through
        BLAS instead of a slower reduction.
        """
        assert self._x is not None, "backward before forward"
        np.matmul(self._x.T, dy, out=self.dW)
        np.matmul(ones, dy, out=self.db)
        if dx is None:
            return None
        return np.matmul(dy, self.W.T, out=dx)


class BatchNorm:
    """y = gamma * (z - mu) / sqrt(var + eps) + beta, per unit.  z, y: (batch, width).

    In training, mu and var are the batch's (biased variance) and the running
    estimates move toward them; in evaluation the running estimates are used.
    ``training`` is only about which statistics normalise, nothing else.
    """

    def __init__(self, gamma: Array, beta: Array, dgamma: Array, dbeta: Array) -> None:
        self.gamma, self.beta, self.dgamma, self.dbeta = gamma, beta, dgamma, dbeta
        width = gamma.shape[0]
        self.running_mean = np.zeros(width, dtype=gamma.dtype)
        self.running_var = np.ones(width, dtype=gamma.dtype)
        self._centred: Array | None = None
        self._inv_std: Array | None = None

    def forward(
        self, z: Array, ones: Array, centred: Array, out: Array, *, training: bool
    ) -> Array:
        """Normalise z into ``out``; ``centred`` (batch, width) receives z - mu.

        xhat = (z - mu) / sigma is never stored: ``out`` is (z - mu) (gamma / sigma) + beta
        in two passes, and backward folds 1 / sigma into per-unit vectors instead.
        """
        n = z.shape[0]
        if training:
            mu = np.matmul(ones, z)
            mu /= n
            np.subtract(z, mu, out=centred)
            np.multiply(centred, centred, out=out)  # out as scratch for the squares
            var = np.matmul(ones, out)
            var /= n
            inv_std = np.add(var, BN_EPS)
            np.sqrt(inv_std, out=inv_std)
            np.reciprocal(inv_std, out=inv_std)
            m = BN_MOMENTUM
            self.running_mean *= 1.0 - m
            self.running_mean += m * mu
            unbiased = var * (n / (n - 1)) if n > 1 else var
            self.running_var *= 1.0 - m
            self.running_var += m * unbiased
            self._centred, self._inv_std = centred, inv_std
        else:
            np.subtract(z, self.running_mean, out=centred)
            inv_std = 1.0 / np.sqrt(self.running_var + BN_EPS)
        np.multiply(centred, self.gamma * inv_std, out=out)
        out += self.beta
        return out

    def backward(self, dy: Array, ones: Array, tmp: Array, dz: Array) -> Array:
        """dz = gamma/sigma * (dy - mean(dy) - xhat * mean(dy * xhat)), exact.

        Also stores dgamma = sum(dy * xhat) and dbeta = sum(dy) over the batch, with
        xhat = (z - mu) / sigma taken as the stored z - mu times the per-unit 1 / sigma.
        ``tmp`` (batch, width) is scratch.
        """
        assert self._centred is not None, "backward before forward"
        assert self._inv_std is not None
        centred, inv_std, n = self._centred, self._inv_std, dy.shape[0]
        np.matmul(ones, dy, out=self.dbeta)
        np.multiply(dy, centred, out=tmp)
        np.matmul(ones, tmp, out=self.dgamma)
        self.dgamma *= inv_std
        # xhat * mean(dy * xhat) = (z - mu) * (dgamma / (n sigma)): one pass, no xhat.
        np.multiply(centred, self.dgamma * (inv_std / n), out=dz)
        np.subtract(dy, dz, out=dz)
        dz -= self.dbeta / n
        dz *= self.gamma * inv_std
        return dz
