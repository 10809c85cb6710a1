"""Service settings, read from ``GRADATLAS_*`` environment variables.

One ``Settings`` for the API and the worker, so both sides agree on the Redis
URL, the queue and the time limits. Read it through :func:`get_settings`
(cached); tests build their own ``Settings(...)`` or clear the cache, never
mutate it. ``core.nn`` and ``core.train`` never read settings: they take plain
arguments.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Self

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob of the service; the field name upper-cased, prefixed ``GRADATLAS_``."""

    model_config = SettingsConfigDict(env_prefix="GRADATLAS_", frozen=True, extra="ignore")

    # --- Redis and the queue -------------------------------------------------
    redis_url: str = Field(
        default="redis://127.0.0.1:6379/0",
        description="Redis holding experiment records and results (and the queue by default).",
    )
    broker_url: str | None = Field(
        default=None, description="Celery broker; defaults to redis_url."
    )
    queue: str = Field(default="gradatlas", description="Celery queue experiments go to.")
    redis_socket_timeout_s: float = Field(
        default=1.5,
        gt=0,
        description="Socket timeout for Redis calls: an unreachable Redis becomes a 503 "
        "within a few seconds instead of a hang.",
    )
    key_prefix: str = Field(default="gradatlas", description="Prefix of every store key.")

    # --- experiments ---------------------------------------------------------
    result_ttl_s: int = Field(
        default=7 * 24 * 3600,
        ge=60,
        description="How long a finished experiment and its result are kept.",
    )
    max_attempts: int = Field(
        default=3,
        ge=1,
        description="Deliveries of one experiment before a worker that keeps dying "
        "marks it failed.",
    )
    max_depth: int = Field(default=500, ge=1, description="Largest model.depth accepted.")
    max_width: int = Field(default=4096, ge=1, description="Largest hidden width accepted.")
    max_flops: float = Field(
        default=1e14, gt=0, description="Largest spec.cost().flops accepted (training work)."
    )
    max_records: int = Field(
        default=10_000, ge=1, description="Most statistics records one experiment may keep."
    )
    max_record_values: int = Field(
        default=5_000_000,
        ge=1,
        description="Most recorded floats (records x layers x stats): bounds the result size.",
    )

    # --- the worker ----------------------------------------------------------
    worker_concurrency: int | None = Field(
        default=None, ge=1, description="Worker processes per worker; default: the CPU count."
    )
    blas_threads: int = Field(
        default=1,
        ge=1,
        description="BLAS threads per worker process (one process per core is faster "
        "than threads fighting over cores).",
    )
    task_soft_time_limit_s: int = Field(
        default=3600, ge=1, description="A run past this ends failed with a clear error."
    )
    task_time_limit_s: int = Field(
        default=3900, ge=1, description="A run past this has its process killed."
    )
    visibility_timeout_s: int = Field(
        default=7200,
        ge=1,
        description="Seconds before Redis re-delivers a task whose worker vanished.",
    )
    restore_interval_s: int = Field(
        default=10,
        ge=1,
        description="Seconds between the worker's sweeps for tasks to re-deliver.",
    )
    lease_s: float = Field(
        default=60.0,
        gt=0,
        description="A running experiment whose worker has not renewed its lease for this "
        "long counts as abandoned when its task is re-delivered.",
    )
    progress_every_s: float = Field(
        default=0.5, gt=0, description="Seconds between progress writes."
    )
    cancel_poll_s: float = Field(
        default=0.25, gt=0, le=1.0, description="Seconds between checks of the cancel flag."
    )
    max_tasks_per_child: int = Field(
        default=100, ge=1, description="Tasks a worker process runs before it is replaced."
    )
    max_memory_per_child_kb: int = Field(
        default=4_000_000,
        ge=1000,
        description="Resident kilobytes after which a worker process is replaced.",
    )
    heartbeat_s: float = Field(
        default=2.0, gt=0, description="Seconds between a worker's heartbeats."
    )

    # --- recovery (worker/recovery.py) ----------------------------------------
    recovery_interval_s: float = Field(
        default=5.0,
        gt=0,
        description="Seconds between a worker's sweeps for experiments that no worker is "
        "running and no message will reach (a crashed worker or Redis); one worker "
        "sweeps at a time.",
    )
    recovery_grace_s: float = Field(
        default=10.0,
        gt=0,
        description="A message sent less than this long ago counts as on its way: recovery "
        "sends another only after it.",
    )
    worker_heartbeat_file: str | None = Field(
        default=None,
        description="A file the worker touches at every heartbeat written to the store; "
        "python -m worker.healthcheck reads it (compose's healthcheck).",
    )

    # --- the API -------------------------------------------------------------
    api_host: str = Field(default="127.0.0.1", description="Address uvicorn binds.")
    api_port: int = Field(default=8000, ge=1, le=65535, description="Port uvicorn binds.")
    api_workers: int = Field(default=1, ge=1, description="uvicorn worker processes.")
    log_level: str = Field(default="info", description="Log level of uvicorn.")
    status_cache_s: float = Field(
        default=0.25,
        ge=0,
        description="Seconds the API may answer GET /v1/experiments/{id} from memory (0: never).",
    )
    retry_after_s: int = Field(default=2, ge=1, description="Retry-After on 202 answers and 503s.")
    max_sweep_children: int = Field(
        default=64, ge=1, description="Most experiments one sweep's grid may expand to."
    )

    @model_validator(mode="after")
    def _limits_nest(self) -> Self:
        # A task must end (soft, then hard limit) before Redis hands it to another worker,
        # and an abandoned run's lease must lapse before its re-delivery, or two runs overlap.
        if not (self.task_soft_time_limit_s < self.task_time_limit_s < self.visibility_timeout_s):
            raise ValueError(
                "need task_soft_time_limit_s < task_time_limit_s < visibility_timeout_s, got "
                f"{self.task_soft_time_limit_s}, {self.task_time_limit_s}, "
                f"{self.visibility_timeout_s}"
            )
        if self.lease_s >= self.visibility_timeout_s:
            raise ValueError("need lease_s < visibility_timeout_s")
        return self

    @property
    def broker(self) -> str:
        return self.broker_url or self.redis_url

    @property
    def concurrency(self) -> int:
        return self.worker_concurrency or os.cpu_count() or 1


@lru_cache
def get_settings() -> Settings:
    """The process's settings, read from the environment once."""
    return Settings()
