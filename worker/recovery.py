"""Recovery: experiments whose worker or message was lost get a new message.

Every worker's main process runs a :class:`Recovery` thread; once every
``GRADATLAS_RECOVERY_INTERVAL_S`` one of them (whichever takes the store's lock)
sweeps: it asks the store for experiments nobody is running (``queued``, or
``running`` with a lapsed lease) and the broker for the tasks it still holds, and
sends a message for each experiment that has none. The claim's compare-and-set
lets exactly one delivery run an experiment, so a message too many is harmless.

So an experiment whose worker was killed (``kill -9``, OOM, a lost node) runs
again within about ``lease_s + recovery_interval_s`` of its last lease renewal,
instead of after the broker's visibility timeout (hours), and one whose message a
Redis crash lost runs again once Redis is back.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from kombu.transport.redis import Channel

from core.errors import StoreUnavailable
from core.settings import Settings
from core.store import BrokerKeys, Store

log = logging.getLogger(__name__)


def broker_keys(queue: str) -> BrokerKeys:
    """Where kombu's Redis transport keeps ``queue``'s messages (its default names)."""
    lists = [queue, *(f"{queue}{Channel.sep}{p}" for p in Channel.priority_steps if p)]
    return BrokerKeys(lists, Channel.unacked_key, Channel.unacked_index_key)


class Recovery(threading.Thread):
    """Sweeps for stray experiments every ``recovery_interval_s`` (see the module)."""

    def __init__(
        self, store: Store, settings: Settings, worker: str, send: Callable[[str], None]
    ) -> None:
        super().__init__(name="gradatlas-recovery", daemon=True)
        self.store, self.settings, self.worker, self.send = store, settings, worker, send
        self.done = threading.Event()

    def sweep(self, *, now: float | None = None) -> list[str]:
        """One sweep, if no other worker's is under way; the ids sent again."""
        s = self.settings
        now = time.time() if now is None else now
        if not self.store.take_recovery_lock(self.worker, ttl_s=0.9 * s.recovery_interval_s):
            return []
        strays = self.store.strays(now=now, grace_s=s.recovery_grace_s)
        if not strays:
            return []
        # Read after the records: a message that moves on meanwhile is seen, or sent again.
        waiting = self.store.message_ids(broker_keys(s.queue), delivered_after=now - s.lease_s)
        sent: list[str] = []
        for stray in strays:
            if stray.id in waiting:
                continue
            if not self.store.mark_redispatched(stray.id, grace_s=s.recovery_grace_s):
                continue
            self.send(stray.id)
            log.warning(
                "experiment %s was %s with no worker on it and no message: sent again",
                stray.id,
                stray.status,
            )
            sent.append(stray.id)
        return sent

    def run(self) -> None:
        while not self.done.wait(self.settings.recovery_interval_s):
            try:
                self.sweep()
            except StoreUnavailable as e:
                log.info("recovery sweep skipped: %s", e)
            except Exception:  # a sweep must never end the thread
                log.exception("recovery sweep failed")
