"""Run one delivered experiment against the store: claim, train, report, finish.

The Celery task is a thin shell around :class:`ExperimentRunner`, so the whole
life of a run (including refusals, cancellation and time limits) can be tested
by calling it directly.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

from celery.exceptions import SoftTimeLimitExceeded
from pydantic import ValidationError

from core.errors import StoreUnavailable
from core.result import Progress, ProgressDict, ResultDict
from core.run_result import RunResult
from core.settings import Settings
from core.spec import ExperimentSpec
from core.store import Store, encode_result
from core.train import ProgressCallback, StopCheck, train

log = logging.getLogger(__name__)

#: gzip level of stored results: level 1 is about twice as fast as 6 on a 24 MB result
#: and only about a tenth larger.
FINAL_GZIP_LEVEL = 1


class Engine(Protocol):
    """What trains a spec: ``core.train.train``, or a stand-in in tests."""

    def __call__(
        self,
        spec: ExperimentSpec,
        *,
        on_progress: ProgressCallback | None = ...,
        should_stop: StopCheck | None = ...,
        progress_every_s: float = ...,
    ) -> RunResult: ...


OutcomeKind = Literal["succeeded", "failed", "cancelled", "busy", "handed_back", "lost", "skipped"]


@dataclass(frozen=True)
class Outcome:
    """What became of a delivery; ``busy`` carries how long to wait before trying again."""

    kind: OutcomeKind
    attempt: int = 0
    wait_s: float = 0.0


class Watch(threading.Thread):
    """Renews the run's lease and polls the cancel and drain flags in the background.

    The training loop only reads an Event, so checking costs nothing per step,
    and the lease stays fresh even through a step that takes minutes.
    """

    def __init__(self, store: Store, exp_id: str, attempt: int, worker: str, s: Settings) -> None:
        super().__init__(name=f"watch-{exp_id}", daemon=True)
        self.store, self.exp_id, self.attempt, self.worker = store, exp_id, attempt, worker
        self.every, self.lease_s = s.cancel_poll_s, s.lease_s
        self.stop_event = threading.Event()
        self._done = threading.Event()
        self.reason: Literal["", "cancelled", "draining"] = ""

    def should_stop(self) -> bool:
        return self.stop_event.is_set()

    def note(self, stop: bool) -> None:
        """Fold in a stop answer the store gave to a progress write."""
        if stop and not self.reason:
            self.reason = "cancelled"
            self.stop_event.set()

    def run(self) -> None:
        while not self._done.wait(self.every):
            try:
                self.note(self.store.renew(self.exp_id, self.attempt, lease_s=self.lease_s))
                if not self.reason and self.store.draining(self.worker):
                    self.reason = "draining"
                    self.stop_event.set()
            except StoreUnavailable as e:  # keep training; the lease may lapse meanwhile
                log.warning("experiment %s: cannot renew the lease: %s", self.exp_id, e)

    def close(self) -> None:
        self._done.set()
        self.join(timeout=5)


class ExperimentRunner:
    """Runs experiments by id for one worker process."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        *,
        worker: str = "local",
        engine: Engine = train,
        on_update: Callable[[ProgressDict], None] | None = None,
    ) -> None:
        self.store, self.settings, self.worker = store, settings, worker
        self.engine, self.on_update = engine, on_update

    def run(self, exp_id: str) -> Outcome:
        s = self.settings
        claim = self.store.claim(
            exp_id, worker=self.worker, max_attempts=s.max_attempts, lease_s=s.lease_s
        )
        if claim.outcome == "busy":
            return Outcome("busy", wait_s=claim.wait_s)
        if claim.outcome in ("failed", "cancelled"):
            return Outcome(claim.outcome, attempt=claim.attempt)
        if claim.outcome != "run":
            log.info("experiment %s: not run (%s %s)", exp_id, claim.outcome, claim.status)
            return Outcome("skipped")
        attempt = claim.attempt
        try:
            spec = self.store.get(exp_id).spec
        except ValidationError as e:  # stored by an older, laxer version
            return self._fail(exp_id, attempt, f"the stored spec is no longer valid: {e}")
        watch = Watch(self.store, exp_id, attempt, self.worker, s)
        reporter = _Reporter(self, exp_id, attempt, watch)
        watch.start()
        try:
            result = self.engine(
                spec,
                on_progress=reporter,
                should_stop=watch.should_stop,
                progress_every_s=s.progress_every_s,
            )
        except SoftTimeLimitExceeded:
            return self._fail(
                exp_id,
                attempt,
                f"the run took longer than the time limit of {s.task_soft_time_limit_s} s "
                f"(GRADATLAS_TASK_SOFT_TIME_LIMIT_S) and was stopped; ask for fewer epochs, "
                f"fewer samples or a smaller network",
            )
        except StoreUnavailable:
            raise
        except Exception as e:  # the run failed: say why, never leave it running
            log.exception("experiment %s failed", exp_id)
            return self._fail(exp_id, attempt, f"the run failed: {type(e).__name__}: {e}")
        finally:
            watch.close()
        stopped = result.summary["stopped"]
        if stopped and watch.reason == "draining":
            self.store.release(exp_id, attempt)
            return Outcome("handed_back", attempt=attempt)
        status: Literal["succeeded", "cancelled"] = "cancelled" if stopped else "succeeded"
        return self._finish(exp_id, attempt, status, result)

    def _finish(
        self, exp_id: str, attempt: int, status: Literal["succeeded", "cancelled"], r: RunResult
    ) -> Outcome:
        summary = r.summary
        total = max(1, summary["total_steps"])
        epochs = r.metrics.epoch
        progress: ProgressDict = {
            "step": summary["steps_run"],
            "total_steps": summary["total_steps"],
            "epoch": int(epochs[-1]) if epochs.size else 0,
            "fraction": summary["steps_run"] / total,
        }
        # The result leaves the process here: its one conversion to JSON.
        data = encode_result(r.to_json(), level=FINAL_GZIP_LEVEL)
        diagnosis = r.diagnosis
        done = _with_retries(
            lambda: self.store.finish(
                exp_id,
                status,
                attempt=attempt,
                result=data,
                summary=dict(summary),
                diagnosis=dict(diagnosis) if diagnosis else None,
                progress=dict(progress),
            )
        )
        return Outcome(status if done else "lost", attempt=attempt)

    def _fail(self, exp_id: str, attempt: int, error: str) -> Outcome:
        done = _with_retries(
            lambda: self.store.finish(exp_id, "failed", attempt=attempt, error=error)
        )
        return Outcome("failed" if done else "lost", attempt=attempt)


