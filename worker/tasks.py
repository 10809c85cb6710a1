"""Celery tasks: thin adapters from a queue message to ``ExperimentRunner``."""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

from celery import Task
from celery.exceptions import Reject

from core.queue import TASK_RUN_EXPERIMENT
from core.result import ProgressDict
from core.settings import get_settings
from core.store import Store
from worker import heartbeat
from worker.celery_app import celery_app
from worker.runner import ExperimentRunner

log = logging.getLogger(__name__)
heartbeat.connect()


@lru_cache
def get_store() -> Store:
    """One store (and connection pool) per worker process."""
    return Store.from_settings(get_settings())


@celery_app.task(name=TASK_RUN_EXPERIMENT, bind=True)
def run_experiment_task(self: Task[Any, Any], experiment_id: str) -> str:
    """Run experiment ``experiment_id``; the store records how it went."""
    runner = ExperimentRunner(
        get_store(),
        get_settings(),
        worker=self.request.hostname or "local",
        on_update=lambda progress: _report(self, progress),
    )
    outcome = runner.run(experiment_id)
    if outcome.kind == "busy":
        # Another attempt still holds the lease: look again once it would have lapsed.
        raise self.retry(countdown=outcome.wait_s + 1, max_retries=None)
    if outcome.kind == "handed_back":
        raise Reject("worker shutting down: experiment handed back", requeue=True)
    return outcome.kind


def _report(task: Task[Any, Any], progress: ProgressDict) -> None:
    # Progress for Flower; skipped when the task is called directly (tests).
    if task.request.id and not task.request.called_directly:
        task.update_state(state="PROGRESS", meta=dict(progress))
