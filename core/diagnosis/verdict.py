"""A verdict on a run's gradients, the evidence for it in numbers, and remedies.

The verdict is the first of these that holds (thresholds are the constants
below, explained in docs/insight.md):

1. ``diverged``: a loss or gradient became NaN or infinite.
2. ``exploding``: the gradient at the input is over 10^EXPLODING_RATIO_LOG10 times
   the last hidden layer's (weight or back-propagated gradient, at step 0), or
   the total gradient norm grew 10^GRADIENT_GROWTH_LOG10-fold during training,
   or the median update is larger than EXPLODING_UPDATE_RATIO of the weights.
3. ``vanishing``: either ratio below -VANISHING_RATIO_LOG10 at step 0, or the
   first layer's median update ratio is below STALLED_UPDATE_RATIO while the last
   layers' is above LEARNING_UPDATE_RATIO (the first layers have stopped learning).
4. ``saturated``: at some record, on average over the hidden layers, more than
   SATURATED_FRACTION of the units sit in their activation's flat tails.
5. ``dead_units``: at the last record more than DEAD_FRACTION of the hidden
   units (on average), or DEAD_LAYER_FRACTION of any one layer, output 0 for the
   whole batch.
6. ``healthy``: none of the above.

Both the weight-gradient and the back-propagated profile are read, since weight
gradients can stay level while the back-propagated signal vanishes.
"""

from __future__ import annotations

import math

import numpy as np

from core.diagnosis.measures import Measures, measure
from core.diagnosis.remedies import rank
from core.result import Diagnosis, ResultDict, Theory, Verdict
from core.run_result import RunResult, as_run_result
from core.spec import ExperimentSpec
from core.theory import predict

#: |log10(input-layer gradient / last-hidden-layer gradient)| beyond which it is a problem.
VANISHING_RATIO_LOG10 = 2.0
EXPLODING_RATIO_LOG10 = 2.0
#: Growth of the total gradient norm during training, log10, that counts as exploding.
GRADIENT_GROWTH_LOG10 = 3.0
#: Median ||dW|| / ||W|| above this: each step rewrites the weights.
EXPLODING_UPDATE_RATIO = 1.0
#: The first layer's median update ratio below this while the last layers' exceeds
#: LEARNING_UPDATE_RATIO: the first layers have stalled (the usual healthy value is 1e-3).
STALLED_UPDATE_RATIO = 1e-5
LEARNING_UPDATE_RATIO = 1e-4
#: Mean share of hidden units in the flat tails, at the worst record.
SATURATED_FRACTION = 0.5
#: Mean share of dead hidden units at the last record, or the share of one layer.
DEAD_FRACTION = 0.5
DEAD_LAYER_FRACTION = 0.95
#: Training minus validation accuracy at the end that counts as over-fitting.
OVERFIT_GAP = 0.1
#: Accuracy within this of chance counts as having learned nothing.
CHANCE_MARGIN = 0.05


def _pow(x: float) -> str:
    # Round first so that -0.04 reads 10^+0.0, not 10^-0.0.
    return f"10^{round(x, 1) + 0.0:+.1f}"


def _stalled(m: Measures) -> tuple[float, float] | None:
    """(first layer's, last layers' best) median update ratio when the first have stalled."""
    u = m.update_median
    if u.size < 2 or not np.isfinite(u[0]):
        return None
    last = float(np.nanmax(u[-2:])) if np.isfinite(u[-2:]).any() else math.nan
    if u[0] < STALLED_UPDATE_RATIO and last > LEARNING_UPDATE_RATIO:
        return float(u[0]), last
    return None


def _verdict(m: Measures) -> Verdict:
    ratios = [r for r in (m.gradient_ratio, m.backprop_ratio) if r is not None]
    if m.diverged_at is not None:
        return "diverged"
    if (
        any(r > EXPLODING_RATIO_LOG10 for r in ratios)
        or (m.gradient_growth_log10 or 0.0) > GRADIENT_GROWTH_LOG10
        or bool(np.nanmedian(m.update_median) > EXPLODING_UPDATE_RATIO)
    ):
        return "exploding"
    if any(r < -VANISHING_RATIO_LOG10 for r in ratios) or _stalled(m):
        return "vanishing"
    if m.saturation_peak > SATURATED_FRACTION:
        return "saturated"
    if m.dead_mean > DEAD_FRACTION or bool((m.dead_layers > DEAD_LAYER_FRACTION).any()):
        return "dead_units"
    return "healthy"


