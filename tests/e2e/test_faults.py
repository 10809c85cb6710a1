"""Faults with real processes: two Celery workers, redis-server and the API, as compose runs them.

Each test breaks something the way an operator would (``kill -9`` of a pool
child, of a whole worker, of Redis; SIGTERM; a poison spec; a pickled message)
and checks that every experiment still ends once, nothing stays stuck, and the
processes that were not killed live on. The lease is 3 s and recovery sweeps every
second, while the broker's own re-delivery (the visibility timeout) is set far
beyond any wait here: whatever comes back, recovery brought back.
"""

from __future__ import annotations

import os
import pickle
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from celery import Celery
from service_procs import Proc, RedisServer, service_env, wait_until

from core.queue import TASK_RUN_EXPERIMENT, celery_config
from core.settings import Settings
from core.store import ExperimentRecord, Store, connect

pytestmark = pytest.mark.e2e

LEASE_S = 3.0
#: Recovery's promise: lease + sweep, plus room for a loaded machine to start the run.
RECOVERED_WITHIN_S = LEASE_S + 30

SETTINGS = {
    "GRADATLAS_TASK_SOFT_TIME_LIMIT_S": "300",
    "GRADATLAS_TASK_TIME_LIMIT_S": "330",
    # Far beyond any wait below: the broker's own re-delivery never saves a test.
    "GRADATLAS_VISIBILITY_TIMEOUT_S": "3600",
    "GRADATLAS_RESTORE_INTERVAL_S": "1",
    "GRADATLAS_LEASE_S": str(LEASE_S),
    "GRADATLAS_RECOVERY_INTERVAL_S": "1",
    "GRADATLAS_RECOVERY_GRACE_S": "2",
    "GRADATLAS_MAX_ATTEMPTS": "2",
    "GRADATLAS_PROGRESS_EVERY_S": "0.1",
    "GRADATLAS_CANCEL_POLL_S": "0.1",
    "GRADATLAS_REDIS_SOCKET_TIMEOUT_S": "1",
}

SMALL: dict[str, Any] = {
    "name": "faults-small",
    "seed": 1,
    "model": {"depth": 3, "width": 8, "activation": "tanh"},
    "data": {"dataset": "moons", "n_samples": 200},
    "training": {"epochs": 3, "batch_size": 32},
}
#: Several seconds of training: long enough to break something mid-way.
LONG: dict[str, Any] = {
    "name": "faults-long",
    "seed": 2,
    "model": {"depth": 8, "width": 64, "activation": "tanh"},
    "data": {"dataset": "spiral", "n_samples": 1000},
    "training": {"epochs": 1000, "batch_size": 32},
    "recording": {"every_steps": 50},
}
FINAL = {"succeeded", "failed", "cancelled"}


@dataclass
class Fleet:
    """The service under test; ``workers`` are kept at two (replaced when a test kills one)."""

    redis: RedisServer
    env: dict[str, str]
    url: str
    start_worker: Callable[..., Proc]
    workers: list[Proc] = field(default_factory=list)

    def http(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=10)

    def store(self) -> Store:
        return Store(connect(self.redis.url), prefix=self.env["GRADATLAS_KEY_PREFIX"])

    def worker_running(self, record: ExperimentRecord) -> Proc:
        """The worker process whose hostname the record names."""
        for proc in self.workers:
            name = proc.argv[proc.argv.index("--hostname") + 1].split("@")[0]
            if record.worker and record.worker.split("@")[0] == name:
                return proc
        raise AssertionError(f"no worker named {record.worker!r}")

    def replace(self, gone: Proc) -> None:
        self.workers.remove(gone)
        self.workers.append(self.start_worker(self.env))

    def assert_workers_alive(self) -> None:
        for proc in self.workers:
            assert proc.alive, f"a worker died:\n{proc.tail()}"


@pytest.fixture(scope="module")
def fleet(
    start_redis: Callable[[], RedisServer],
    start_worker: Callable[..., Proc],
    start_api: Callable[..., tuple[Proc, str]],
) -> Fleet:
    redis = start_redis()
    env = service_env(redis.url, **SETTINGS)
    _, url = start_api(env)
    fleet = Fleet(redis, env, url, start_worker)
    fleet.workers = [start_worker(env), start_worker(env)]
    return fleet


@pytest.fixture
def store(fleet: Fleet) -> Iterator[Store]:
    s = fleet.store()
    yield s
    s.redis.close()


