"""Recovery's sweep against a real Redis: what it sends again, and what it leaves alone."""

from __future__ import annotations

import json
import time
from pathlib import Path

from core.settings import Settings
from core.spec import ExperimentSpec
from core.store import Store
from worker.healthcheck import check
from worker.recovery import Recovery, broker_keys

SPEC = ExperimentSpec.model_validate(
    {"model": {"depth": 2, "width": 4, "activation": "relu"}, "training": {"epochs": 1}}
)


def recovery(store: Store, sent: list[str]) -> Recovery:
    settings = Settings(
        key_prefix=store.prefix,
        queue=f"{store.prefix}-q",
        lease_s=5,
        recovery_interval_s=0.5,
        recovery_grace_s=2,
    )
    return Recovery(store, settings, "w-test", sent.append)


def test_a_sweep_sends_strays_once_and_leaves_the_rest(store: Store) -> None:
    sent: list[str] = []
    r = recovery(store, sent)
    now = time.time()
    lost = store.create(SPEC, now=now - 60).id
    waiting = store.create(SPEC, now=now - 60).id
    store.redis.lpush(r.settings.queue, json.dumps({"headers": {"id": waiting}}))
    store.create(SPEC)  # just sent: on its way
    abandoned = store.create(SPEC, now=now - 60).id
    store.claim(abandoned, worker="gone", max_attempts=3, lease_s=5, now=now - 30)
    live = store.create(SPEC, now=now - 60).id
    store.claim(live, worker="alive", max_attempts=3, lease_s=60)
    assert sorted(r.sweep(now=now)) == sorted([lost, abandoned])
    assert sorted(sent) == sorted([lost, abandoned])
    # The sweep lock: a second worker sweeping at the same moment does nothing.
    assert recovery(store, []).sweep(now=now) == []
    # Once the lock lapses, nothing is sent twice within the grace period.
    time.sleep(0.5)
    assert r.sweep(now=now + 1) == []


def test_broker_keys_are_kombus() -> None:
    keys = broker_keys("q")
    assert keys.lists[0] == "q"
    assert (keys.unacked, keys.unacked_index) == ("unacked", "unacked_index")


def test_the_healthcheck_reads_the_heartbeat_files_age(tmp_path: Path) -> None:
    beat = tmp_path / "beat"
    s = Settings(worker_heartbeat_file=str(beat), heartbeat_s=2)
    assert check(s) is not None  # no heartbeat yet
    beat.touch()
    assert check(s) is None
    assert check(s, now=time.time() + 10) is not None
    assert check(Settings()) is not None