def _evidence(m: Measures, spec: ExperimentSpec | None, p: Theory | None) -> tuple[list[str], bool]:
    """Sentences with the numbers, and whether training over-fits."""
    ev: list[str] = []
    last = m.depth - 1
    if m.diverged_at is not None:
        ev.append(
            f"The loss or a gradient became NaN or infinite at step {m.diverged_at}; "
            "the run stopped there and kept the records before it."
        )
    if m.backprop_ratio is not None:
        per = f" (a factor {m.backprop_decay:.3g} per layer)" if m.backprop_decay else ""
        ev.append(
            f"At step 0 the back-propagated gradient at layer 0 is {_pow(m.backprop_ratio)} "
            f"times that at layer {last}{per}."
        )
    if m.gradient_ratio is not None:
        per = f" (a factor {m.decay:.3g} per layer)" if m.decay else ""
        ev.append(
            f"The weight gradient of layer 0 is {_pow(m.gradient_ratio)} times that of "
            f"layer {last}{per}."
        )
    if spec is not None and p is not None:
        predicted = p["backprop_ratio_log10"] if p["applies"] else p.get("batch_norm_ratio_log10")
        if predicted is not None and not spec.model.residual:
            how = (
                f"chi_1 = {p['chi_1']:.3g}, a factor {p['factor_per_layer']:.3g} per layer"
                if p["applies"] and p["chi_1"] is not None
                else f"batch-norm rate {p['batch_norm_rate']:.4g}"
            )
            measured = "" if m.backprop_ratio is None else f"; measured {_pow(m.backprop_ratio)}"
            ev.append(
                f"Mean-field theory predicts a back-propagated ratio of {_pow(predicted)} "
                f"for this network ({how}){measured}."
            )
    if (g := m.gradient_growth_log10) is not None and g > 1.0:
        ev.append(f"The total gradient norm grew {_pow(g)}-fold during training.")
    u = m.update_median
    if u.size >= 2 and np.isfinite(u[0]) and np.isfinite(u[-1]):
        tail = " (the usual healthy value is about 1e-3)"
        ev.append(
            f"Layer 0 moves {u[0]:.2g} of its norm per step (median update ratio), "
            f"the output layer {u[-1]:.2g}{tail}."
        )
        if (s := _stalled(m)) is not None:
            ev.append(
                f"Layer 0's updates ({s[0]:.2g}) are below {STALLED_UPDATE_RATIO:g} while "
                f"the last layers' ({s[1]:.2g}) are above {LEARNING_UPDATE_RATIO:g}: "
                "the first layers have stopped learning."
            )
        if np.nanmedian(u) > EXPLODING_UPDATE_RATIO:
            ev.append(
                f"The median update is {np.nanmedian(u):.3g} times the weights' norm: "
                "each step rewrites the weights."
            )
    wc = m.weight_change_last
    if wc.size >= 2 and np.isfinite(wc[0]) and np.isfinite(wc[last]):
        ev.append(
            f"By the last record layer 0 has moved {wc[0]:.2g} of its initial norm, "
            f"layer {last} {wc[last]:.2g}."
        )
    if m.saturation_peak > 0.05 and m.saturation_worst_record is not None:
        worst = int(np.nanargmax(m.saturation_layers))
        step = m.steps[m.saturation_worst_record]
        ev.append(
            f"At step {step}, {m.saturation_peak:.0%} of the hidden units sit in the "
            f"flat tails on average (layer {worst}: {m.saturation_layers[worst]:.0%})."
        )
    if m.dead_mean > 0.05 or (m.dead_layers > DEAD_LAYER_FRACTION).any():
        worst = int(np.argmax(m.dead_layers))
        ev.append(
            f"At the last record {m.dead_mean:.0%} of the hidden units output 0 for the "
            f"whole batch (layer {worst}: {m.dead_layers[worst]:.0%})."
        )
    overfit = False
    if m.train_accuracy:
        tr = m.train_accuracy[-1]
        if tr < m.chance + CHANCE_MARGIN:
            loss = m.train_loss[-1] if m.train_loss else math.nan
            ev.append(
                f"After {m.epochs} epochs the training accuracy is {tr:.2f} against "
                f"{m.chance:.2f} by chance (loss {loss:.3g}): the network has learned "
                "almost nothing."
            )
        if m.val_accuracy:
            gap = tr - m.val_accuracy[-1]
            overfit = gap > OVERFIT_GAP
            if overfit:
                ev.append(
                    f"Training accuracy {tr:.2f} against validation "
                    f"{m.val_accuracy[-1]:.2f}: a gap of {gap:.2f}, evidence of over-fitting."
                )
        if len(m.train_loss) >= 2 and m.train_loss[-1] > 1.5 * m.train_loss[0]:
            ev.append(
                f"The training loss rose from {m.train_loss[0]:.3g} to {m.train_loss[-1]:.3g}."
            )
    return ev, overfit


def diagnose(
    result: ResultDict | RunResult,
    spec: ExperimentSpec | None = None,
    theory: Theory | None = None,
) -> Diagnosis:
    """Read ``result`` (and, when given, its spec) into a verdict, evidence and remedies.

    Without the spec, remedies cannot skip what the spec already has nor quote
    the learning rate or the theory; pass it whenever it is at hand. ``theory`` is
    ``core.theory.predict(spec)``; without it the result's own prediction is used,
    and only failing that is it computed from the spec.
    """
    run = as_run_result(result)
    if theory is None:
        theory = run.theory
    if theory is None and spec is not None:
        theory = predict(spec)
    m = measure(run)
    verdict = _verdict(m)
    evidence, overfit = _evidence(m, spec, theory)
    if verdict == "healthy":
        evidence.insert(
            0,
            f"No gradient problem found: at step 0 the first layer's gradients are within a "
            f"factor {10**VANISHING_RATIO_LOG10:g} of the last hidden layer's, and nothing "
            "diverged, saturated or died.",
        )
    remedies = rank(verdict, spec, overfit, theory)
    return {"verdict": verdict, "evidence": evidence, "remedies": remedies}
