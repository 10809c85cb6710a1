"""The task and its runner, called directly against a real Redis and the real engine."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from celery.exceptions import Retry, SoftTimeLimitExceeded

from core.result import ResultDict
from core.run_result import RunResult
from core.settings import Settings, get_settings
from core.spec import ExperimentSpec
from core.store import Store, decode_result
from core.train import run_experiment
from worker.runner import ExperimentRunner

SMALL = ExperimentSpec.model_validate(
    {
        "seed": 3,
        "model": {"depth": 3, "width": 8, "activation": "tanh"},
        "data": {"dataset": "moons", "n_samples": 200},
        "training": {"epochs": 3, "batch_size": 32},
        "recording": {"every_steps": 2},
    }
)
#: Runs for many seconds: long enough to be cancelled or interrupted mid-way.
LONG = SMALL.model_copy(update={"training": SMALL.training.model_copy(update={"epochs": 5000})})


def settings(store: Store, **kw: Any) -> Settings:
    base: dict[str, Any] = {
        "key_prefix": store.prefix,
        "progress_every_s": 0.05,
        "cancel_poll_s": 0.05,
        "lease_s": 30,
    }
    return Settings(**{**base, **kw})


def runner(store: Store, **kw: Any) -> ExperimentRunner:
    return ExperimentRunner(store, settings(store), worker="w-test", **kw)


def stored_result(store: Store, exp_id: str) -> ResultDict:
    result = store.load_result(exp_id)
    assert result is not None
    return result


def test_a_run_succeeds_with_the_engines_exact_result(store: Store) -> None:
    exp_id = store.create(SMALL).id
    outcome = runner(store).run(exp_id)
    assert (outcome.kind, outcome.attempt) == ("succeeded", 1)
    record = store.get(exp_id)
    assert record.status == "succeeded"
    assert record.attempts == 1
    assert record.progress["fraction"] == 1.0
    assert record.progress["step"] == SMALL.total_steps
    assert record.summary is not None
    assert record.summary["steps_run"] == SMALL.total_steps
    assert stored_result(store, exp_id) == decode_json(run_experiment(SMALL))


def decode_json(result: ResultDict) -> ResultDict:
    """The result as it looks after a JSON round trip (tuples -> lists etc.)."""
    from core.store import encode_result

    return decode_result(encode_result(result))


def test_progress_and_partial_results_are_readable_while_running(store: Store) -> None:
    exp_id = store.create(LONG).id
    seen: list[tuple[int, bool]] = []

    def look(progress: dict[str, Any]) -> None:
        record = store.get(exp_id)
        partial = store.result_bytes(exp_id)
        seen.append((record.progress["step"], partial is not None and not partial.final))
        if seen[-1][1] or len(seen) >= 400:  # a partial result appears after about a second
            store.request_cancel(exp_id)

    outcome = runner(store, on_update=look).run(exp_id)
    assert outcome.kind == "cancelled"
    steps = [s for s, _ in seen]
    assert steps == sorted(steps)
    assert steps[-1] > 0
    assert any(has_partial for _, has_partial in seen)


def test_cancel_stops_a_run_and_keeps_what_it_recorded(store: Store) -> None:
    exp_id = store.create(LONG).id
    threading.Timer(0.5, store.request_cancel, args=[exp_id]).start()
    outcome = runner(store).run(exp_id)
    assert outcome.kind == "cancelled"
    record = store.get(exp_id)
    assert record.status == "cancelled"
    assert 0 < record.progress["step"] < LONG.total_steps
    result = stored_result(store, exp_id)
    assert result["summary"]["stopped"] is True
    assert len(result["steps"]) >= 1


def test_a_redelivered_task_never_touches_a_finished_experiment(store: Store) -> None:
    exp_id = store.create(SMALL).id
    runner(store).run(exp_id)
    before = store.get(exp_id)
    again = runner(store).run(exp_id)
    assert again.kind == "skipped"
    assert store.get(exp_id) == before


def test_a_delivery_while_another_attempt_holds_the_lease_waits(store: Store) -> None:
    exp_id = store.create(SMALL).id
    store.claim(exp_id, worker="other", max_attempts=3, lease_s=30)
    outcome = runner(store).run(exp_id)
    assert outcome.kind == "busy"
    assert 0 < outcome.wait_s <= 30
    assert store.get(exp_id).attempts == 1


def test_a_run_whose_worker_died_is_run_again_as_attempt_two(store: Store) -> None:
    exp_id = store.create(SMALL).id
    store.claim(exp_id, worker="dead", max_attempts=3, lease_s=0.01)
    time.sleep(0.05)  # the dead worker's lease lapses
    outcome = runner(store).run(exp_id)
    assert (outcome.kind, outcome.attempt) == ("succeeded", 2)
    assert store.get(exp_id).attempts == 2
    assert stored_result(store, exp_id) == decode_json(run_experiment(SMALL))


def test_a_run_that_keeps_killing_its_worker_ends_failed(store: Store) -> None:
    exp_id = store.create(SMALL).id
    for _ in range(3):
        assert store.claim(exp_id, worker="dead", max_attempts=3, lease_s=0.01).outcome == "run"
        time.sleep(0.03)
    outcome = runner(store).run(exp_id)
    assert outcome.kind == "failed"
    record = store.get(exp_id)
    assert record.status == "failed"
    assert record.error == "worker died 3 times while running this experiment"


def test_an_engine_error_fails_the_experiment_with_the_message(store: Store) -> None:
    def engine(spec: ExperimentSpec, **kw: Any) -> RunResult:
        raise FloatingPointError("overflow in layer 3")

    exp_id = store.create(SMALL).id
    outcome = runner(store, engine=engine).run(exp_id)
    assert outcome.kind == "failed"
    record = store.get(exp_id)
    assert record.status == "failed"
    assert record.error == "the run failed: FloatingPointError: overflow in layer 3"


def test_the_soft_time_limit_fails_the_run_with_a_clear_error(store: Store) -> None:
    def soft_limit(signum: int, frame: Any) -> None:
        raise SoftTimeLimitExceeded()  # what billiard raises in a pool process

    exp_id = store.create(LONG).id
    old = signal.signal(signal.SIGALRM, soft_limit)
    signal.setitimer(signal.ITIMER_REAL, 0.5)
    try:
        outcome = runner(store).run(exp_id)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    assert outcome.kind == "failed"
    record = store.get(exp_id)
    assert record.status == "failed"
    assert record.error is not None
    assert "time limit of 3600 s" in record.error
    assert "GRADATLAS_TASK_SOFT_TIME_LIMIT_S" in record.error


def test_a_draining_worker_hands_its_run_back(store: Store) -> None:
    exp_id = store.create(LONG).id
    threading.Timer(0.3, store.set_draining, args=["w-test"], kwargs={"ttl_s": 60}).start()
    outcome = runner(store).run(exp_id)
    assert outcome.kind == "handed_back"
    record = store.get(exp_id)
    assert (record.status, record.attempts) == ("running", 0)
    # The re-delivery runs it at once, as attempt 1 again.
    claim = store.claim(exp_id, worker="w2", max_attempts=3, lease_s=30)
    assert (claim.outcome, claim.attempt) == ("run", 1)


# --- the Celery task itself, through task.run(...) ---------------------------


@pytest.fixture
def task_env(store: Store, redis_server: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from worker import tasks

    monkeypatch.setenv("GRADATLAS_REDIS_URL", redis_server.url)
    monkeypatch.setenv("GRADATLAS_KEY_PREFIX", store.prefix)
    get_settings.cache_clear()
    tasks.get_store.cache_clear()
    yield
    get_settings.cache_clear()
    tasks.get_store.cache_clear()


@pytest.mark.usefixtures("task_env")
def test_the_task_runs_an_experiment_by_id(store: Store) -> None:
    from worker.tasks import run_experiment_task

    exp_id = store.create(SMALL).id
    assert run_experiment_task.run(exp_id) == "succeeded"
    assert store.get(exp_id).status == "succeeded"
    assert run_experiment_task.run(exp_id) == "skipped"


@pytest.mark.usefixtures("task_env")
def test_the_task_retries_later_while_another_attempt_holds_the_lease(store: Store) -> None:
    from worker.tasks import run_experiment_task

    exp_id = store.create(SMALL).id
    store.claim(exp_id, worker="other", max_attempts=3, lease_s=30)
    with pytest.raises(Retry):
        run_experiment_task.run(exp_id)
