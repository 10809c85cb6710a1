"""Worker liveness in the store, for ``/readyz`` and the metrics.

The worker's main process writes a heartbeat every ``heartbeat_s`` seconds
(``Store.beat``); readiness asks the store which heartbeats are fresh. That is
one Redis round trip, unlike ``celery inspect ping``, which broadcasts and then
waits out its timeout for replies. On shutdown the worker raises its drain flag
so that its runs stop after the current step and go back to the queue.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from typing import Any

from celery.signals import worker_ready, worker_shutdown, worker_shutting_down

from core.errors import StoreUnavailable
from core.settings import get_settings
from core.store import Store

log = logging.getLogger(__name__)


class Heartbeat(threading.Thread):
    def __init__(self, store: Store, worker: str, every_s: float) -> None:
        super().__init__(name="gradatlas-heartbeat", daemon=True)
        self.store, self.worker, self.every_s = store, worker, every_s
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
            if self.done.wait(self.every_s):
                return


_beat: Heartbeat | None = None


def _on_ready(sender: Any = None, **_: Any) -> None:
    global _beat
    settings = get_settings()
    _beat = Heartbeat(Store.from_settings(settings), sender.hostname, settings.heartbeat_s)
    _beat.start()


def _on_shutting_down(sender: Any = None, **_: Any) -> None:
    if _beat is not None:
        try:
            _beat.store.set_draining(_beat.worker)
        except StoreUnavailable as e:
            log.warning("could not ask running experiments to hand back: %s", e)


def _on_shutdown(**_: Any) -> None:
    if _beat is not None:
        _beat.done.set()
        with contextlib.suppress(StoreUnavailable):
            _beat.store.worker_gone(_beat.worker)


def connect() -> None:
    """Hook the heartbeat to the worker's life (the API never calls this)."""
    worker_ready.connect(_on_ready, weak=False)
    worker_shutting_down.connect(_on_shutting_down, weak=False)
    worker_shutdown.connect(_on_shutdown, weak=False)
