"""A verdict on a run's gradients, its severity, the evidence in numbers, and remedies.

The verdict is the first of these that holds (thresholds are the constants
below, each explained in docs/insight.md § Diagnosis):

1. ``diverged``: a loss or gradient became NaN or infinite.
2. ``exploding``: at step 0 the gradient at the input is over 10^EXPLODING_RATIO_LOG10
   times the last hidden layer's (back-propagated or weight gradient), or during
   training it blew up: the total gradient norm grew 10^GRADIENT_GROWTH_LOG10-fold
   *and* some record's median update exceeded EXPLODING_STEP_RATIO of the weights
   (growth from a vanished start keeps the steps small: that is recovery), or the
   median update exceeds EXPLODING_UPDATE_RATIO. A run that grows toward the input
   at step 0 only, and learns well (LEARNED_FRACTION), is healthy with a note:
   batch norm does that at initialisation (Yang et al. 2019) and trains fine.
3. ``vanishing``: either ratio below -VANISHING_RATIO_LOG10 at step 0, or the
   first layer's median update ratio is below STALLED_UPDATE_RATIO while the last
   layers' is above LEARNING_UPDATE_RATIO (the first layers have stopped learning).
4. ``saturated``: at some record, on average over the hidden layers, more than
   SATURATED_FRACTION of the units sit in their activation's flat tails.
5. ``dead_units``: at the last record more than DEAD_FRACTION of the hidden
   units (on average), or DEAD_LAYER_FRACTION of any one layer, output 0 for the
   whole batch.
6. ``not_learning``: no gradient pathology, but the validation accuracy is within
   CHANCE_MARGIN of the way from chance to perfect: the schedule is to blame.
7. ``healthy``: none of the above.

Severity is ``severe`` beyond SEVERE_RATIO_LOG10 (or SEVERE_FRACTION of units), or
when the run ended near chance; ``mild`` otherwise; None when healthy.
"""

from __future__ import annotations

import math

import numpy as np

from core.diagnosis.measures import Measures, measure
from core.diagnosis.remedies import rank
from core.result import Diagnosis, ResultDict, Severity, Theory, Verdict
from core.run_result import RunResult, as_run_result
from core.spec import ExperimentSpec
from core.theory import predict

#: |log10(input-layer gradient / last-hidden-layer gradient)| beyond which it is a problem.
VANISHING_RATIO_LOG10 = 2.0
EXPLODING_RATIO_LOG10 = 2.0
#: Beyond this the problem is severe: the first layer learns 10^4 times slower (or faster).
SEVERE_RATIO_LOG10 = 4.0
#: Growth of the total gradient norm during training, log10, that may be an explosion...
GRADIENT_GROWTH_LOG10 = 3.0
#: ...when some record's median update ratio also exceeds this (100x the healthy 1e-3).
EXPLODING_STEP_RATIO = 0.1
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
#: A share of saturated or dead units beyond this is severe.
SEVERE_FRACTION = 0.9
#: Training minus validation accuracy at the end that counts as over-fitting.
OVERFIT_GAP = 0.1
#: Validation accuracy below chance + CHANCE_MARGIN (1 - chance) is "near chance".
CHANCE_MARGIN = 0.1
#: Validation accuracy above chance + LEARNED_FRACTION (1 - chance) is "learns well".
LEARNED_FRACTION = 0.5
#: A final training loss above this share of the first epoch's: the loss did not move.
FLAT_LOSS = 0.95


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


def _near_chance(m: Measures) -> bool:
    val = m.val
    return val is not None and val < m.chance + CHANCE_MARGIN * (1.0 - m.chance)


def _learns_well(m: Measures) -> bool:
    val = m.val
    return val is not None and val >= m.chance + LEARNED_FRACTION * (1.0 - m.chance)


def _ratios(m: Measures) -> list[float]:
    return [r for r in (m.gradient_ratio, m.backprop_ratio) if r is not None]


def _blows_up_in_training(m: Measures) -> bool:
    """The gradient grew and the steps grew with it, or every step rewrites the weights."""
    grew = (m.gradient_growth_log10 or 0.0) > GRADIENT_GROWTH_LOG10
    big_steps = bool(m.update_peak > EXPLODING_STEP_RATIO)
    return (grew and big_steps) or bool(np.nanmedian(m.update_median) > EXPLODING_UPDATE_RATIO)


def _grows_at_init(m: Measures) -> bool:
    return any(r > EXPLODING_RATIO_LOG10 for r in _ratios(m))


