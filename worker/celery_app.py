"""The Celery application of the worker: configuration only.

The configuration itself lives in :mod:`core.queue`, shared with the API's
producer; it is built from :func:`core.settings.get_settings` when Celery first
needs it, not at import time. Tasks are imported through ``include``.

Start a worker with ``celery -A worker.celery_app worker``.
"""

from __future__ import annotations

import os

from core.threads import limit_blas_threads

# One BLAS thread per worker process unless GRADATLAS_BLAS_THREADS says otherwise. Set
# before NumPy is first imported, which is why it happens here and not in core.queue.
limit_blas_threads(int(os.environ.get("GRADATLAS_BLAS_THREADS", "1")))

from celery import Celery  # noqa: E402  (after the BLAS variables, on purpose)

from core.queue import celery_config  # noqa: E402
from core.settings import get_settings  # noqa: E402

__all__ = ["app", "celery_app"]

celery_app = Celery("gradatlas", include=["worker.tasks"])
celery_app.add_defaults(lambda: {**celery_config(get_settings())})
#: ``celery -A worker.celery_app`` looks for ``app`` or ``celery``.
app = celery_app
