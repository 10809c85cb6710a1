"""Mean-field predictions for a spec, or for a network described by its parts.

The maths is in ``core.theory``'s docstring; the recurrences are in ``meanfield``.
"""

from __future__ import annotations

import itertools
import math

from core.errors import FieldError, SpecError
from core.result import Theory, json_safe
from core.spec import ACTIVATION_NAMES, INIT_NAMES, MAX_DEPTH, MAX_WIDTH, ExperimentSpec
from core.theory.functions import pair
from core.theory.meanfield import (
    Q_OVERFLOW,
    batch_norm_rate,
    chi,
    gauss_expect,
    q_star,
    sigma_w2,
)


def _log10(x: float) -> float:
    return math.log10(x) if x > 0 else -math.inf


def _predict_dims(
    act: str,
    init: str,
    dims: list[int],
    negative_slope: float,
    batch_norm: bool,
    residual: bool,
) -> Theory:
    """The predictions for dense layers ``dims[i] -> dims[i+1]``; ``len(dims) = depth + 2``."""
    depth = len(dims) - 2
    sw2 = [sigma_w2(init, a, b) for a, b in itertools.pairwise(dims)]
    f, _ = pair(act, negative_slope)
    # Forward: q_l for the depth hidden pre-activations, and E|x_l|^2 for each layer's input.
    qs, x2 = [sw2[0]], [float(dims[0])]
    for layer in range(1, depth):
        m2 = gauss_expect(lambda x: f(x) ** 2, qs[-1])
        x2.append(dims[layer] * m2)
        qs.append(min(sw2[layer] * m2, math.inf if qs[-1] < Q_OVERFLOW else Q_OVERFLOW))
    chis = [chi(act, sw2[layer + 1], qs[layer], negative_slope) for layer in range(depth)]
    # log10 |delta_l| relative to the last hidden layer; the output layer sits one factor up.
    bp = [0.0] * (depth + 1)
    for layer in range(depth - 2, -1, -1):
        bp[layer] = bp[layer + 1] + 0.5 * _log10(chis[layer])
    bp[depth] = -0.5 * _log10(chis[depth - 1])
    # |dW_l| ~ |x_l| |delta_l| for one example; the output layer's input is the last hidden one.
    x2.append(dims[depth] * gauss_expect(lambda x: f(x) ** 2, qs[-1]))
    grad = [bp[layer] + 0.5 * _log10(x2[layer]) for layer in range(depth + 1)]
    grad = [g - grad[depth - 1] for g in grad]
    hidden = sw2[1] if depth > 1 else sw2[0]
    q0 = qs[1] if depth > 1 else qs[0]
    qstar = q_star(act, hidden, q0, negative_slope)
    qstar = 0.0 if qstar < 1e-12 else qstar
    chi1 = chi(act, hidden, qstar, negative_slope)
    rate = batch_norm_rate(act, negative_slope)
    out: Theory = {
        "activation": act,
        "init": init,
        "depth": depth,
        "applies": not (batch_norm or residual),
        "note": None,
        "sigma_w2": hidden,
        "sigma_w2_per_layer": sw2,
        "q_star": json_safe(qstar),
        "chi_1": json_safe(chi1),
        "factor_per_layer": json_safe(math.sqrt(chi1)),
        "q_per_layer": [json_safe(q) if q < Q_OVERFLOW else None for q in qs],
        "layer_factors": [json_safe(math.sqrt(c)) for c in chis],
        "backprop_ratio_log10": json_safe(bp[0]),
        "backprop_profile_log10": [json_safe(b) for b in bp],
        "gradient_ratio_log10": json_safe(grad[0]),
        "grad_profile_log10": [json_safe(g) for g in grad],
        "batch_norm_rate": rate,
        "batch_norm_factor_per_layer": math.sqrt(rate),
    }
    if residual:
        out["note"] = (
            "Residual connections add an identity path around each block, so the "
            "gradient no longer multiplies by one factor per layer: the plain-network "
            "prediction above is an upper bound on the decay, not a forecast."
        )
    elif batch_norm:
        # |delta_l|^2 gains sigma_w^2(W_{l+1}) E[phi'^2] / sigma_l^2 per layer, where batch
        # norm divided by sigma_l^2 = sigma_w^2(W_l) Var[phi] (E[x^2] = 1 at the input).
        g2 = gauss_expect(lambda x: pair(act, negative_slope)[1](x) ** 2, 1.0)
        var = g2 / rate
        bn = [0.0] * (depth + 1)
        for layer in range(depth - 2, -1, -1):
            pre = sw2[layer] * (var if layer > 0 else 1.0)
            bn[layer] = bn[layer + 1] + 0.5 * math.log10(sw2[layer + 1] * g2 / pre)
        # The logits are not normalised: only the last hidden layer's batch norm divides.
        pre = sw2[depth - 1] * (var if depth > 1 else 1.0)
        bn[depth] = -0.5 * math.log10(sw2[depth] * g2 / pre)
        out["batch_norm_profile_log10"] = [json_safe(b) for b in bn]
        out["batch_norm_ratio_log10"] = bn[0]
        out["note"] = (
            f"With batch norm the plain recurrence does not apply: each layer multiplies "
            f"the back-propagated norm by about sqrt({rate:.4f}) = {math.sqrt(rate):.3f} "
            f"toward the input, whatever the initialiser (Yang et al. 2019)."
        )
    return out


