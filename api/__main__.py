"""``python -m api``: serve the API with uvicorn, configured by GRADATLAS_* settings."""

from __future__ import annotations

import uvicorn

from core.settings import get_settings


def main() -> None:
    s = get_settings()
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
