"""What the API (producer) and the worker (consumer) both need to know about the queue.

The task's name, the serializer and the Celery configuration built from
:class:`core.settings.Settings`, as plain data: no Celery import and no side
effect, so the API can send tasks by name without importing the worker, and
importing this module changes nothing in the process (the BLAS thread
variables are the worker's business, set in ``worker/celery_app.py``).
``docs/service.md`` explains the reliability settings.
"""

from __future__ import annotations

from typing import Final, TypedDict

from core.settings import Settings

#: The one task. Its name is independent of the module that implements it, so
#: messages queued before an upgrade still find their task after it.
TASK_RUN_EXPERIMENT: Final = "gradatlas.run_experiment"

#: Every message (tasks, results, events) is JSON: nothing on the queue can
#: execute code when it is read.
SERIALIZER: Final = "json"

#: Seconds Celery keeps a task's result meta; the store, not Celery, holds results.
RESULT_EXPIRES_S: Final = 3600

#: Seconds allowed to open a connection to Redis, for the broker and the backend.
CONNECT_TIMEOUT_S: Final = 2.0

#: Socket timeout floor for the queue's connections: Celery's own calls
#: (BRPOP and friends) need longer than the store's quick commands.
MIN_SOCKET_TIMEOUT_S: Final = 5.0


class TransportOptions(TypedDict):
    """``broker_transport_options`` of Celery's Redis transport."""

    visibility_timeout: int
    unacked_restore_interval: int
    unacked_restore_throttle: int
    socket_timeout: float
    socket_connect_timeout: float


class BackendTransportOptions(TypedDict):
    visibility_timeout: int


class PublishRetryPolicy(TypedDict):
    max_retries: int
    interval_start: float
    interval_step: float
    interval_max: float


class CeleryConfig(TypedDict):
    """The Celery settings both sides use (keys are Celery's setting names)."""

    broker_url: str
    result_backend: str
    task_serializer: str
    result_serializer: str
    event_serializer: str
    accept_content: list[str]
    result_accept_content: list[str]
    task_ignore_result: bool
    result_expires: int
    task_default_queue: str
    task_acks_late: bool
    task_reject_on_worker_lost: bool
    worker_prefetch_multiplier: int
    task_soft_time_limit: int
    task_time_limit: int
    broker_transport_options: TransportOptions
    result_backend_transport_options: BackendTransportOptions
    redis_socket_timeout: float
    redis_socket_connect_timeout: float
    worker_cancel_long_running_tasks_on_connection_loss: bool
    worker_max_tasks_per_child: int
    worker_max_memory_per_child: int
    worker_concurrency: int
    broker_connection_retry_on_startup: bool
    broker_connection_timeout: float
    task_publish_retry: bool
    task_publish_retry_policy: PublishRetryPolicy


def celery_config(settings: Settings) -> CeleryConfig:
    """The Celery configuration of both sides, from ``settings``.

    The API's producer and the worker's app are configured with the same
    mapping, so they agree on the broker, the queue and the serializer.
    """
    socket_timeout = max(MIN_SOCKET_TIMEOUT_S, settings.redis_socket_timeout_s)
    # A task is killed (hard limit) before Redis would hand its message to another
    # worker (visibility timeout), so one experiment never runs twice at once;
    # Settings checks that the limits nest.
    transport: TransportOptions = {
        "visibility_timeout": settings.visibility_timeout_s,
        "unacked_restore_interval": settings.restore_interval_s,
        "unacked_restore_throttle": 1,
        "socket_timeout": socket_timeout,
        "socket_connect_timeout": CONNECT_TIMEOUT_S,
    }
    return {
        "broker_url": settings.broker,
        "result_backend": settings.broker,
        "task_serializer": SERIALIZER,
        "result_serializer": SERIALIZER,
        "event_serializer": SERIALIZER,
        "accept_content": [SERIALIZER],
        "result_accept_content": [SERIALIZER],
        # The store is the source of truth; results only carry progress for Flower.
        "task_ignore_result": True,
        "result_expires": RESULT_EXPIRES_S,
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
        "redis_socket_timeout": socket_timeout,
        "redis_socket_connect_timeout": CONNECT_TIMEOUT_S,
        "worker_cancel_long_running_tasks_on_connection_loss": True,
        "worker_max_tasks_per_child": settings.max_tasks_per_child,
        "worker_max_memory_per_child": settings.max_memory_per_child_kb,
        "worker_concurrency": settings.concurrency,
        "broker_connection_retry_on_startup": True,
        "broker_connection_timeout": CONNECT_TIMEOUT_S,
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
