"""Mean-field predictions of how gradients scale with depth, before any training.

For a plain network (no batch norm, no skips) with zero biases and weights of
variance ``sigma_w^2 / fan_in``, a hidden pre-activation ``h_l`` has per-unit
variance ``q_l`` that follows (Poole et al. 2016; Schoenholz et al. 2017)::

    q_0     = sigma_w^2(W_0) * E[x^2]                (E[x^2] = 1: inputs are standardised)
    q_{l+1} = sigma_w^2(W_{l+1}) * E[phi(sqrt(q_l) z)^2],     z ~ N(0, 1)

and the back-propagated signal ``delta_l = dLoss/dh_l`` shrinks or grows by::

    |delta_l|^2 / |delta_{l+1}|^2 = chi_l = sigma_w^2(W_{l+1}) * E[phi'(sqrt(q_l) z)^2].

``q*`` is the fixed point of the recurrence and ``chi_1`` is ``chi`` at ``q*``:
below 1 the gradient vanishes toward the input by ``sqrt(chi_1)`` per layer, above
1 it explodes. With batch norm before every activation the rate is instead
``E[phi'(u)^2] / Var[phi(u)]`` with ``u ~ N(0, 1)``, whatever the weights' scale
(Yang et al. 2019): above 1 for every non-linearity, so deep batch-normalised
networks explode at initialisation.

``functions`` gives the activations (the engine's), ``meanfield`` the
recurrences and their quadrature, ``catalogue`` the activations described for
``GET /v1/activations``, and ``predict`` turns them into predictions for a spec.
"""

from core.theory.catalogue import ACTIVATION_INFO, activation_info
from core.theory.functions import FLAT_DERIVATIVE, dphi, phi
from core.theory.meanfield import batch_norm_rate, chi, gauss_expect, q_star, sigma_w2
from core.theory.predict import predict, predict_for

__all__ = [
    "ACTIVATION_INFO",
    "FLAT_DERIVATIVE",
    "activation_info",
    "batch_norm_rate",
    "chi",
    "dphi",
    "gauss_expect",
    "phi",
    "predict",
    "predict_for",
    "q_star",
    "sigma_w2",
]
