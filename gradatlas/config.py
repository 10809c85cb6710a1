"""The client's defaults: where the service is, how long to wait (no imports: the CLI reads
them before it loads httpx)."""

from __future__ import annotations

import os

DEFAULT_URL = "http://127.0.0.1:8000"
#: The environment variable that names the service for ``Client()`` and the ``gradatlas`` command.
URL_ENV = "GRADATLAS_URL"
#: The environment variable holding the API key a client sends (``Authorization: Bearer``).
API_KEY_ENV = "GRADATLAS_API_KEY"
#: Seconds for one request (connect, read, write).
DEFAULT_TIMEOUT_S = 30.0
#: ``wait``'s defaults: give up after an hour, ask twice a second.
WAIT_TIMEOUT_S, POLL_S = 3600.0, 0.5


def service_url(url: str | None = None) -> str:
    """``url``, else ``$GRADATLAS_URL``, else :data:`DEFAULT_URL`; read when called."""
    # Not through core.settings: those are the server's settings, and a client must not
    # fail on a server variable it never uses.
    return url or os.environ.get(URL_ENV) or DEFAULT_URL
