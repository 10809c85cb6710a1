"""``python -m api``: serve the API with uvicorn, configured by GRADATLAS_* settings."""

from __future__ import annotations

import sys

from core.threads import limit_blas_threads

# The API's numeric work (predictions, figures) runs in a thread pool beside other
# requests: one BLAS thread each. Before NumPy is first imported (api.app imports it).
limit_blas_threads(1)

import uvicorn  # noqa: E402

from core.settings import Settings, get_settings  # noqa: E402


def exposure_error(s: Settings) -> str | None:
    """Why these settings must not be served, or None: an API without keys answers
    anyone who reaches it, so it binds loopback only unless told it may."""
    if s.key_ring or s.loopback_only or s.allow_anonymous:
        return None
    return (
        f"refusing to serve without API keys on {s.api_host}: anyone who reaches it could "
        "run, read and delete experiments. Set GRADATLAS_API_KEYS (or GRADATLAS_API_KEYS_FILE), "
        "bind GRADATLAS_API_HOST=127.0.0.1, or set GRADATLAS_ALLOW_ANONYMOUS=true on a "
        "trusted network."
    )


def main() -> None:
    s = get_settings()
    error = exposure_error(s)
    if error:
        sys.exit(f"gradatlas api: {error}")
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host=s.api_host,
        port=s.api_port,
        workers=s.api_workers,
        log_level=s.log_level,
        # Behind a proxy (compose, k8s) the client address comes from X-Forwarded-For.
        proxy_headers=True,
    )


if __name__ == "__main__":
    main()
