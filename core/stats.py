"""Per-layer gradient, weight and activation statistics: the recorder.

For each record and each dense layer l (docs/contract.md § Statistics), with G = dLoss/dW_l
of shape (fan_in, fan_out), m = fan_in * fan_out, and a batch of B examples:

=================  ================================================================
grad_norm          ||G||_F
grad_mean          sum(G) / m
grad_std           sqrt(sum(G^2) / m - mean^2)   (population standard deviation)
grad_max_abs       max |G_ij|
backprop_norm      sqrt(sum_b ||dLoss/dz_b||^2 / B), z = x W + b: the RMS over the
                   batch of the per-example norm of the back-propagated signal
weight_norm        ||W||_F, before this step's update
update_ratio       ||delta W||_F / ||W||_F for the update made at this step
weight_change      ||W - W_0||_F / ||W_0||_F
activation_mean    mean of the layer's outputs phi(.) over batch and units
                   (the output layer: of the logits)
activation_std     their population standard deviation
saturation         share of outputs in the flat tails (sigmoid: < 0.01 or > 0.99;
                   tanh: |h| > 0.99; 0 for the rest and for the output layer)
dead_fraction      share of units whose output is 0 for every example (ReLU family)
derivative_rms     sqrt(mean over batch and units of phi'(u)^2), u the activation's input:
                   the factor chi multiplies by (hidden layers; NaN for the output layer)
example_grad_rms   sqrt(mean_b ||g_b||^2), g_b = a_b (B delta_b)^T the gradient of example
                   b's own loss (a_b the layer's input, delta_b = dLoss/dz_b), so
                   ||g_b|| = ||a_b|| B ||delta_b|| without forming g_b
grad_snr           ||G||^2 / ((B / (B - 1)) (mean_b ||g_b||^2 - ||G||^2)), G = mean_b g_b
                   = dLoss/dW: signal over the unbiased per-example variance (NaN at B = 1)
=================  ================================================================

The loss is the batch mean, so dLoss/dz carries a 1/B; ratios between layers do
not depend on it. Statistics of equal-shaped layers are computed together on
stacked arrays: a record costs a few kernel calls (core/stats_kernels.py) per run of
layers, each reading its arrays once, and sums in float64.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from .nn.activations import ActivationFunction
from .nn.network import MLP, Workspace, flat_views
from .result import BN_STATS
from .run_result import BatchNormArrays, Histograms
from .spec import LAYER_STATS
from .stats_kernels import apply_and_measure, moments, output_moments, sumsq, weight_sumsq

F64 = NDArray[np.float64]
#: log10 |dLoss/dW| histogram range; values outside (and zeros) land in the end bins.
HISTOGRAM_RANGE = (-16.0, 4.0)
#: Records that carry a histogram: this many, spread evenly, first and last included.
HISTOGRAM_RECORDS = 5


class Recorder:
    """Collects the statistics of ``net`` at the steps it is told to record.

    Call ``record(step, ws)`` after ``net.backward`` and before the update, then
    ``apply_update(delta)`` to apply the update and measure the weights with it
    (``record_weights()`` instead when no update follows). Each array a record needs is
    read once (core/stats_kernels.py).
    """

    def __init__(
        self,
        net: MLP,
        planned_steps: Sequence[int],
        histogram_bins: int,
    ) -> None:
        self.net = net
        self.act: ActivationFunction = net.act
        L = net.n_layers
        # One extra row: a diverged run records the step whose gradient was not finite.
        capacity = len(planned_steps) + 1
        self.values: dict[str, F64] = {k: np.full((capacity, L), np.nan) for k in LAYER_STATS}
        self.steps: list[int] = []
        self.planned = set(planned_steps)
        n_planned = len(planned_steps)
        picks = np.linspace(0, n_planned - 1, min(HISTOGRAM_RECORDS, n_planned))
        self.histogram_steps = {planned_steps[round(i)] for i in picks}
        self.edges = np.linspace(*HISTOGRAM_RANGE, histogram_bins + 1)
        self._hist_steps: list[int] = []
        self._counts = np.zeros((len(self.histogram_steps), L, histogram_bins), dtype=np.int64)

        self.W0 = net.theta[: net.n_weights].copy()
        self._W0 = flat_views(net, self.W0)
        self._w0_norm = np.sqrt(self._W0.per_layer(sumsq))
        self._grad_norm = np.zeros(L)
        #: The update buffer ``apply_update`` was last given, and its weights' views.
        self._delta: NDArray[np.floating] | None = None
        self._delta_w = self._W0
        self._sizes = np.array([W.size for W in net.W.views], dtype=np.float64)
        self._widths = np.array([W.shape[1] for W in net.W.views[:-1]], dtype=np.float64)
        #: Entries of each layer's output (batch x width), per batch size.
        self._output_sizes: dict[int, F64] = {}
        self.bn_values: dict[str, F64] | None = None
        if net.batch_norm:
            self.bn_values = {k: np.full((capacity, net.depth), np.nan) for k in BN_STATS}
        #: Records before this one hold NaN for every non-finite value (see ``_settle``).
        self._settled = 0

    @property
    def n(self) -> int:
        return len(self.steps)

    def wants(self, step: int) -> bool:
        return step in self.planned

    def record(self, step: int, ws: Workspace) -> None:
        """Statistics of the gradients just computed for ``step`` (before the update)."""
        net, r, v = self.net, len(self.steps), self.values
        self.steps.append(step)
        m = self._sizes
        total, grad2, peak = net.dW.per_layer(moments).T
        mean = total / m
        self._grad_norm = np.sqrt(grad2)
        v["grad_norm"][r] = self._grad_norm
        v["grad_mean"][r] = mean
        v["grad_std"][r] = np.sqrt(np.maximum(grad2 / m - mean * mean, 0.0))
        v["grad_max_abs"][r] = peak
        self._per_example(r, ws, self._activations(r, ws))
        if self.bn_values is not None:
            bn = self.bn_values
            bn["gamma_grad_norm"][r] = np.sqrt(net.dgamma.per_layer(sumsq))
            bn["beta_grad_norm"][r] = np.sqrt(net.dbeta.per_layer(sumsq))
            bn["gamma_norm"][r] = np.sqrt(net.gamma.per_layer(sumsq))
        if step in self.histogram_steps:
            self.histogram(step)

    def _activations(self, r: int, ws: Workspace) -> F64:
        """The output statistics of record r, from one read of each layer's outputs.

        Returns each hidden output's per-example sums of squares, (depth, batch): they are
        the next layer's input norms, which ``_per_example`` then need not read again.
        """
        v, H, logits = self.values, ws.H, ws.Z.views[-1]
        size = self._output_sizes.get(ws.batch)
        if size is None:
            size = np.array([h.size for h in H.views] + [logits.size], dtype=np.float64)
            self._output_sizes[ws.batch] = size
        act = self.act
        parts = [output_moments(stack, act.saturation, act.can_die) for _, stack in H.runs]
        hidden = np.concatenate([p[0] for p in parts])
        out = moments(logits.reshape(1, -1))[0]
        mean = np.append(hidden[:, 0], out[0]) / size
        v["activation_mean"][r] = mean
        squares = np.append(hidden[:, 1], out[1])
        v["activation_std"][r] = np.sqrt(np.maximum(squares / size - mean * mean, 0.0))
        # The output layer (the logits) neither saturates nor dies.
        v["saturation"][r, :-1] = hidden[:, 2] / size[:-1]
        v["saturation"][r, -1] = 0.0
        v["dead_fraction"][r, :-1] = hidden[:, 3] / self._widths
        v["dead_fraction"][r, -1] = 0.0
        return np.concatenate([p[1] for p in parts])

    def _per_example(self, r: int, ws: Workspace, output_rows: F64) -> None:
        """backprop_norm, derivative_rms, example_grad_rms and grad_snr of record r.

        Per-example norms come from row sums of squares of the (batch, width) arrays that
        forward and backward already hold: one pass per array, nothing per example.
        ``output_rows``: the hidden outputs' per-example sums of squares, (depth, batch).
        """
        net, v, B = self.net, self.values, ws.batch
        # One pass over dZ gives every example's |delta_b|^2, (layers, batch).
        delta2 = np.concatenate(
            [sumsq(stack.reshape(-1, stack.shape[-1])).reshape(-1, B) for _, stack in ws.dZ.runs]
        )
        v["backprop_norm"][r] = np.sqrt(delta2.sum(axis=1) / B)
        # Layer l's input is h_{l-1} unless a residual block ends at l - 1 (then the sum S).
        input2 = np.empty_like(delta2)
        for l, d in enumerate(net.dense):
            x = d.x
            input2[l] = output_rows[l - 1] if l and x is ws.H.views[l - 1] else sumsq(x)
        per_example = input2 * delta2 * float(B * B)  # ||g_b||^2, (layers, batch)
        mean_sq = per_example.mean(axis=1)
        v["example_grad_rms"][r] = np.sqrt(mean_sq)
        if B > 1:
            signal = self._grad_norm**2
            with np.errstate(divide="ignore", invalid="ignore"):
                v["grad_snr"][r] = signal / ((B / (B - 1)) * (mean_sq - signal))
        else:
            v["grad_snr"][r] = np.nan
        v["derivative_rms"][r] = self._derivative_rms(ws)

    def _derivative_rms(self, ws: Workspace) -> F64:
        """sqrt(mean phi'(u)^2) per hidden layer, NaN for the output layer: (layers,)."""
        out = np.full(self.net.n_layers, np.nan)
        for l, u in enumerate(ws.U):
            # After backward (the record's moment) the scratch pair of u's shape is free.
            tmp, d = ws.tmp[u.shape]
            self.act.slope(u, ws.H.views[l], d, tmp)
            out[l] = math.sqrt(float(sumsq(d.reshape(1, -1))[0]) / d.size)
        return out

    def apply_update(self, delta: NDArray[np.floating]) -> None:
        """``net.theta += delta`` after the last record, measuring the weights on the way.

        Records ``weight_norm`` and ``weight_change`` (of W before the update) and
        ``update_ratio`` (||delta W|| / ||W||) from the update's own pass over the weights.
        """
        net, r, theta = self.net, len(self.steps) - 1, self.net.theta
        if delta is not self._delta:  # the optimiser writes every step into one buffer
            self._delta, self._delta_w = delta, flat_views(net, delta)
        measured = np.empty((net.n_layers, 3))
        for (layers, w), (_, d), (_, w0) in zip(
            net.W.runs, self._delta_w.runs, self._W0.runs, strict=True
        ):
            n = w.shape[0]
            measured[layers] = apply_and_measure(
                w.reshape(n, -1), d.reshape(n, -1), w0.reshape(n, -1)
            )
        rest = slice(net.n_weights, None)
        theta[rest] += delta[rest]
        weight2, change2, update2 = measured.T
        self._weights(r, weight2, change2)
        with np.errstate(divide="ignore", invalid="ignore"):
            self.values["update_ratio"][r] = np.sqrt(update2 / weight2)

    def record_weights(self) -> None:
        """``weight_norm`` and ``weight_change`` of the last record when no update follows
        (a step whose gradient was not finite); its ``update_ratio`` stays NaN."""
        net, n = self.net, self.net.n_layers
        weight2, change2 = np.empty(n), np.empty(n)
        for (layers, w), (_, w0) in zip(net.W.runs, self._W0.runs, strict=True):
            k = w.shape[0]
            weight2[layers], change2[layers] = weight_sumsq(w.reshape(k, -1), w0.reshape(k, -1))
        self._weights(len(self.steps) - 1, weight2, change2)

    def _weights(self, r: int, weight2: F64, change2: F64) -> None:
        self.values["weight_norm"][r] = np.sqrt(weight2)
        self.values["weight_change"][r] = np.sqrt(change2) / self._w0_norm

    def histogram(self, step: int) -> None:
        lo, hi = HISTOGRAM_RANGE
        counts = self._counts[len(self._hist_steps)]
        with np.errstate(divide="ignore"):
            for layer, G in enumerate(self.net.dW.views):
                logs = np.log10(np.abs(G, dtype=np.float64))
                np.clip(logs, lo, hi, out=logs)
                logs[np.isnan(logs)] = hi  # a NaN gradient: count it at the top
                counts[layer] = np.histogram(logs, bins=self.edges)[0]
        self._hist_steps.append(step)

    # -- what was recorded, as arrays (views of the buffers: rows never change once written)

    def _settle(self) -> None:
        """Turn the infinities of the records made since the last call into NaN.

        A result says "not finite" with NaN only (JSON's null); done once per record
        when it is read, off the statistics pass. Called between steps, when every
        record so far is complete (its update ratio included).
        """
        start, end = self._settled, self.n
        if end > start:
            tables = [*self.values.values(), *(self.bn_values or {}).values()]
            for a in tables:
                block = a[start:end]
                block[np.isinf(block)] = np.nan
            self._settled = end

    def stats(self) -> dict[str, F64]:
        """name -> (records, layers), NaN where a value was not finite."""
        self._settle()
        return {k: a[: self.n] for k, a in self.values.items()}

    def histograms(self) -> Histograms:
        return Histograms(
            steps=np.array(self._hist_steps, dtype=np.int64),
            bin_edges_log10=self.edges,
            counts=self._counts[: len(self._hist_steps)],
        )

    def batch_norm(self) -> BatchNormArrays | None:
        if self.bn_values is None:
            return None
        self._settle()
        bn, n = self.bn_values, self.n
        return BatchNormArrays(
            layers=[f"batch_norm_{l}" for l in range(self.net.depth)],
            gamma_grad_norm=bn["gamma_grad_norm"][:n],
            beta_grad_norm=bn["beta_grad_norm"][:n],
            gamma_norm=bn["gamma_norm"][:n],
        )


def profile_summary(values: Sequence[float | None] | F64) -> tuple[float | None, float | None]:
    """log10(first / last) and 10**(-slope) of the least-squares line of log10 values.

    ``values`` is a per-layer norm over layers 0 .. depth-1 (input first), (n,). A
    slope above zero means the norm grows toward the output, so the decay factor per
    layer toward the input is below 1. None where a value is missing or not positive.
    """
    a = np.asarray(values, dtype=np.float64)
    if a.size == 0 or not np.all(np.isfinite(a)) or np.any(a <= 0.0):
        return None, None
    logs = np.log10(a)
    ratio = float(logs[0] - logs[-1])
    if a.size < 2:
        return ratio, None
    slope = float(np.polyfit(np.arange(a.size, dtype=np.float64), logs, 1)[0])
    return ratio, float(10.0 ** (-slope))
