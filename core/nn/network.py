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
from dataclasses import dataclass, field

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
    Centred : batch norm's centred inputs z - mu (hidden layers; empty without batch norm).
    H : activation outputs h_l (hidden layers); dH : dLoss/d(layer input stream).
    S : residual block outputs, at the index of each block's last layer.
    """

    batch: int
    ones: Array
    Z: Stacked
    dZ: Stacked
    U: list[Array]
    Centred: list[Array]
    H: Stacked
    dH: list[Array]
    S: dict[int, Array]
    tmp: dict[Shape, tuple[Array, Array]]
    #: Per hidden layer, what forward needs, resolved once (see ``MLP._plan``).
    fwd: list[_Forward] = field(default_factory=list)
    #: Per hidden layer, what backward needs.
    bwd: list[_Backward] = field(default_factory=list)


@dataclass(frozen=True)
class _Forward:
    """Hidden layer l's buffers: dense output, batch norm (z - mu, output), h; a block end's
    identity input and output. Looked up once per batch size, not once per layer and step."""

    dense: Dense
    z: Array
    bn: BatchNorm | None
    centred: Array | None
    u: Array
    h: Array
    #: At a block's end: (the stream that entered the block, its output buffer S_l).
    block: tuple[Array, Array] | None


@dataclass(frozen=True)
class _Backward:
    """Hidden layer l's backward buffers: u and h from forward, dz, scratch, du (batch norm),
    the gradient for the layer below (None at layer 0) and, at a block's first layer, the
    gradient of the block's output (the identity path's share)."""

    dense: Dense
    u: Array
    h: Array
    dz: Array
    tmp: Array
    du: Array
    bn: BatchNorm | None
    g_in: Array | None
    identity: Array | None


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
        Centred = [np.empty(s, dt) for s in hidden] if self.batch_norm else []
        U = [np.empty(s, dt) for s in hidden] if self.batch_norm else Z.views[:-1]
        tmp: dict[Shape, tuple[Array, Array]] = {
            s: (np.empty(s, dt), np.empty(s, dt)) for s in set(hidden)
        }
        ws = Workspace(
            batch=batch,
            ones=np.ones(batch, dt),
            Z=Z,
            dZ=stacked_empty(outs, dt),
            U=U,
            Centred=Centred,
            H=stacked_empty(hidden, dt),
            dH=[np.empty(s, dt) for s in hidden],
            S={end: np.empty(hidden[end], dt) for end in self.block_end},
            tmp=tmp,
        )
        self._plan(ws)
        return ws

    def _plan(self, ws: Workspace) -> None:
        """Resolve each hidden layer's buffers once, so the step's loops do no lookups."""
        for l in range(self.depth):
            bn = self.bn[l] if self.batch_norm else None
            end = l in self.block_end
            ws.fwd.append(
                _Forward(
                    dense=self.dense[l],
                    z=ws.Z.views[l],
                    bn=bn,
                    centred=ws.Centred[l] if bn is not None else None,
                    u=ws.U[l],
                    h=ws.H.views[l],
                    # Blocks start at layer 1, so what enters one is a workspace buffer.
                    block=(self._stream_after(self.block_end[l] - 1, ws), ws.S[l]) if end else None,
                )
            )
            tmp, du = ws.tmp[ws.dZ.views[l].shape]
            ws.bwd.append(
                _Backward(
                    dense=self.dense[l],
                    u=ws.U[l],
                    h=ws.H.views[l],
                    dz=ws.dZ.views[l],
                    tmp=tmp,
                    du=du,
                    bn=bn,
                    g_in=ws.dH[l - 1] if l > 0 else None,
                    identity=ws.dH[self.block_start[l]] if l in self.block_start else None,
                )
            )

    def forward(self, x: Array, ws: Workspace, *, training: bool) -> Array:
        """Logits for x.  x: (batch, n_in) -> (batch, n_out), a view into ``ws``."""
        stream = x
        act, ones = self.act.forward, ws.ones
        for f in ws.fwd:
            z = f.dense.forward(stream, f.z)
            if f.bn is not None:
                assert f.centred is not None
                f.bn.forward(z, ones, f.centred, f.u, training=training)
            h = act(f.u, f.h)
            stream = h if f.block is None else np.add(f.block[0], h, out=f.block[1])
        return self.dense[-1].forward(stream, ws.Z.views[-1])

    def _stream_after(self, l: int, ws: Workspace) -> Array:
        """The input to hidden layer l + 1 (l >= 0): h_l, or S_l where a block ends at l."""
        return ws.S[l] if l in self.block_end else ws.H.views[l]

    def backward(self, ws: Workspace) -> None:
        """Backpropagate ``ws.dZ.views[-1]`` (dLoss/dlogits) through every layer.

        Fills ``grad`` (all parameters) and ``ws.dZ`` (dLoss/d pre-activation, per layer).
        """
        top = self.depth
        g = self.dense[top].backward(ws.dZ.views[top], ws.ones, ws.dH[top - 1])
        act, ones = self.act.backward, ws.ones
        for b in reversed(ws.bwd):
            # g = dLoss/d(stream after layer l); through a block end it is also dLoss/dh_l.
            assert g is not None
            if b.bn is not None:
                act(b.u, b.h, g, b.du, b.tmp)
                b.bn.backward(b.du, ones, b.tmp, b.dz)
            else:
                act(b.u, b.h, g, b.dz, b.tmp)
            g = b.dense.backward(b.dz, ones, b.g_in)
            if b.identity is not None:
                # The identity path carries the block output's gradient straight to its input.
                assert g is not None
                g += b.identity


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
