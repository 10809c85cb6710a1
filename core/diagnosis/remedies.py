"""Remedies: concrete changes to a spec, ranked, and how to apply one.

A remedy is ``{"change": {dotted spec path: new value}, "why": sentence}``. The
candidates for a verdict come in a fixed order of preference (the usual first
fix first); with a spec in hand, changes it already has are dropped, what is
left is checked by building the changed spec, and the why quotes the
mean-field prediction for the change where the plain theory applies.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from core.errors import SpecError, field_errors
from core.result import Remedy, SpecValue, Theory, Verdict
from core.spec import ExperimentSpec
from core.theory import predict

#: At most this many remedies, best first.
MAX_REMEDIES = 5
#: The global gradient norm proposed to clip at.
CLIP_NORM = 1.0
#: Learning rates are proposed this many times smaller.
LR_DIVISOR = 10.0

SATURATING = ("sigmoid", "tanh")
#: The initialiser that keeps each activation's signal variance level.
MATCHED_INIT = {
    "sigmoid": "xavier_normal",
    "tanh": "xavier_normal",
    "linear": "xavier_normal",
    "selu": "lecun_normal",
}

RELU_HE = "ReLU's derivative is exactly 1 wherever a unit is active (sigmoid's is at most 0.25, tanh's falls off in the tails), and He initialisation (variance 2/fan_in) keeps the signal's scale level through depth"  # noqa: E501
LEAKY = "Leaky ReLU passes a small gradient where ReLU passes none, so units cannot die, and with He initialisation the signal keeps its scale"  # noqa: E501
SWISH = "Swish (x sigmoid(x)) is smooth, unbounded above and non-zero almost everywhere; with He initialisation its gradient scale stays near level"  # noqa: E501
XAVIER = "Xavier initialisation (variance 2/(fan_in + fan_out)) keeps the variance of activations and gradients level for sigmoid and tanh (Glorot & Bengio 2010)"  # noqa: E501
HE = "He initialisation (variance 2/fan_in) makes the ReLU family's per-layer gain exactly 1: half the units are active and each doubles the variance back"  # noqa: E501
LECUN = (
    "LeCun initialisation (variance 1/fan_in) is what SELU's self-normalising fixed point assumes"
)
BATCH_NORM = "batch normalisation re-centres and re-scales every hidden pre-activation, so the initial weight scale no longer compounds layer after layer"  # noqa: E501
RESIDUAL = "residual connections give the gradient an identity path around every block, so it reaches the first layers without passing through every derivative"  # noqa: E501
CLIP = "clipping the global gradient norm caps the size of any one step, so a gradient spike cannot throw the weights out of range"  # noqa: E501
LOWER_LR = "a smaller learning rate makes each update a smaller fraction of the weights"
MORE_EPOCHS = "training twice as long gives a slow but healthy network time to fit"
HIGHER_LR = "a larger learning rate takes larger steps where the gradients are healthy but small"
ADAM = "Adam scales each parameter's step by its own gradient history, so small but healthy gradients still move the weights"  # noqa: E501
#: Learning rates are proposed this many times larger for a network that does not learn.
LR_MULTIPLIER = 3.0
WEIGHT_DECAY = (
    "an L2 penalty on the weights narrows the gap between training and validation accuracy"
)


def _matched_init(activation: str) -> str:
    return MATCHED_INIT.get(activation, "he_normal")


def candidates(verdict: Verdict, spec: ExperimentSpec | None, overfit: bool) -> list[Remedy]:
    """The remedies for ``verdict`` in order of preference, before filtering."""
    act = spec.model.activation if spec else None
    lr = spec.training.learning_rate if spec else None
    out: list[Remedy] = []

    def add(why: str, **change: SpecValue) -> None:
        out.append({"change": {k.replace("__", "."): v for k, v in change.items()}, "why": why})

    def init_fix() -> None:
        if act is None:
            return
        init = _matched_init(act)
        why = {"xavier_normal": XAVIER, "lecun_normal": LECUN}.get(init, HE)
        add(why, model__init=init)

    def lower_lr() -> None:
        if lr is not None:
            add(LOWER_LR, training__learning_rate=float(f"{lr / LR_DIVISOR:.3g}"))

    if verdict == "vanishing":
        if act in (None, *SATURATING, "linear"):
            add(RELU_HE, model__activation="relu", model__init="he_normal")
        init_fix()
        if act in SATURATING:
            add(XAVIER, model__init="xavier_normal")
        add(LEAKY, model__activation="leaky_relu", model__init="he_normal")
        add(SWISH, model__activation="swish", model__init="he_normal")
        add(BATCH_NORM, model__batch_norm=True)
        add(RESIDUAL, model__residual=True)
    elif verdict == "exploding":
        init_fix()
        add(CLIP, training__clip_grad_norm=CLIP_NORM)
        lower_lr()
        if spec is not None and spec.model.batch_norm:
            add(RESIDUAL, model__residual=True)
        add(BATCH_NORM, model__batch_norm=True)
    elif verdict == "diverged":
        lower_lr()
        add(CLIP, training__clip_grad_norm=CLIP_NORM)
        init_fix()
        add(BATCH_NORM, model__batch_norm=True)
    elif verdict == "saturated":
        add(RELU_HE, model__activation="relu", model__init="he_normal")
        if act in SATURATING:
            add(XAVIER, model__init="xavier_normal")
        add(BATCH_NORM, model__batch_norm=True)
        lower_lr()
    elif verdict == "dead_units":
        add(LEAKY, model__activation="leaky_relu", model__init="he_normal")
        lower_lr()
        init_fix()
        add(SWISH, model__activation="swish", model__init="he_normal")
        add(BATCH_NORM, model__batch_norm=True)
    elif verdict == "not_learning":
        if spec is not None:
            t = spec.training
            add(MORE_EPOCHS, training__epochs=min(2 * t.epochs, 10_000))
            add(
                HIGHER_LR,
                training__learning_rate=float(f"{min(t.learning_rate * LR_MULTIPLIER, 10.0):.3g}"),
            )
        add(ADAM, training__optimizer="adam", training__learning_rate=1e-3)
    if overfit:
        add(WEIGHT_DECAY, training__weight_decay=1e-4)
    return out


def rank(
    verdict: Verdict,
    spec: ExperimentSpec | None,
    overfit: bool = False,
    theory: Theory | None = None,
) -> list[Remedy]:
    """The remedies worth trying, best first: no no-ops, no duplicates, all valid.

    ``theory`` is ``core.theory.predict(spec)`` when already at hand.
    """
    out: list[Remedy] = []
    seen: list[dict[str, SpecValue]] = []
    for remedy in candidates(verdict, spec, overfit):
        change = dict(remedy["change"])
        why = remedy["why"]
        if spec is not None:
            change = {k: v for k, v in change.items() if _get(spec, k) != v}
            if not change or change in seen:
                continue
            try:
                changed = apply_remedy(spec, {"change": change, "why": why})
            except SpecError:
                continue  # e.g. residual blocks over unequal widths
            why = _with_theory(why, spec, changed, theory)
        elif change in seen:
            continue
        seen.append(change)
        out.append({"change": change, "why": why[0].upper() + why[1:] + "."})
        if len(out) == MAX_REMEDIES:
            break
    return out


def _with_theory(
    why: str, spec: ExperimentSpec, changed: ExperimentSpec, before: Theory | None
) -> str:
    """Append the mean-field prediction when the change touches activation or init."""
    m, n = spec.model, changed.model
    if (m.activation, m.init) == (n.activation, n.init) or n.batch_norm or n.residual:
        return why
    before = before if before is not None else predict(spec)
    after = predict(changed)
    b, a = before["backprop_ratio_log10"], after["backprop_ratio_log10"]
    if a is None or b is None or not math.isfinite(a) or not math.isfinite(b):
        return why
    return (
        f"{why}; mean-field theory predicts a back-propagated ratio of 10^{a:.1f} across "
        f"the network instead of 10^{b:.1f}"
    )


def _get(spec: ExperimentSpec, path: str) -> Any:
    node: Any = spec
    for part in path.split("."):
        node = getattr(node, part, None)
    return node


def apply_remedy(spec: ExperimentSpec, remedy: Remedy | Mapping[str, Any]) -> ExperimentSpec:
    """``spec`` with ``remedy["change"]`` applied (dotted paths), same seed.

    Raises SpecError when a path names no field or the changed spec is invalid.
    """
    data = spec.model_dump()
    for path, value in dict(remedy.get("change", {})).items():
        *parents, leaf = path.split(".")
        node = data
        for part in parents:
            if not isinstance(node.get(part), dict):
                raise SpecError(f"remedy changes {path!r}, which is not a spec field")
            node = node[part]
        if leaf not in node:
            raise SpecError(f"remedy changes {path!r}, which is not a spec field")
        node[leaf] = value
    try:
        return ExperimentSpec.model_validate(data)
    except ValidationError as exc:
        errors = field_errors(exc.errors(include_url=False))
        raise SpecError(
            "the remedy makes the spec invalid: "
            + "; ".join(f"{e.field}: {e.message}" for e in errors),
            errors,
        ) from exc
