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
DOC_429 = problem_doc(
    429,
    "Too many requests",
    "More than 3000 requests in a minute (GRADATLAS_RATE_LIMIT_PER_MIN); retry in 12 s.",
)
#: A figure of an experiment that has no record yet (the plot and compare routes).
DOC_NOTHING_RECORDED = problem_doc(
    409,
    "Conflict",
    "Experiment 0193... is queued and has recorded nothing yet; try again in a few seconds.",
)
DOC_503 = problem_doc(
    503, "Store unavailable", "The store cannot be reached (the connection is down); retry shortly."
)

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
            _add_access_statuses(schema)
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
            _add_head_and_options(schema)
            # FastAPI's own validation error shapes are never sent.
            for unused in ("HTTPValidationError", "ValidationError"):
                components.pop(unused, None)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


#: What ``api.access`` and ``api.body`` answer before a route runs.
_ACCESS = {
    400: ("Bad request", "This server does not answer to that Host name; ..."),
    401: ("Unauthorized", "Send an API key: `Authorization: Bearer <key>`."),
    429: (
        "Too many requests",
        "More than 3000 requests in a minute (GRADATLAS_RATE_LIMIT_PER_MIN); retry in 12 s.",
    ),
}
_UNSAFE = {
    403: ("Forbidden", "A page of another site cannot change anything here (Sec-Fetch-Site)."),
    415: ("Unsupported Media Type", "The body was sent as 'text/plain'; send it as JSON."),
}
_BODY = {
    413: ("Content Too Large", "The body is larger than 1048576 bytes (GRADATLAS_MAX_BODY_BYTES)."),
    422: ("Invalid request", "1 field is invalid: body: NaN is not JSON: send a finite number"),
}


def _problem(status: int, title: str, detail: str) -> dict[str, Any]:
    """A problem response as it goes into the schema (``problem_doc`` is for ``responses=``)."""
    doc = {k: v for k, v in problem_doc(status, title, detail).items() if k != "model"}
    doc["content"][PROBLEM_JSON]["schema"] = {"$ref": "#/components/schemas/ProblemView"}
    return doc


def _add(responses: dict[str, Any], table: dict[int, tuple[str, str]]) -> None:
    for status, (title, detail) in table.items():
        responses.setdefault(str(status), _problem(status, title, detail))


def _add_access_statuses(schema: dict[str, Any]) -> None:
    """Every status an operation can answer, those of the middleware included."""
    for path, ops in schema.get("paths", {}).items():
        for method, op in ops.items():
            responses = op.setdefault("responses", {})
            responses.setdefault("400", _problem(400, *_ACCESS[400]))
            if not path.startswith("/v1"):
                continue
            _add(responses, _ACCESS)
            if method in ("post", "put", "patch", "delete"):
                _add(responses, _UNSAFE)
            if "requestBody" in op:
                _add(responses, _BODY)


def _add_head_and_options(schema: dict[str, Any]) -> None:
    """HEAD beside every GET and OPTIONS on every path, as ``api.methods`` answers them."""
    for ops in schema.get("paths", {}).values():
        get = ops.get("get")
        path_params = [
            p
            for op in ops.values()
            for p in op.get("parameters", [])
            if isinstance(p, dict) and p.get("in") == "path"
        ]
        # OPTIONS answers for any value of a path's parameters: each is just a string here.
        path_params = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in dict.fromkeys(p["name"] for p in path_params)
        ]
        if get is not None:
            ops["head"] = {
                **{k: v for k, v in get.items() if k not in ("responses", "operationId")},
                "summary": f"{get.get('summary', '')} (headers only)",
                "operationId": f"{get.get('operationId', 'get')}_head",
                # The same statuses and headers as GET, never a body.
                "responses": {
                    code: {"description": answer.get("description", "")}
                    for code, answer in get["responses"].items()
                },
            }
        methods = sorted({m.upper() for m in ops} | {"OPTIONS"})
        first = next(iter(ops.values()))
        ops["options"] = {
            "tags": first.get("tags", []),
            "summary": "The methods this path answers",
            "operationId": f"{first.get('operationId', 'path')}_options",
            "parameters": path_params,
            "responses": {
                "204": {
                    "description": f"No body; `Allow: {', '.join(methods)}`.",
                    "headers": {"Allow": {"schema": {"type": "string"}}},
                },
                "400": _problem(400, *_ACCESS[400]),
                "404": _problem(404, "Not found", "No route OPTIONS /v1/nothing."),
            },
        }
