"""Run an experiment: build, train, record, report progress, honour a stop request.

Randomness comes from three independent streams spawned from the spec's seed
(data, initial weights, shuffling), so the same spec gives the same numbers bit
for bit on the same machine, and changing e.g. the initialiser leaves the data
and the batch order as they were.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from .data import Split, make_dataset
from .diagnosis import diagnose
from .nn import INITIALISERS, MLP, make_activation, make_optimizer, softmax_cross_entropy
from .nn.optim import clip_global_norm
from .result import LayerInfo, Progress, ResultDict, Summary
from .run_result import MetricArrays, RunResult, float32_shortest
from .seeding import rngs
from .spec import ExperimentSpec
from .stats import Recorder, profile_summary
from .theory import predict

#: on_progress(progress, partial): ``partial()`` builds the JSON result so far (it is
#: called to send the result out of the process, so it hands over the JSON form).
ProgressCallback = Callable[[Progress, Callable[[], ResultDict]], None]
StopCheck = Callable[[], bool]


def build_network(spec: ExperimentSpec, rng: np.random.Generator) -> MLP:
    """The untrained network of ``spec``, initial weights drawn from ``rng``."""
    m, d = spec.model, spec.data
    return MLP(
        [d.features, *m.widths, d.classes],
        make_activation(m.activation, m.negative_slope),
        INITIALISERS[m.init],
        rng,
        batch_norm=m.batch_norm,
        residual_every=m.residual_every if m.residual else None,
        dtype=np.dtype(m.dtype),
        init_gain=m.init_gain,
        bias_std=m.bias_std,
    )


def train(
    spec: ExperimentSpec,
    *,
    on_progress: ProgressCallback | None = None,
    should_stop: StopCheck | None = None,
    progress_every_s: float = 0.5,
) -> RunResult:
    """Train ``spec``'s network on its data, recording per-layer statistics, as arrays.

    on_progress(progress, partial) is called at most every ``progress_every_s``
    seconds and once at the end; ``partial()`` builds the JSON result so far.
    should_stop() is checked after every step; True ends the run with
    ``summary.stopped``. A non-finite loss or gradient ends the run with
    ``summary.diverged_at_step``: the step is recorded, no update is applied.
    The result carries the diagnosis and the mean-field prediction.
    """
    return Run(spec).execute(on_progress, should_stop, progress_every_s)


def run_experiment(
    spec: ExperimentSpec,
    *,
    on_progress: ProgressCallback | None = None,
    should_stop: StopCheck | None = None,
    progress_every_s: float = 0.5,
) -> ResultDict:
    """:func:`train`, its result in the JSON form (docs/contract.md § Result)."""
    return train(
        spec, on_progress=on_progress, should_stop=should_stop, progress_every_s=progress_every_s
    ).to_json()


class Run:
    """One experiment's state while it trains; ``execute`` runs it to the end."""

    def __init__(self, spec: ExperimentSpec) -> None:
        self.spec = spec
        data_rng, init_rng, self.shuffle_rng = rngs(spec.seed)
        dtype = np.dtype(spec.model.dtype)
        self.data: Split = make_dataset(spec.data, data_rng, dtype)
        self.net = build_network(spec, init_rng)
        t = spec.training
        self.optimizer = make_optimizer(
            t.optimizer,
            lr=t.learning_rate,
            size=self.net.theta.size,
            dtype=dtype,
            momentum=t.momentum,
            beta2=t.beta2,
            eps=t.eps,
            weight_decay=t.weight_decay,
            n_weights=self.net.n_weights,
        )
        self.delta = np.empty_like(self.net.theta)
        self.recorder = Recorder(self.net, spec.record_steps, spec.recording.histogram_bins)
        batch = min(t.batch_size, self.data.x_train.shape[0])
        self.x_batch = np.empty((batch, self.data.x_train.shape[1]), dtype=dtype)
        self.y_batch = np.empty(batch, dtype=self.data.y_train.dtype)
        #: Per completed epoch: (train loss, val loss, train accuracy, val accuracy).
        self.curves: list[tuple[float, float, float, float]] = []
        self.step = 0
        self.epoch = 0
        self.diverged_at: int | None = None
        self.stopped = False
        self.final_val: tuple[float, float] | None = None
        self.on_progress: ProgressCallback | None = None
        self.should_stop: StopCheck | None = None
        self.progress_every_s = 0.5
        self.next_report = 0.0
        self.epoch_train = (math.nan, math.nan)

    def execute(
        self,
        on_progress: ProgressCallback | None,
        should_stop: StopCheck | None,
        progress_every_s: float,
    ) -> RunResult:
        self.on_progress, self.should_stop = on_progress, should_stop
        self.progress_every_s = progress_every_s
        self.next_report = time.monotonic() + progress_every_s
        # A diverging network overflows on purpose: the NaN is the result, not a warning.
        with np.errstate(all="ignore"):
            for epoch in range(self.spec.training.epochs):
                self.epoch = epoch + 1
                if not self._train_epoch():
                    break
                self._end_epoch()
            self.final_val = self._evaluate(self.data.x_val, self.data.y_val)
        prediction = predict(self.spec)
        result = self.result()
        result = dataclasses.replace(
            result, theory=prediction, diagnosis=diagnose(result, self.spec, prediction)
        )
        if on_progress is not None:
            on_progress(self.progress(), result.to_json)
        return result

    def progress(self) -> Progress:
        total = self.spec.total_steps
        return Progress(self.step, total, self.epoch, self.step / total)

    def _train_epoch(self) -> bool:
        """One pass over the shuffled training set; False when the run must end."""
        data = self.data
        n = data.x_train.shape[0]
        size = self.x_batch.shape[0]
        order = self.shuffle_rng.permutation(n)
        loss_sum, correct = 0.0, 0
        for start in range(0, n, size):
            idx = order[start : start + size]
            b = idx.size
            x = np.take(data.x_train, idx, axis=0, out=self.x_batch[:b])
            y = np.take(data.y_train, idx, out=self.y_batch[:b])
            loss, right, finite = self.train_step(x, y)
            if not finite:
                return False
            loss_sum += loss * b
            correct += right
            if self.on_progress is not None and time.monotonic() >= self.next_report:
                self.next_report = time.monotonic() + self.progress_every_s
                self.on_progress(self.progress(), self._partial_json)
            stop = self.should_stop
            if stop is not None and self.step < self.spec.total_steps and stop():
                self.stopped = True
                return False
        self.epoch_train = (loss_sum / n, correct / n)
        return True

    def train_step(
        self, x: NDArray[np.floating], y: NDArray[np.integer]
    ) -> tuple[float, int, bool]:
        """Forward, backward, record if due, update: (loss, correct, finite).

        The hot path. x: (batch, features); y: (batch,). A non-finite loss or
        gradient is recorded and no update is applied.
        """
        net, rec = self.net, self.recorder
        ws = net.workspace(x.shape[0])
        logits = net.forward(x, ws, training=True)
        loss, right = softmax_cross_entropy(logits, y, ws.dZ.views[-1])
        net.backward(ws)
        step = self.step
        # One fast pass: the sum of squares is NaN or infinite iff an entry is, or it overflows.
        sumsq = float(np.dot(net.grad, net.grad))
        finite = math.isfinite(loss) and (math.isfinite(sumsq) or bool(np.isfinite(net.grad).all()))
        recording = rec.wants(step) or not finite
        if recording:
            rec.record(step, ws)
        if not finite:
            rec.record_weights()
            self.diverged_at = step
            return loss, right, False
        clip = self.spec.training.clip_grad_norm
        if clip is not None:
            clip_global_norm(net.grad, clip, sumsq)
        self.optimizer.update(net.theta, net.grad, out=self.delta)
        if recording:
            rec.apply_update(self.delta)
        else:
            net.theta += self.delta
        self.step += 1
        return loss, right, True

    def _end_epoch(self) -> None:
        val_loss, val_acc = self._evaluate(self.data.x_val, self.data.y_val)
        train_loss, train_acc = self.epoch_train
        self.curves.append((train_loss, val_loss, train_acc, val_acc))

    def _evaluate(self, x: NDArray[np.floating], y: NDArray[np.integer]) -> tuple[float, float]:
        """Mean loss and accuracy in evaluation mode (batch norm uses running statistics).

        Runs in chunks through the training workspace: evaluation is per example, so
        the last chunk is padded rather than given buffers of its own.
        """
        size = self.x_batch.shape[0]
        ws = self.net.workspace(size)
        loss_sum, correct = 0.0, 0
        for start in range(0, x.shape[0], size):
            b = min(size, x.shape[0] - start)
            self.x_batch[:b] = x[start : start + b]
            self.x_batch[b:] = 0.0
            logits = self.net.forward(self.x_batch, ws, training=False)
            loss, right = softmax_cross_entropy(logits[:b], y[start : start + b])
            loss_sum += loss * b
            correct += right
        return loss_sum / x.shape[0], correct / x.shape[0]

    def _partial_json(self) -> ResultDict:
        return self.result().to_json()

    def result(self) -> RunResult:
        """The result so far (the whole result, bar diagnosis and theory, once trained)."""
        rec, net, spec = self.recorder, self.net, self.spec
        stats = rec.stats()
        depth = net.depth
        first = rec.n > 0

        def profile(name: str) -> NDArray[np.float64]:
            # From the values as the result publishes them (float32 runs: at float32).
            row = stats[name][0, :depth] if first else np.zeros(0)
            return float32_shortest(row) if spec.model.dtype == "float32" else row

        g_ratio, g_decay = profile_summary(profile("grad_norm"))
        b_ratio, b_decay = profile_summary(profile("backprop_norm"))
        curves = np.array(self.curves, dtype=np.float64).reshape(len(self.curves), 4)
        curves[np.isinf(curves)] = np.nan  # a result says "not finite" with NaN only
        metrics = MetricArrays(
            epoch=np.arange(1, len(self.curves) + 1, dtype=np.int64),
            train_loss=curves[:, 0],
            val_loss=curves[:, 1],
            train_accuracy=curves[:, 2],
            val_accuracy=curves[:, 3],
        )
        last_train = self.curves[-1][2] if self.curves else None
        last_val = self.curves[-1][3] if self.curves else None
        summary: Summary = {
            "gradient_ratio_log10": g_ratio,
            "backprop_ratio_log10": b_ratio,
            "decay_per_layer": g_decay,
            "backprop_decay_per_layer": b_decay,
            "final_train_accuracy": last_train,
            "final_val_accuracy": self.final_val[1] if self.final_val else last_val,
            "diverged_at_step": self.diverged_at,
            "steps_run": self.step,
            "total_steps": spec.total_steps,
            "stopped": self.stopped,
        }
        layers: list[LayerInfo] = [
            {"index": i, "name": f"dense_{i}", "fan_in": d.fan_in, "fan_out": d.fan_out}
            for i, d in enumerate(net.dense)
        ]
        return RunResult(
            layers=layers,
            steps=np.array(rec.steps, dtype=np.int64),
            stats=stats,
            grad_histogram=rec.histograms(),
            metrics=metrics,
            summary=summary,
            batch_norm=rec.batch_norm(),
            dtype=spec.model.dtype,
        ).published()
