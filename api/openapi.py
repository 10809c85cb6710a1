"""What ``/openapi.json`` says beyond the routes' own models: problems, images, examples.

Every error answer is documented with the one ``ProblemView`` schema of
``core.views`` under ``application/problem+json``, with an example of its own.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import TypeAdapter

from api.problems import EXAMPLE_422, PROBLEM_JSON
from core.views import ProblemView

JSON = "application/json"

DESCRIPTION = """
Submit experiments on deep networks, watch their per-layer gradient statistics
while they train, and read why gradients vanish or explode.

Every error is `application/problem+json` (RFC 9457). Experiments move
`queued -> running -> succeeded | failed | cancelled`.
"""

SPEC_EXAMPLES: dict[str, dict[str, Any]] = {
    "sigmoid-20": {
        "summary": "Deep sigmoid network: gradients vanish toward the input",
        "value": {
            "name": "sigmoid-20",
            "seed": 0,
            "model": {"depth": 20, "width": 256, "activation": "sigmoid", "init": "xavier_normal"},
            "data": {"dataset": "spiral", "n_samples": 2000, "noise": 0.2},
            "training": {
                "optimizer": "sgd",
                "learning_rate": 0.05,
                "batch_size": 64,
                "epochs": 20,
            },
            "recording": {"every_steps": 10},
        },
    },
    "relu-he": {
        "summary": "The remedy: ReLU with He initialisation",
        "value": {
            "name": "relu-he-20",
            "model": {"depth": 20, "width": 256, "activation": "relu", "init": "he_normal"},
        },
    },
    "tiny": {
        "summary": "A run that finishes in about a second",
        "value": {
            "model": {"depth": 3, "width": 16, "activation": "tanh"},
            "data": {"dataset": "moons", "n_samples": 400},
            "training": {"epochs": 5},
        },
    },
}

STATS_EXAMPLE = {
    "layers": [{"index": 0, "name": "dense_0", "fan_in": 2, "fan_out": 256}],
    "steps": [0, 10],
    "stats": {"grad_norm": [[0.1], [0.2]]},
    "metrics": {
        "epoch": [1],
        "train_loss": [1.1],
        "val_loss": [1.2],
        "train_accuracy": [0.4],
        "val_accuracy": [0.38],
    },
    "summary": {"gradient_ratio_log10": -11.9, "diverged_at_step": None},
    "diagnosis": None,
}


def json_example(example: Any, **extra: Any) -> dict[str, Any]:
    """A ``responses=`` entry showing ``example`` as the JSON answer."""
    return {"content": {JSON: {"example": example}}, **extra}


def problem_doc(status: int, title: str, detail: str, **extra: Any) -> dict[str, Any]:
    """A ``responses=`` entry for a problem+json answer, with an example."""
    example = {
        "type": "urn:gradatlas:problem:...",
        "title": title,
        "status": status,
        "detail": detail,
        **extra,
    }
    return {"model": None, "description": title, "content": {PROBLEM_JSON: {"example": example}}}


DOC_422 = {"model": None, "content": {PROBLEM_JSON: {"example": EXAMPLE_422}}}
DOC_503 = problem_doc(503, "Store unavailable", "Redis cannot be reached: Connection refused.")

IMAGE_DOC: dict[str, Any] = {
    "description": "The figure, 800 pixels wide: PNG, SVG or PDF as the extension says. "
    "Final figures carry an `ETag` (answer 304 to `If-None-Match`) and are cached; "
    "every image is sent with `X-Content-Type-Options: nosniff` and a "
    "`Content-Security-Policy` that runs nothing.",
    "content": {
        "image/png": {"schema": {"type": "string", "format": "binary"}},
        "image/svg+xml": {"schema": {"type": "string"}},
        "application/pdf": {"schema": {"type": "string", "format": "binary"}},
    },
}
NOT_MODIFIED_DOC: dict[str, Any] = {"description": "Not modified: the `ETag` sent still holds."}


def image_responses(*problems: tuple[int, dict[str, Any]]) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a figure route: the image, 304, and the problems given."""
    out: dict[int | str, dict[str, Any]] = {200: IMAGE_DOC, 304: NOT_MODIFIED_DOC}
    out.update(dict(problems))
    return out


def install(app: FastAPI) -> None:
    """Say in OpenAPI what the handlers really send: every problem is a ``ProblemView``,
    and a 422 is problem+json naming each field, not FastAPI's own shape."""
    ref = "#/components/schemas/ProblemView"

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            problem = TypeAdapter(ProblemView).json_schema(
                ref_template="#/components/schemas/{model}"
            )
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components.update(problem.pop("$defs", {}))
            components["ProblemView"] = problem
            for ops in schema.get("paths", {}).values():
                for op in ops.values():
                    responses = op.get("responses", {})
                    if "422" in responses:
                        responses["422"] = {
                            "description": "Invalid request: problem+json naming each field",
                            "content": {PROBLEM_JSON: {"example": EXAMPLE_422}},
                        }
                    for answer in responses.values():
                        content = answer.get("content", {})
                        if PROBLEM_JSON in content:
                            content[PROBLEM_JSON]["schema"] = {"$ref": ref}
            # FastAPI's own validation error shapes are never sent.
            for unused in ("HTTPValidationError", "ValidationError"):
                components.pop(unused, None)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
