"""The Celery application: configuration only.

Tasks are imported by the worker through ``include``; the API imports this
module for the app instance alone and sends tasks by name. The configuration
is built from :func:`core.settings.get_settings` when Celery first
needs it, not at import time.

Start a worker with ``celery -A worker.celery_app worker``.
"""

from __future__ import annotations

import os
from typing import Any

# One BLAS thread per worker process: processes already fill the cores, and BLAS
# threads on top of them only fight. Must be set before NumPy is first imported.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, os.environ.get("GRADATLAS_BLAS_THREADS", "1"))

from celery import Celery  # noqa: E402  (after the BLAS variables, on purpose)

from core.settings import Settings, get_settings  # noqa: E402

TASK_RUN_EXPERIMENT = "gradatlas.run_experiment"


def celery_config(settings: Settings) -> dict[str, Any]:
    """Celery settings from ours; see docs/service.md, "Reliability settings"."""
    # A task is killed (hard limit) before Redis would hand its message to another
    # worker (visibility timeout), so one experiment never runs twice at once.
    transport = {
        "visibility_timeout": settings.visibility_timeout_s,
        "unacked_restore_interval": settings.restore_interval_s,
        "unacked_restore_throttle": 1,
        "socket_timeout": max(5.0, settings.redis_socket_timeout_s),
        "socket_connect_timeout": 2.0,
    }
    return {
        "broker_url": settings.broker,
        "result_backend": settings.broker,
        "task_serializer": "json",
        "result_serializer": "json",
        "event_serializer": "json",
        "accept_content": ["json"],
        "result_accept_content": ["json"],
        # The store is the source of truth; results only carry progress for Flower.
        "task_ignore_result": True,
        "result_expires": 3600,
        "task_default_queue": settings.queue,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_soft_time_limit": settings.task_soft_time_limit_s,
        "task_time_limit": settings.task_time_limit_s,
        "broker_transport_options": transport,
        "result_backend_transport_options": {
            "visibility_timeout": settings.visibility_timeout_s,
        },
        "redis_socket_timeout": max(5.0, settings.redis_socket_timeout_s),
        "redis_socket_connect_timeout": 2.0,
        "worker_cancel_long_running_tasks_on_connection_loss": True,
        "worker_max_tasks_per_child": settings.max_tasks_per_child,
        "worker_max_memory_per_child": settings.max_memory_per_child_kb,
        "worker_concurrency": settings.concurrency,
        "broker_connection_retry_on_startup": True,
        "broker_connection_timeout": 2.0,
        # A publish that cannot reach Redis fails in about a second (the API answers 503)
        # rather than retrying for long.
        "task_publish_retry": True,
        "task_publish_retry_policy": {
            "max_retries": 1,
            "interval_start": 0,
            "interval_step": 0.2,
            "interval_max": 0.2,
        },
    }


celery_app = Celery("gradatlas", include=["worker.tasks"])
celery_app.add_defaults(lambda: celery_config(get_settings()))
#: ``celery -A worker.celery_app`` looks for ``app`` or ``celery``.
app = celery_app
