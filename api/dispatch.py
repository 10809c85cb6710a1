"""Sending experiments to the workers, by task name (the API never imports tasks)."""

from __future__ import annotations

import logging
from typing import Protocol

from celery import Celery

from core.errors import StoreUnavailable
from core.queue import TASK_RUN_EXPERIMENT, celery_config
from core.settings import Settings

log = logging.getLogger(__name__)


class Dispatcher(Protocol):
    def send(self, experiment_id: str) -> None: ...

    def revoke(self, experiment_id: str) -> None: ...


class CeleryDispatcher:
    """A Celery producer of the API's own, configured like the workers."""

    def __init__(self, settings: Settings) -> None:
        self.queue = settings.queue
        self.app = Celery("gradatlas-api", set_as_current=False)
        self.app.conf.update(celery_config(settings))

    def send(self, experiment_id: str) -> None:
        try:
            # The task id is the experiment id, so a revoke needs nothing else.
            self.app.send_task(
                TASK_RUN_EXPERIMENT, args=[experiment_id], task_id=experiment_id, queue=self.queue
            )
        except Exception as e:  # kombu and redis raise many kinds of connection errors
            # The broker's error names its host and port: logged, not told to the client.
            log.warning("sending %s to the queue failed: %s", experiment_id, e)
            raise StoreUnavailable("The queue cannot be reached; retry shortly.") from e

    def revoke(self, experiment_id: str) -> None:
        # Best effort: the store already says "cancelled", and a delivered task
        # that finds it so does nothing; the revoke only spares the worker a trip.
        try:
            self.app.control.revoke(experiment_id)
        except Exception as e:
            log.warning("revoke of %s not sent: %s", experiment_id, e)

    def close(self) -> None:
        self.app.close()
