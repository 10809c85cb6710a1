"""A deep multilayer perceptron with exact backpropagation.

Layout: ``sizes = [n_in, w_1, ..., w_depth, n_out]`` gives ``depth + 1`` dense
layers. Hidden layer l computes ``h_l = phi(BN(x_l W_l + b_l))`` (BN optional);
the output layer gives the logits. With residual blocks of ``r`` layers, the
hidden-to-hidden layers ``1 .. depth-1`` are grouped in consecutive blocks (the
last may be shorter) and a block's output is its input plus ``h`` of its last
layer, so gradients flow through the identity as well as the transform.

Every parameter lives in one flat array ``theta`` and every gradient in ``grad``,
laid out as ``[W runs | biases | gammas | betas]`` so that weights of equal shape
are contiguous (one stacked statistic covers them) and an optimiser updates
everything in one call.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from numpy.typing import DTypeLike, NDArray

from .activations import ActivationFunction
from .init import Initialiser
from .layers import BatchNorm, Dense
from .stacked import Array, Shape, Stacked, stacked_empty, stacked_in


@dataclass
class Workspace:
    """Buffers for one batch size, allocated once and reused every step.

    Z, dZ : dense outputs and their gradients, ``depth + 1`` of (batch, fan_out).
    U : batch-norm outputs (hidden layers; ``Z`` itself without batch norm).
    H : activation outputs h_l (hidden layers); dH : dLoss/d(layer input stream).
    S : residual block outputs, at the index of each block's last layer.
    """

    batch: int
    ones: Array
    Z: Stacked
    dZ: Stacked
    U: list[Array]
    Xhat: list[Array]
    H: Stacked
    dH: list[Array]
    S: dict[int, Array]
    tmp: dict[Shape, tuple[Array, Array]]


class MLP:
    """The network. ``forward`` then ``backward`` fills ``grad`` for the batch."""

    def __init__(
        self,
        sizes: list[int],
        activation: ActivationFunction,
        init: Initialiser,
        rng: np.random.Generator,
        *,
        batch_norm: bool = False,
        residual_every: int | None = None,
        dtype: DTypeLike = np.float32,
        init_gain: float = 1.0,
        bias_std: float = 0.0,
    ) -> None:
        if len(sizes) < 3:
            raise ValueError("sizes needs inputs, at least one hidden layer and outputs")
        self.sizes = list(sizes)
        self.depth = len(sizes) - 2
        self.act = activation
        self.dtype = np.dtype(dtype)
        self.batch_norm = batch_norm
        self.blocks = residual_blocks(self.depth, residual_every)
        self.block_start = {start: stop - 1 for start, stop in self.blocks}
        self.block_end = {stop - 1: start for start, stop in self.blocks}

        w_shapes = [(a, b) for a, b in itertools.pairwise(sizes)]
        b_shapes = [(b,) for b in sizes[1:]]
        hidden = [(w,) for w in sizes[1:-1]]
        size = sum(a * b + b for a, b in w_shapes) + (2 * sum(sizes[1:-1]) if batch_norm else 0)
        self.theta = np.zeros(size, dtype=self.dtype)
        self.grad = np.zeros(size, dtype=self.dtype)

        self.W, off = stacked_in(self.theta, 0, w_shapes)
        self.dW, _ = stacked_in(self.grad, 0, w_shapes)
        #: Entries [0, n_weights) of theta are the dense weights (what weight decay touches).
        self.n_weights = off
        self.b, off = stacked_in(self.theta, off, b_shapes)
        self.db, _ = stacked_in(self.grad, self.n_weights, b_shapes)
        self.dense = [
            Dense(W, b, dW, db)
            for W, b, dW, db in zip(
                self.W.views, self.b.views, self.dW.views, self.db.views, strict=True
            )
        ]
        self.bn: list[BatchNorm] = []
        if batch_norm:
            start = off
            self.gamma, off = stacked_in(self.theta, off, hidden)
            self.beta, off = stacked_in(self.theta, off, hidden)
            self.dgamma, _ = stacked_in(self.grad, start, hidden)
            self.dbeta, _ = stacked_in(self.grad, start + sum(sizes[1:-1]), hidden)
            self.theta[start : start + sum(sizes[1:-1])] = 1.0
            self.bn = [
                BatchNorm(g, b, dg, db)
                for g, b, dg, db in zip(
                    self.gamma.views,
                    self.beta.views,
                    self.dgamma.views,
                    self.dbeta.views,
                    strict=True,
                )
            ]
        init_parameters(self.W.views, self.b.views, init, rng, init_gain, bias_std)
        self._workspaces: dict[int, Workspace] = {}

    @property
    def n_layers(self) -> int:
        """Dense layers: depth + 1."""
        return self.depth + 1

    def workspace(self, batch: int) -> Workspace:
        """The buffers for ``batch`` examples, made on first use."""
        ws = self._workspaces.get(batch)
        if ws is None:
            ws = self._workspaces[batch] = self._allocate(batch)
        return ws

    def _allocate(self, batch: int) -> Workspace:
        dt = self.dtype
        outs = [(batch, n) for n in self.sizes[1:]]
        hidden = outs[:-1]
        Z = stacked_empty(outs, dt)
        Xhat = [np.empty(s, dt) for s in hidden] if self.batch_norm else []
        U = [np.empty(s, dt) for s in hidden] if self.batch_norm else Z.views[:-1]
        tmp: dict[Shape, tuple[Array, Array]] = {
            s: (np.empty(s, dt), np.empty(s, dt)) for s in set(hidden)
        }
        return Workspace(
            batch=batch,
            ones=np.ones(batch, dt),
            Z=Z,
            dZ=stacked_empty(outs, dt),
            U=U,
            Xhat=Xhat,
            H=stacked_empty(hidden, dt),
            dH=[np.empty(s, dt) for s in hidden],
            S={end: np.empty(hidden[end], dt) for end in self.block_end},
            tmp=tmp,
        )

    def forward(self, x: Array, ws: Workspace, *, training: bool) -> Array:
        """Logits for x.  x: (batch, n_in) -> (batch, n_out), a view into ``ws``."""
        stream = x
        for l in range(self.depth):
            z = self.dense[l].forward(stream, ws.Z.views[l])
            u = z
            if self.batch_norm:
                u = self.bn[l].forward(z, ws.ones, ws.Xhat[l], ws.U[l], training=training)
            h = self.act.forward(u, ws.H.views[l])
            if l in self.block_end:
                stream = np.add(self._block_input(l, x, ws), h, out=ws.S[l])
            else:
                stream = h
        return self.dense[-1].forward(stream, ws.Z.views[-1])

    def _block_input(self, end: int, x: Array, ws: Workspace) -> Array:
        """The stream entering the block that ends at hidden layer ``end``."""
        start = self.block_end[end]
        return self._stream_after(start - 1, x, ws)

    def _stream_after(self, l: int, x: Array, ws: Workspace) -> Array:
        """The input to hidden layer l + 1: h_l, or S_l where a block ends at l."""
        if l < 0:
            return x
        return ws.S[l] if l in self.block_end else ws.H.views[l]

    def backward(self, ws: Workspace) -> None:
        """Backpropagate ``ws.dZ.views[-1]`` (dLoss/dlogits) through every layer.

        Fills ``grad`` (all parameters) and ``ws.dZ`` (dLoss/d pre-activation, per layer).
        """
        top = self.depth
        g = self.dense[top].backward(ws.dZ.views[top], ws.ones, ws.dH[top - 1])
        for l in range(top - 1, -1, -1):
            assert g is not None
            # g = dLoss/d(stream after layer l); through a block end it is also dLoss/dh_l.
            dz = ws.dZ.views[l]
            tmp, du = ws.tmp[dz.shape]
            if self.batch_norm:
                self.act.backward(ws.U[l], ws.H.views[l], g, du, tmp)
                self.bn[l].backward(du, ws.ones, tmp, dz)
            else:
                self.act.backward(ws.U[l], ws.H.views[l], g, dz, tmp)
            if l == 0:
                self.dense[0].backward(dz, ws.ones, None)
                break
            g_in = self.dense[l].backward(dz, ws.ones, ws.dH[l - 1])
            if l in self.block_start:
                # The identity path carries the block output's gradient straight to its input.
                assert g_in is not None
                g_in += ws.dH[self.block_start[l]]
            g = g_in


def init_parameters(
    weights: list[Array],
    biases: list[Array],
    init: Initialiser,
    rng: np.random.Generator,
    gain: float = 1.0,
    bias_std: float = 0.0,
) -> None:
    """Draw every weight matrix (times ``gain``), then every bias, from ``rng``, in place.

    Weights first, layer by layer, so the biases' draws never shift them; with
    ``gain == 1`` and ``bias_std == 0`` nothing else is drawn or multiplied, and the
    weights are bit for bit those of a network built without either.
    """
    for W in weights:
        w = init(rng, W.shape[0], W.shape[1])
        W[...] = w if gain == 1.0 else gain * w
    if bias_std > 0.0:
        for b in biases:
            b[...] = rng.normal(0.0, bias_std, b.shape)


def residual_blocks(depth: int, every: int | None) -> list[tuple[int, int]]:
    """Residual blocks as (first, stop) hidden-layer indices over layers 1 .. depth-1."""
    if every is None:
        return []
    return [(s, min(s + every, depth)) for s in range(1, depth, every)]


def flat_views(net: MLP, flat: NDArray[np.floating]) -> Stacked:
    """The dense-weight part of a theta-shaped flat array, stacked like ``net.W``."""
    return stacked_in(flat, 0, [W.shape for W in net.W.views])[0]
