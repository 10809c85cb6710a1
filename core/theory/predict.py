"""Mean-field predictions for a spec, or for a network described by its parts.

The maths is in ``core.theory``'s docstring; the recurrences are in ``meanfield``,
the layer-by-layer profiles in ``profile`` (plain and residual) and ``batchnorm``.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from numpy.typing import NDArray

from core.errors import FieldError, SpecError
from core.result import Phase, Theory, json_safe
from core.seeding import first_batch
from core.spec import (
    ACTIVATION_NAMES,
    INIT_NAMES,
    MAX_BIAS_STD,
    MAX_DEPTH,
    MAX_INIT_GAIN,
    MAX_WIDTH,
    ExperimentSpec,
)
from core.theory.batchnorm import batch_norm_profile
from core.theory.meanfield import batch_norm_rate, chi, q_slope, q_star, sigma_w2
from core.theory.profile import mean_field_profile

#: |ln chi_1| below this is the critical line: xi_c = 1/|ln chi_1| exceeds twice the
#: deepest network (MAX_DEPTH), so no network here can tell it from chi_1 = 1.
CRITICAL_LOG = 1.0 / (2 * MAX_DEPTH)
#: Batch size of ``predict_for``'s batch-norm prediction when none is given.
DEFAULT_BATCH = 64

BOTH_NOTE = (
    "Batch norm inside residual blocks is outside both theories here (the batch-norm "
    "recursion assumes a plain stack, the residual one no normalisation): "
    "no prediction is made."
)


def phase_of(chi1: float) -> Phase:
    """ordered (chi_1 < 1: gradients vanish), critical, or chaotic (chi_1 > 1: they explode)."""
    if chi1 > 0 and abs(math.log(chi1)) < CRITICAL_LOG:
        return "critical"
    return "ordered" if chi1 < 1.0 else "chaotic"


#: |ln r| below this is a rate of exactly 1 up to quadrature and differencing error.
_UNIT_RATE = 1e-7


def _scale(rate: float) -> float:
    """The depth scale 1 / |ln rate| of a per-layer rate; inf for a rate of 1, 0 for 0."""
    if rate == 0.0:
        return 0.0
    if not 0.0 < rate < math.inf:
        return math.nan
    lg = abs(math.log(rate))
    return math.inf if lg < _UNIT_RATE else 1.0 / lg


def _predict_dims(
    act: str,
    init: str,
    dims: list[int],
    *,
    negative_slope: float,
    batch_norm: bool,
    residual_every: int | None,
    init_gain: float,
    bias_std: float,
    batch: NDArray[np.float64] | None,
    seed: int,
) -> Theory:
    """The predictions for dense layers ``dims[i] -> dims[i+1]``; ``len(dims) = depth + 2``."""
    depth = len(dims) - 2
    gain2 = init_gain * init_gain
    sw2 = [gain2 * sigma_w2(init, a, b) for a, b in itertools.pairwise(dims)]
    sb2 = bias_std * bias_std
    plain = mean_field_profile(act, dims, sw2, sb2, negative_slope, None)
    hidden = sw2[1] if depth > 1 else sw2[0]
    q0 = plain.q[1] if depth > 1 else plain.q[0]
    qstar = q_star(act, hidden, q0, negative_slope, sb2)
    qstar = 0.0 if qstar < 1e-12 else qstar
    chi1 = chi(act, hidden, qstar, negative_slope)
    rate = batch_norm_rate(act, negative_slope)
    out: Theory = {
        "activation": act,
        "init": init,
        "depth": depth,
        "init_gain": init_gain,
        "bias_std": bias_std,
        "applies": True,
        "method": "mean_field",
        "note": None,
        "sigma_w2": hidden,
        "sigma_b2": sb2,
        "sigma_w2_per_layer": sw2,
        "q_star": json_safe(qstar),
        "chi_1": json_safe(chi1),
        "factor_per_layer": json_safe(math.sqrt(chi1)),
        "xi_q": json_safe(_scale(q_slope(act, hidden, qstar, negative_slope, sb2))),
        "xi_c": json_safe(_scale(chi1)),
        "phase": phase_of(chi1),
        "q_per_layer": [json_safe(q) for q in plain.q],
        "layer_factors": [json_safe(f) for f in plain.layer_factors],
        "backprop_ratio_log10": json_safe(plain.backprop[0]),
        "backprop_profile_log10": [json_safe(b) for b in plain.backprop],
        "gradient_ratio_log10": json_safe(plain.grad[0]),
        "grad_profile_log10": [json_safe(g) for g in plain.grad],
        "batch_norm_rate": rate,
        "batch_norm_factor_per_layer": math.sqrt(rate),
    }
    if batch_norm and residual_every is not None:
        out["applies"], out["method"], out["note"] = False, "none", BOTH_NOTE
    elif residual_every is not None:
        res = mean_field_profile(act, dims, sw2, sb2, negative_slope, residual_every)
        out["method"] = "reduced_residual"
        _set_profiles(out, res.backprop, res.grad)
        out["note"] = (
            f"Residual blocks of {residual_every} layers: the reduced-residual mean field "
            "(Yang & Schoenholz 2017), where the identity path adds the block's input "
            "to its output and its gradient; chi_1 and the phase are the plain layers'."
        )
    elif batch_norm:
        x = batch if batch is not None else _gaussian_batch(dims[0], DEFAULT_BATCH, seed)
        bn = batch_norm_profile(act, dims, sw2, x, seed, negative_slope)
        out["method"] = "batch_norm_monte_carlo"
        _set_profiles(out, bn.backprop, bn.grad)
        out["batch_norm_profile_log10"] = [json_safe(b) for b in bn.backprop]
        out["batch_norm_ratio_log10"] = json_safe(bn.backprop[0])
        out["note"] = (
            f"Batch norm: Yang et al. (2019)'s batch recursion from the input batch's "
            f"Gram matrix ({bn.batch} examples), by Monte Carlo; on high-dimensional "
            f"inputs each layer multiplies the back-propagated norm by about "
            f"sqrt({rate:.4f}) = {math.sqrt(rate):.3f} toward the input, whatever the "
            "initialiser. chi_1 and the phase are the plain network's."
        )
    return out


def _set_profiles(out: Theory, backprop: list[float], grad: list[float]) -> None:
    out["backprop_ratio_log10"] = json_safe(backprop[0])
    out["backprop_profile_log10"] = [json_safe(b) for b in backprop]
    out["gradient_ratio_log10"] = json_safe(grad[0])
    out["grad_profile_log10"] = [json_safe(g) for g in grad]


def _gaussian_batch(n_features: int, size: int, seed: int) -> NDArray[np.float64]:
    out: NDArray[np.float64] = np.random.default_rng(seed).standard_normal((size, n_features))
    return out


def predict(spec: ExperimentSpec) -> Theory:
    """Mean-field predictions for ``spec``'s network at initialisation (JSON-safe).

    ``backprop_profile_log10[l]`` is the predicted log10 of ``backprop_norm`` at layer
    ``l`` (``0 .. depth``, the output layer last) relative to layer ``depth - 1``,
    so ``backprop_ratio_log10`` compares with ``summary.backprop_ratio_log10``;
    ``grad_profile_log10`` does the same, roughly, for ``grad_norm``. ``method`` says
    which theory made them: the plain mean field, the reduced-residual one, or batch
    norm's batch recursion from the run's first batch. ``applies`` is False, with the
    reason in ``note``, only for batch norm inside residual blocks.
    """
    m, d = spec.model, spec.data
    return _predict_dims(
        m.activation,
        m.init,
        [d.features, *m.widths, d.classes],
        negative_slope=m.negative_slope,
        batch_norm=m.batch_norm,
        residual_every=m.residual_every if m.residual else None,
        init_gain=m.init_gain,
        bias_std=m.bias_std,
        batch=first_batch(spec) if m.batch_norm and not m.residual else None,
        seed=spec.seed,
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
    residual_every: int = 2,
    init_gain: float = 1.0,
    bias_std: float = 0.0,
    batch_size: int = DEFAULT_BATCH,
) -> Theory:
    """``predict`` for a network described by its parts (``GET /v1/theory``).

    Without ``n_features`` / ``n_classes`` the input and output are as wide as the
    hidden layers, which is the square network the textbook theory assumes. With
    batch norm the input batch is ``batch_size`` i.i.d. N(0, 1) examples (seed 0).
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
    if not 0.0 < init_gain <= MAX_INIT_GAIN:
        problems.append(("init_gain", f"must be above 0 and at most {MAX_INIT_GAIN:g}"))
    if not 0.0 <= bias_std <= MAX_BIAS_STD:
        problems.append(("bias_std", f"must be between 0 and {MAX_BIAS_STD:g}"))
    if not 1 <= residual_every <= MAX_DEPTH:
        problems.append(("residual_every", f"must be between 1 and {MAX_DEPTH}"))
    if not 2 <= batch_size <= 8192:
        problems.append(("batch_size", "must be between 2 and 8192"))
    if problems:
        raise SpecError(
            "; ".join(f"{field} {msg}" for field, msg in problems),
            errors=[FieldError(field, msg) for field, msg in problems],
        )
    dims = [n_features or width, *([width] * depth), n_classes or width]
    batch = _gaussian_batch(dims[0], batch_size, 0) if batch_norm else None
    return _predict_dims(
        activation,
        init,
        dims,
        negative_slope=negative_slope,
        batch_norm=batch_norm,
        residual_every=residual_every if residual else None,
        init_gain=init_gain,
        bias_std=bias_std,
        batch=batch,
        seed=0,
    )