def predict(spec: ExperimentSpec) -> Theory:
    """Mean-field predictions for ``spec``'s network at initialisation (JSON-safe).

    ``backprop_profile_log10[l]`` is the predicted log10 of ``backprop_norm`` at layer
    ``l`` (``0 .. depth``, the output layer last) relative to layer ``depth - 1``,
    so ``backprop_ratio_log10`` compares with ``summary.backprop_ratio_log10``;
    ``grad_profile_log10`` does the same, roughly, for ``grad_norm`` (one example's
    ``|x_l| |delta_l|``; a batch's gradients also depend on how the examples
    correlate). ``applies`` is False when batch norm or residual connections take
    the network outside the plain theory; ``note`` then says why, and with batch norm
    ``batch_norm_profile_log10`` / ``batch_norm_ratio_log10`` hold that theory's line.
    """
    m, d = spec.model, spec.data
    return _predict_dims(
        m.activation,
        m.init,
        [d.features, *m.widths, d.classes],
        m.negative_slope,
        m.batch_norm,
        m.residual,
    )


def predict_for(
    activation: str,
    init: str,
    depth: int,
    *,
    width: int = 128,
    negative_slope: float = 0.01,
    n_features: int | None = None,
    n_classes: int | None = None,
    batch_norm: bool = False,
    residual: bool = False,
) -> Theory:
    """``predict`` for a network described by its parts (``GET /v1/theory``).

    Without ``n_features`` / ``n_classes`` the input and output are as wide as the
    hidden layers, which is the square network the textbook theory assumes.
    """
    problems: list[tuple[str, str]] = []
    if activation not in ACTIVATION_NAMES:
        problems.append(("activation", f"must be one of {', '.join(ACTIVATION_NAMES)}"))
    if init not in INIT_NAMES:
        problems.append(("init", f"must be one of {', '.join(INIT_NAMES)}"))
    if not 1 <= depth <= MAX_DEPTH:
        problems.append(("depth", f"must be between 1 and {MAX_DEPTH}"))
    for field, value in (("width", width), ("n_features", n_features), ("n_classes", n_classes)):
        if value is not None and not 1 <= value <= MAX_WIDTH:
            problems.append((field, f"must be between 1 and {MAX_WIDTH}"))
    if not 0.0 <= negative_slope <= 1.0:
        problems.append(("negative_slope", "must be between 0 and 1"))
    if problems:
        raise SpecError(
            "; ".join(f"{field} {msg}" for field, msg in problems),
            errors=[FieldError(field, msg) for field, msg in problems],
        )
    dims = [n_features or width, *([width] * depth), n_classes or width]
    return _predict_dims(activation, init, dims, negative_slope, batch_norm, residual)
