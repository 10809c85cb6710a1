"""OpenAPI descriptions of the insight routes' answers: problems and images."""

from __future__ import annotations

from typing import Any

from api.problems import EXAMPLE_422, PROBLEM_JSON


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
    "description": "The figure, 800 pixels wide: PNG or SVG as the extension says. "
    "Final figures carry an `ETag` (answer 304 to `If-None-Match`) and are cached; "
    "every image is sent with `X-Content-Type-Options: nosniff` and a "
    "`Content-Security-Policy` that runs nothing.",
    "content": {
        "image/png": {"schema": {"type": "string", "format": "binary"}},
        "image/svg+xml": {"schema": {"type": "string"}},
    },
}
NOT_MODIFIED_DOC: dict[str, Any] = {"description": "Not modified: the `ETag` sent still holds."}


def image_responses(*problems: tuple[int, dict[str, Any]]) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a figure route: the image, 304, and the problems given."""
    out: dict[int | str, dict[str, Any]] = {200: IMAGE_DOC, 304: NOT_MODIFIED_DOC}
    out.update(dict(problems))
    return out