def submit(c: httpx.Client, spec: dict[str, Any]) -> str:
    r = c.post("/v1/experiments", json=spec)
    assert r.status_code == 202, r.text
    exp_id: str = r.json()["id"]
    return exp_id


def wait_final(c: httpx.Client, exp_id: str, *, timeout: float) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        body: dict[str, Any] = c.get(f"/v1/experiments/{exp_id}").json()
        return body if body["status"] in FINAL else None

    out: dict[str, Any] = wait_until(check, timeout=timeout, what=f"{exp_id} to end", every=0.1)
    return out


def wait_running(store: Store, exp_id: str, *, attempt: int = 1) -> ExperimentRecord:
    """Until attempt ``attempt`` of the experiment has recorded a few steps."""

    def check() -> ExperimentRecord | None:
        r = store.get(exp_id)
        going = r.status == "running" and r.attempts == attempt and r.progress["step"] > 50
        return r if going else None

    record: ExperimentRecord = wait_until(
        check, timeout=60, what=f"attempt {attempt} of {exp_id} to get going", every=0.05
    )
    return record


def pool_children(proc: Proc) -> list[int]:
    pid = proc.popen.pid
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(p) for p in text.split()]


def child_running(fleet: Fleet, record: ExperimentRecord) -> int:
    """The pid of the pool child that trains ``record`` (each worker has one child)."""
    children = pool_children(fleet.worker_running(record))
    assert len(children) == 1, children
    return children[0]


def test_kill_9_a_pool_child_and_the_run_resumes_and_succeeds_once(
    fleet: Fleet, store: Store
) -> None:
    with fleet.http() as c:
        exp_id = submit(c, LONG)
        os.kill(child_running(fleet, wait_running(store, exp_id)), signal.SIGKILL)
        body = wait_final(c, exp_id, timeout=RECOVERED_WITHIN_S + 60)
    assert body["status"] == "succeeded", body
    assert body["attempts"] == 2
    fleet.assert_workers_alive()


def test_kill_9_a_whole_worker_and_the_other_completes_it_within_lease_plus_30s(
    fleet: Fleet, store: Store
) -> None:
    with fleet.http() as c:
        exp_id = submit(c, LONG)
        record = wait_running(store, exp_id)
        victim = fleet.worker_running(record)
        victim.kill9()  # the main process and its pool child: a lost node
        killed_at = time.monotonic()
        # Picked up again by the surviving worker, with no restart and long before the
        # broker's visibility timeout.
        again = wait_until(
            lambda: (r := store.get(exp_id)).attempts == 2 and r.status == "running" and r,
            timeout=RECOVERED_WITHIN_S,
            what="recovery to hand the run to the other worker",
        )
        print(f"\nre-run started {time.monotonic() - killed_at:.1f} s after the kill -9")
        assert again.worker != record.worker
        body = wait_final(c, exp_id, timeout=120)
        assert body["status"] == "succeeded", body
        assert body["attempts"] == 2
        time.sleep(2 * LEASE_S)  # the dead worker's unacked message changes nothing
        assert c.get(f"/v1/experiments/{exp_id}").json()["finished_at"] == body["finished_at"]
    fleet.replace(victim)
    fleet.assert_workers_alive()


def test_sigterm_mid_run_hands_the_run_back_without_counting_an_attempt(
    fleet: Fleet, store: Store
) -> None:
    with fleet.http() as c:
        exp_id = submit(c, LONG)
        victim = fleet.worker_running(wait_running(store, exp_id))
        # What `docker compose stop` does: SIGTERM to the main process alone.
        victim.popen.send_signal(signal.SIGTERM)
        victim.popen.wait(timeout=60)
        body = wait_final(c, exp_id, timeout=120)
        assert body["status"] == "succeeded", body
        assert body["attempts"] == 1
    fleet.replace(victim)
    fleet.assert_workers_alive()


def test_a_poison_spec_ends_failed_and_the_queue_moves_on(fleet: Fleet, store: Store) -> None:
    """A run that kills its worker process every time (as an out-of-memory spec does)."""
    with fleet.http() as c:
        exp_id = submit(c, LONG)
        for attempt in (1, 2):  # GRADATLAS_MAX_ATTEMPTS
            os.kill(child_running(fleet, wait_running(store, exp_id, attempt=attempt)), 9)
        body = wait_final(c, exp_id, timeout=RECOVERED_WITHIN_S + 30)
        assert body["status"] == "failed", body
        assert "worker died 2 times" in body["error"]
        after = submit(c, SMALL)
        assert wait_final(c, after, timeout=60)["status"] == "succeeded"
    fleet.assert_workers_alive()


