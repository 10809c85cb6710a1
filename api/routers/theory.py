"""``GET /v1/theory`` and ``GET /v1/activations``: answers that need no training."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from api.deps import StoreDep
from api.http import json_response
from api.openapi import DOC_422, DOC_503, image_responses, json_example, problem_doc
from api.problems import QueryError
from api.services import figures
from core import plots, theory
from core.errors import FieldError, SpecError
from core.plots.activations import MAX_X
from core.result import Theory, json_safe
from core.spec import (
    ACTIVATION_NAMES,
    MAX_BIAS_STD,
    MAX_DEPTH,
    MAX_INIT_GAIN,
    MAX_WIDTH,
    MIN_INIT_GAIN,
    Activation,
    Init,
)
from core.views import Activations

router = APIRouter(tags=["theory"])

#: Answers that depend only on the query (and this release): cache them a day.
CACHE_DAY = {"Cache-Control": "public, max-age=86400"}
DEFAULT_DERIVATIVES = "sigmoid,tanh,relu"

THEORY_EXAMPLE = {
    "activation": "sigmoid",
    "init": "lecun_normal",
    "depth": 20,
    "init_gain": 1.0,
    "bias_std": 0.0,
    "applies": True,
    "method": "mean_field",
    "note": None,
    "sigma_w2": 1.0,
    "sigma_b2": 0.0,
    "q_star": 0.2647,
    "chi_1": 0.0557,
    "factor_per_layer": 0.2361,
    "xi_q": 0.33,
    "xi_c": 0.346,
    "phase": "ordered",
    "backprop_ratio_log10": -11.9,
    "gradient_ratio_log10": -11.7,
    "backprop_profile_log10": [-11.9, "...", 0.0, 0.6],
    "batch_norm_rate": 1.0336,
    "batch_norm_factor_per_layer": 1.0167,
}
ACTIVATIONS_EXAMPLE = {
    "activations": [theory.ACTIVATION_INFO["sigmoid"], theory.ACTIVATION_INFO["relu"]],
    "flat_threshold": theory.FLAT_DERIVATIVE,
    "links": {"derivatives": "/v1/activations/plots/derivatives.png?names=sigmoid,tanh,relu"},
}


@router.get(
    "/v1/theory",
    response_model=Theory,
    summary="Mean-field prediction of how gradients scale with depth",
    description="For a plain network of `depth` hidden layers of `width` units "
    "(`n_features` inputs and `n_classes` outputs, default: as wide as the hidden layers): "
    "the pre-activation variance fixed point `q_star` (with `init_gain` scaling sigma_w and "
    "`bias_std` giving sigma_b), `chi_1` = sigma_w^2 E[phi'(sqrt(q*) z)^2] (a limit at "
    "q* = 0), the factor per layer sqrt(chi_1), the depth scales `xi_q` and `xi_c`, the "
    "`phase` (ordered, critical, chaotic), the per-layer profile and log10 ratio of the "
    "back-propagated gradient norm (input over last hidden layer), and the batch-norm rate "
    "E[phi'(u)^2]/Var[phi(u)]. With `batch_norm`, the batch recursion on `batch_size` "
    "Gaussian inputs; with `residual`, the reduced-residual theory; with both, `applies` "
    "is false and `note` says why. Computed at once, without training; see docs/insight.md.",
    responses={
        200: json_example(THEORY_EXAMPLE),
        422: DOC_422,
    },
)
def get_theory(
    activation: Annotated[Activation, Query(description="Hidden-layer non-linearity.")],
    depth: Annotated[int, Query(ge=1, le=MAX_DEPTH, description="Hidden layers.")],
    init: Annotated[Init, Query(description="Weight initialiser.")] = "xavier_normal",
    width: Annotated[int, Query(ge=1, le=MAX_WIDTH, description="Units per hidden layer.")] = 128,
    negative_slope: Annotated[float, Query(ge=0.0, le=1.0, description="leaky_relu slope.")] = 0.01,
    n_features: Annotated[int | None, Query(ge=1, le=MAX_WIDTH)] = None,
    n_classes: Annotated[int | None, Query(ge=1, le=MAX_WIDTH)] = None,
    batch_norm: bool = False,
    residual: bool = False,
    residual_every: Annotated[
        int, Query(ge=1, le=MAX_DEPTH, description="Dense layers per residual block.")
    ] = 2,
    init_gain: Annotated[
        float,
        Query(ge=MIN_INIT_GAIN, le=MAX_INIT_GAIN, description="Multiplies the initialiser's std."),
    ] = 1.0,
    bias_std: Annotated[
        float, Query(ge=0.0, le=MAX_BIAS_STD, description="Biases N(0, bias_std^2).")
    ] = 0.0,
    batch_size: Annotated[
        int, Query(ge=2, le=8192, description="Batch of the batch-norm recursion.")
    ] = 64,
) -> Response:
    try:
        predicted = theory.predict_for(
            activation,
            init,
            depth,
            width=width,
            negative_slope=negative_slope,
            n_features=n_features,
            n_classes=n_classes,
            batch_norm=batch_norm,
            residual=residual,
            residual_every=residual_every,
            init_gain=init_gain,
            bias_std=bias_std,
            batch_size=batch_size,
        )
    except SpecError as exc:
        raise QueryError.of(exc) from exc
    return json_response(json_safe(predicted), headers=CACHE_DAY)


@router.get(
    "/v1/activations",
    response_model=Activations,
    summary="The activation functions: formula, derivative, where it is flat",
    description="For each activation: its formula and derivative, the derivative's maximum "
    "(sigmoid: 0.25 at 0, so each sigmoid layer passes at most a quarter of the gradient), "
    "its value at 0, the ranges of x where |phi'(x)| < `flat_threshold` (1e-2; null for an "
    "unbounded end) and the batch-norm rate. leaky_relu at negative_slope 0.01.",
    responses={200: json_example(ACTIVATIONS_EXAMPLE)},
)
def list_activations() -> Response:
    body: Activations = {
        "activations": list(theory.ACTIVATION_INFO.values()),
        "flat_threshold": theory.FLAT_DERIVATIVE,
        "links": {
            "derivatives": f"/v1/activations/plots/derivatives.png?names={DEFAULT_DERIVATIVES}"
        },
    }
    return json_response(json_safe(body), headers=CACHE_DAY)


def parse_names(names: str) -> list[str]:
    out = list(dict.fromkeys(n.strip() for n in names.split(",") if n.strip()))
    if out == ["all"]:
        return list(ACTIVATION_NAMES)
    try:
        plots.check_derivative_args(out, (-1.0, 1.0))
    except SpecError as exc:
        raise QueryError.of(exc) from exc
    return out


@router.get(
    "/v1/activations/plots/{filename}",
    response_class=Response,
    summary="Activation functions and their derivatives (the article's demo)",
    description="`filename` is `derivatives.png` or `derivatives.svg`. Draws phi (top) and "
    "phi' (bottom) of each activation in `names` over [`x_min`, `x_max`]: sigmoid's "
    "derivative peaks at 0.25, ReLU's is a step. Cached by query, with an `ETag`.",
    responses=image_responses(
        (
            404,
            problem_doc(
                404,
                "Not found",
                "No activation plot 'derivative.png'; there are: derivatives.{png,svg}",
            ),
        ),
        (422, DOC_422),
        (503, DOC_503),
    ),
)
def derivatives_plot(
    filename: str,
    store: StoreDep,
    request: Request,
    names: Annotated[
        str,
        Query(
            max_length=500,
            description="Comma-separated activations, or `all`.",
            examples=["sigmoid,relu"],
        ),
    ] = DEFAULT_DERIVATIVES,
    x_min: Annotated[float, Query(ge=-MAX_X, le=MAX_X)] = -6.0,
    x_max: Annotated[float, Query(ge=-MAX_X, le=MAX_X)] = 6.0,
    negative_slope: Annotated[float, Query(ge=0.0, le=1.0)] = 0.01,
) -> Response:
    _, fmt = figures.parse_filename(filename, ("derivatives",), "activation")
    chosen = parse_names(names)
    if not x_min < x_max:
        raise QueryError(
            [FieldError("x_max", f"x_max must be greater than x_min ({x_min:g})", input=x_max)]
        )
    return figures.derivatives_figure(request, store, fmt, chosen, (x_min, x_max), negative_slope)
