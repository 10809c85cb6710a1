"""Mean-field predictions of how gradients scale with depth, before any training.

For a plain network (no batch norm, no skips) with biases of variance
``sigma_b^2`` and weights of variance ``sigma_w^2 / fan_in``, a hidden
pre-activation ``h_l`` has per-unit variance ``q_l`` that follows (Poole et al.
2016; Schoenholz et al. 2017)::

    q_0     = sigma_w^2(W_0) * E[x^2] + sigma_b^2     (E[x^2] = 1: inputs are standardised)
    q_{l+1} = sigma_w^2(W_{l+1}) * E[phi(sqrt(q_l) z)^2] + sigma_b^2,     z ~ N(0, 1)

and the back-propagated signal ``delta_l = dLoss/dh_l`` shrinks or grows by::

    |delta_l|^2 / |delta_{l+1}|^2 = chi_l = sigma_w^2(W_{l+1}) * E[phi'(sqrt(q_l) z)^2].

``q*`` is the fixed point of the recurrence and ``chi_1`` is ``chi`` at ``q*``:
below 1 the gradient vanishes toward the input by ``sqrt(chi_1)`` per layer, above
1 it explodes (the ordered and chaotic phases; ``xi_c = 1 / |ln chi_1|``). At
``q* = 0`` the expectation is the limit, so ReLU's chi_1 is sigma_w^2 / 2. With
batch norm before every activation the growth follows the batch's Gram matrix
(Yang et al. 2019; ``batchnorm``), tending to ``E[phi'(u)^2] / Var[phi(u)]`` per
layer on high-dimensional inputs; residual blocks follow the reduced-residual
mean field (Yang & Schoenholz 2017; ``profile``).

``functions`` gives the activations (the engine's), ``meanfield`` the
recurrences and their quadrature, ``profile`` and ``batchnorm`` the layer-by-layer
profiles, ``catalogue`` the activations described for ``GET /v1/activations``, and
``predict`` turns them into predictions for a spec (see docs/insight.md).
"""

from core.theory.catalogue import ACTIVATION_INFO, activation_info
from core.theory.functions import FLAT_DERIVATIVE, dphi, phi
from core.theory.meanfield import batch_norm_rate, chi, gauss_expect, q_star, sigma_w2
from core.theory.predict import phase_of, predict, predict_for

__all__ = [
    "ACTIVATION_INFO",
    "FLAT_DERIVATIVE",
    "activation_info",
    "batch_norm_rate",
    "chi",
    "dphi",
    "gauss_expect",
    "phase_of",
    "phi",
    "predict",
    "predict_for",
    "q_star",
    "sigma_w2",
]