def _verdict(m: Measures) -> tuple[Verdict, Severity | None]:
    ratios = _ratios(m)
    worst = max((abs(r) for r in ratios), default=0.0)
    chance = _near_chance(m)
    if m.diverged_at is not None:
        return "diverged", "severe"
    in_training = _blows_up_in_training(m)
    if in_training or (_grows_at_init(m) and not _learns_well(m)):
        severe = in_training or chance or worst > SEVERE_RATIO_LOG10
        return "exploding", "severe" if severe else "mild"
    if any(r < -VANISHING_RATIO_LOG10 for r in ratios) or _stalled(m):
        severe = chance or any(r < -SEVERE_RATIO_LOG10 for r in ratios)
        return "vanishing", "severe" if severe else "mild"
    if m.saturation_peak > SATURATED_FRACTION:
        severe = chance or m.saturation_peak > SEVERE_FRACTION
        return "saturated", "severe" if severe else "mild"
    if m.dead_mean > DEAD_FRACTION or bool((m.dead_layers > DEAD_LAYER_FRACTION).any()):
        severe = chance or m.dead_mean > SEVERE_FRACTION
        return "dead_units", "severe" if severe else "mild"
    if chance:
        flat = len(m.train_loss) >= 1 and m.train_loss[-1] >= FLAT_LOSS * m.train_loss[0]
        return "not_learning", "severe" if flat else "mild"
    return "healthy", None


def _notes(m: Measures, verdict: Verdict) -> list[str]:
    """What is worth knowing but is not the problem."""
    notes: list[str] = []
    if verdict == "healthy" and _grows_at_init(m):
        top = max(_ratios(m))
        notes.append(
            f"At step 0 the gradient grows toward the input ({_pow(top)} from the last "
            f"hidden layer to layer 0), yet the run learns (validation accuracy "
            f"{m.val:.2f}): batch norm does this at initialisation (Yang et al. 2019), and "
            "training tames it, so it is not an explosion."
        )
    g = m.gradient_growth_log10
    if g is not None and g > GRADIENT_GROWTH_LOG10 and not _blows_up_in_training(m):
        notes.append(
            f"The total gradient norm grew {_pow(g)}-fold during training, but the steps "
            f"stayed small (the largest median update ratio of a record is "
            f"{m.update_peak:.2g}): growth from a small start, not an explosion."
        )
    return notes


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
        predicted = p["backprop_ratio_log10"] if p["applies"] else None
        if predicted is not None:
            method = p.get("method", "mean_field")
            if method == "batch_norm_monte_carlo":
                how = "batch norm's batch recursion from the first batch"
            elif method == "reduced_residual":
                how = "the reduced-residual mean field"
            elif p["chi_1"] is not None and p["factor_per_layer"] is not None:
                how = (
                    f"chi_1 = {p['chi_1']:.3g}, a factor {p['factor_per_layer']:.3g} per layer, "
                    f"{p.get('phase', 'ordered')} phase"
                )
            else:
                how = "the plain mean field"
            measured = "" if m.backprop_ratio is None else f"; measured {_pow(m.backprop_ratio)}"
            ev.append(
                f"Mean-field theory predicts a back-propagated ratio of {_pow(predicted)} "
                f"for this network ({how}){measured}."
            )
    if (g := m.gradient_growth_log10) is not None and g > 1.0:
        ev.append(f"The total gradient norm grew {_pow(g)}-fold during training.")
    if m.backprop_ratio_last is not None and m.steps and m.steps[-1] > 0:
        ev.append(
            f"At the last record (step {m.steps[-1]}) the back-propagated ratio is "
            f"{_pow(m.backprop_ratio_last)}."
        )
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
    if m.val is not None and _near_chance(m):
        loss = m.train_loss[-1] if m.train_loss else math.nan
        train = f", training {m.train_accuracy[-1]:.2f}" if m.train_accuracy else ""
        ev.append(
            f"After {m.epochs} epochs the validation accuracy is {m.val:.2f}{train}, against "
            f"{m.chance:.2f} by chance (training loss {loss:.3g}): the network has learned "
            "almost nothing."
        )
    if m.train_accuracy:
        tr = m.train_accuracy[-1]
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
    verdict, severity = _verdict(m)
    evidence, overfit = _evidence(m, spec, theory)
    if verdict == "healthy":
        evidence.insert(
            0,
            "No gradient problem found: the gradient neither vanishes nor explodes "
            f"beyond a factor {10**VANISHING_RATIO_LOG10:g} across the network, nothing "
            "diverged, saturated or died, and the run learns.",
        )
    remedies = rank(verdict, spec, overfit, theory)
    return {
        "verdict": verdict,
        "severity": severity,
        "evidence": evidence,
        "notes": _notes(m, verdict),
        "remedies": remedies,
    }
