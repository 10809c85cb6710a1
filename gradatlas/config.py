"""Where the client finds the service when it is not told (no imports: the CLI reads it early)."""

from __future__ import annotations

import os

DEFAULT_URL = "http://127.0.0.1:8000"
#: The environment variable that names the service for ``Client()`` and the ``gradatlas`` command.
URL_ENV = "GRADATLAS_URL"


def service_url(url: str | None = None) -> str:
    """``url``, else ``$GRADATLAS_URL``, else :data:`DEFAULT_URL`; read when called."""
    # Not through core.settings: those are the server's settings, and a client must not
    # fail on a server variable it never uses.
    return url or os.environ.get(URL_ENV) or DEFAULT_URL