class _Reporter:
    """The engine's on_progress: progress every call, a partial result now and then.

    A partial result costs a copy, JSON and gzip (a second or more for a deep
    network with a thousand records), so the first comes after a second of
    training and, after that, partials take at most a tenth of the run's time.
    """

    def __init__(self, runner: ExperimentRunner, exp_id: str, attempt: int, watch: Watch) -> None:
        self.runner, self.exp_id, self.attempt, self.watch = runner, exp_id, attempt, watch
        self.started = time.monotonic()
        self.spent = 0.0
        self.last_cost = 0.0

    def __call__(self, progress: Progress, partial: Callable[[], ResultDict]) -> None:
        store, s = self.runner.store, self.runner.settings
        data = None
        now = time.monotonic()
        elapsed = now - self.started
        if (
            progress.fraction < 1.0
            and elapsed >= 1.0
            and self.spent + self.last_cost <= 0.1 * elapsed
        ):
            data = encode_result(partial(), level=1)
            self.last_cost = time.monotonic() - now
            self.spent += self.last_cost
        try:
            stop = store.renew(
                self.exp_id,
                self.attempt,
                lease_s=s.lease_s,
                progress=dict(progress.to_dict()),
                result=data,
            )
        except StoreUnavailable as e:
            log.warning("experiment %s: progress not written: %s", self.exp_id, e)
            return
        self.watch.note(stop)
        if self.runner.on_update is not None:
            self.runner.on_update(progress.to_dict())


def _with_retries(write: Callable[[], bool], *, for_s: float = 30.0) -> bool:
    """A final write must not be lost to a short Redis outage: retry it for a while."""
    deadline = time.monotonic() + for_s
    delay = 0.2
    while True:
        try:
            return write()
        except StoreUnavailable:
            if time.monotonic() + delay > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 5.0)
