"""Service settings, read from ``GRADATLAS_*`` environment variables.

One ``Settings`` for the API and the worker, so both sides agree on the Redis
URL, the queue and the time limits. Read it through :func:`get_settings`
(cached); tests build their own ``Settings(...)`` or clear the cache, never
mutate it. ``core.nn`` and ``core.train`` never read settings: they take plain
arguments.
"""

from __future__ import annotations

import ipaddress
import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Self

from pydantic import Field, PrivateAttr, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from core.keys import KeyRing

#: A comma-separated list in the environment (``a,b,c``), a tuple here.
CommaList = Annotated[tuple[str, ...], NoDecode]


class Settings(BaseSettings):
    """Every knob of the service; the field name upper-cased, prefixed ``GRADATLAS_``."""

    # hide_input_in_errors: a bad setting must not print the API keys beside it.
    # An empty variable is an unset one: compose passes `${GRADATLAS_X:-}` through as "".
    model_config = SettingsConfigDict(
        env_prefix="GRADATLAS_",
        frozen=True,
        extra="ignore",
        hide_input_in_errors=True,
        env_ignore_empty=True,
    )

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

    # --- access: API keys, hosts, browsers ------------------------------------
    api_keys: SecretStr | None = Field(
        default=None,
        description="API keys as comma-separated tenant=key pairs (alice=k1,bob=k2). When "
        "set (here or in api_keys_file), every /v1 route needs `Authorization: Bearer <key>` "
        "and each tenant sees only its own experiments and sweeps.",
    )
    api_keys_file: Path | None = Field(
        default=None, description="A file of tenant=key pairs, one a line ('#' comments)."
    )
    allow_anonymous: bool = Field(
        default=False,
        description="Serve without API keys on an address other than loopback (trusted "
        "networks only).",
    )
    allowed_hosts: CommaList = Field(
        default=("localhost", "127.0.0.1", "::1", "api"),
        description="Host headers the API answers (comma-separated; '*.example.org' matches "
        "subdomains, '*' any): others get 400, which defeats DNS rebinding.",
    )
    cors_origins: CommaList = Field(
        default=(),
        description="Origins allowed to call the API from a browser (comma-separated); "
        "none by default (CORS off).",
    )

    # --- limits on what a client sends -----------------------------------------
    max_body_bytes: int = Field(
        default=1 << 20, ge=1024, description="Largest request body accepted (413 beyond)."
    )
    max_memory_mb: float = Field(
        default=2048.0,
        gt=0,
        description="Largest spec.memory() estimate accepted, in MiB (parameters, "
        "gradients, optimiser state, activations, data).",
    )
    max_active_per_tenant: int = Field(
        default=200,
        ge=1,
        description="Queued plus running experiments one tenant may have (429 beyond); "
        "without API keys, all clients share one quota.",
    )
    rate_limit_per_min: int = Field(
        default=3000,
        ge=0,
        description="Requests to /v1 per API key (per client address without keys) per "
        "minute, across every API process (429 beyond); 0 turns it off.",
    )
    idempotency_ttl_s: int = Field(
        default=24 * 3600,
        ge=1,
        description="How long an Idempotency-Key is remembered.",
    )

    _key_ring: KeyRing = PrivateAttr(default_factory=KeyRing)

    @field_validator("allowed_hosts", "cors_origins", mode="before")
    @classmethod
    def _comma_list(cls, v: Any) -> Any:
        if isinstance(v, str):
            return tuple(part.strip() for part in v.split(",") if part.strip())
        return v

    @model_validator(mode="after")
    def _read_keys(self) -> Self:
        # Only digests are kept (core.keys); errors name an entry by position, never a key.
        pairs = self.api_keys.get_secret_value().split(",") if self.api_keys else []
        ring = KeyRing.parse(pairs, source="GRADATLAS_API_KEYS")
        if self.api_keys_file is not None:
            try:
                lines = self.api_keys_file.read_text().splitlines()
            except OSError as e:
                raise ValueError(f"GRADATLAS_API_KEYS_FILE cannot be read: {e.strerror}") from e
            ring = ring.joined(KeyRing.parse(lines, source="GRADATLAS_API_KEYS_FILE"))
        self._key_ring = ring
        return self

    @property
    def key_ring(self) -> KeyRing:
        """The API keys' digests; empty when the API runs without keys."""
        return self._key_ring

    @property
    def loopback_only(self) -> bool:
        """Whether ``api_host`` is a loopback address (the only place an anonymous API binds)."""
        host = self.api_host.strip("[]")
        if host == "localhost":
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False

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
