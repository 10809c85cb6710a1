"""Worker liveness in the store, for ``/readyz`` and the metrics.

The worker's main process writes a heartbeat every ``heartbeat_s`` seconds
(``Store.beat``); readiness asks the store which heartbeats are fresh. That is
one Redis round trip, unlike ``celery inspect ping``, which broadcasts and then
waits out its timeout for replies. On shutdown the worker raises its drain flag
so that its runs stop after the current step and go back to the queue.

After each heartbeat the store took, the worker touches
``GRADATLAS_WORKER_HEARTBEAT_FILE`` when set: ``python -m worker.healthcheck``
(compose's healthcheck) reads its age, with no Redis round trip. The main
process also starts the recovery thread (``worker/recovery.py``) here.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from pathlib import Path
from typing import Any

from celery.signals import worker_ready, worker_shutdown, worker_shutting_down

from core.errors import StoreUnavailable
from core.queue import TASK_RUN_EXPERIMENT
from core.settings import get_settings
from core.store import Store
from worker.recovery import Recovery

log = logging.getLogger(__name__)


class Heartbeat(threading.Thread):
    def __init__(self, store: Store, worker: str, every_s: float, file: Path | None = None) -> None:
        super().__init__(name="gradatlas-heartbeat", daemon=True)
        self.store, self.worker, self.every_s, self.file = store, worker, every_s, file
        self.done = threading.Event()

    def run(self) -> None:
        try:
            self.store.worker_started(self.worker, ttl_s=3 * self.every_s)
        except StoreUnavailable as e:
            log.warning("worker start not recorded: %s", e)
        while True:
            try:
                self.store.beat(self.worker, ttl_s=3 * self.every_s)
            except StoreUnavailable as e:
                log.warning("heartbeat not written: %s", e)
            else:
                self._touch()
            if self.done.wait(self.every_s):
                return

    def _touch(self) -> None:
        if self.file is not None:
            try:
                self.file.touch()
            except OSError as e:
                log.warning("heartbeat file %s not touched: %s", self.file, e)


_beat: Heartbeat | None = None
_recovery: Recovery | None = None


def _on_ready(sender: Any = None, **_: Any) -> None:
    global _beat, _recovery
    settings = get_settings()
    store = Store.from_settings(settings)
    file = Path(settings.worker_heartbeat_file) if settings.worker_heartbeat_file else None
    _beat = Heartbeat(store, sender.hostname, settings.heartbeat_s, file)
    _beat.start()
    app = sender.app

    def send(exp_id: str) -> None:
        # As the API sends it: the task id is the experiment id.
        app.send_task(TASK_RUN_EXPERIMENT, args=[exp_id], task_id=exp_id, queue=settings.queue)

    _recovery = Recovery(Store.from_settings(settings), settings, sender.hostname, send)
    _recovery.start()


def _on_shutting_down(sender: Any = None, **_: Any) -> None:
    if _beat is not None:
        try:
            _beat.store.set_draining(_beat.worker)
        except StoreUnavailable as e:
            log.warning("could not ask running experiments to hand back: %s", e)


def _on_shutdown(**_: Any) -> None:
    if _recovery is not None:
        _recovery.done.set()
    if _beat is not None:
        _beat.done.set()
        with contextlib.suppress(StoreUnavailable):
            _beat.store.worker_gone(_beat.worker)


def connect() -> None:
    """Hook the heartbeat to the worker's life (the API never calls this)."""
    worker_ready.connect(_on_ready, weak=False)
    worker_shutting_down.connect(_on_shutting_down, weak=False)
    worker_shutdown.connect(_on_shutdown, weak=False)