class _Touch:
    """Unpickling this creates a file: what a malicious pickled message could do."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path.touch, (self.path,))


def test_a_pickled_message_is_refused_and_the_workers_go_on(
    fleet: Fleet, store: Store, tmp_path: Path
) -> None:
    marker = tmp_path / f"unpickled-{uuid.uuid4().hex[:6]}"
    pickle.loads(pickle.dumps(_Touch(marker)))  # the payload works when unpickled...
    assert marker.exists()
    marker.unlink()
    env = fleet.env
    settings = Settings(
        redis_url=env["GRADATLAS_REDIS_URL"],
        queue=env["GRADATLAS_QUEUE"],
        key_prefix=env["GRADATLAS_KEY_PREFIX"],
    )
    evil = Celery("evil", set_as_current=False)
    evil.conf.update(celery_config(settings))
    evil.conf.update(task_serializer="pickle", accept_content=["pickle", "json"])
    evil.send_task(TASK_RUN_EXPERIMENT, args=[_Touch(marker)], queue=settings.queue)
    evil.close()
    wait_until(
        lambda: store.redis.llen(settings.queue) == 0,
        timeout=30,
        what="a worker to take the message off the queue",
    )
    with fleet.http() as c:
        after = submit(c, SMALL)
        assert wait_final(c, after, timeout=60)["status"] == "succeeded"
    assert not marker.exists()  # ...and the workers never unpickled it
    fleet.assert_workers_alive()


def test_cancel_queued_never_starts_running_stops_final_is_409(fleet: Fleet, store: Store) -> None:
    with fleet.http() as c:
        running = [submit(c, LONG) for _ in fleet.workers]
        for exp_id in running:
            wait_running(store, exp_id)
        queued = submit(c, LONG)  # both workers are busy
        r = c.post(f"/v1/experiments/{queued}/cancel")
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "cancelled"
        for exp_id in running:
            assert c.post(f"/v1/experiments/{exp_id}/cancel").status_code == 202
        asked = time.monotonic()
        for exp_id in running:
            body = wait_final(c, exp_id, timeout=10)
            assert body["status"] == "cancelled", body
            assert body["progress"]["fraction"] < 1
        print(f"\nboth running experiments stopped {time.monotonic() - asked:.2f} s after cancel")
        # The workers are free now; the cancelled one never starts (recovery included).
        time.sleep(LEASE_S + 2)
        body = c.get(f"/v1/experiments/{queued}").json()
        assert (body["status"], body["attempts"], body["started_at"]) == ("cancelled", 0, None)
        for exp_id in (*running, queued):
            r = c.post(f"/v1/experiments/{exp_id}/cancel")
            assert r.status_code == 409
            assert r.headers["content-type"] == "application/problem+json"
    fleet.assert_workers_alive()


def test_redis_kill_9_and_restart_on_its_aof_loses_nothing_and_the_workers_survive(
    fleet: Fleet, store: Store
) -> None:
    with fleet.http() as c:
        finished = submit(c, SMALL)
        done = wait_final(c, finished, timeout=60)
        assert done["status"] == "succeeded"
        running = [submit(c, LONG) for _ in fleet.workers]
        for exp_id in running:
            wait_running(store, exp_id)
        queued = submit(c, SMALL)
        time.sleep(1.5)  # appendfsync everysec: let the last second reach the file
        fleet.redis.kill9()
        time.sleep(2)  # the workers see the connection go
        fleet.redis.start()  # same port, same directory: replays the append-only file
        killed_at = time.monotonic()
        ends = {i: wait_final(c, i, timeout=RECOVERED_WITHIN_S + 90) for i in [*running, queued]}
        print(f"\nall ended {time.monotonic() - killed_at:.1f} s after Redis came back")
        for body in ends.values():
            assert body["status"] == "succeeded", body
        again = c.get(f"/v1/experiments/{finished}").json()
        assert (again["status"], again["finished_at"]) == ("succeeded", done["finished_at"])
        fleet.assert_workers_alive()
        # The same worker processes take new work.
        wait_until(
            lambda: c.get("/readyz").json().get("workers", 0) >= len(fleet.workers),
            timeout=30,
            what="both workers to be ready again",
        )
        after = [submit(c, SMALL) for _ in range(3)]
        for exp_id in after:
            assert wait_final(c, exp_id, timeout=60)["status"] == "succeeded"
    fleet.assert_workers_alive()
