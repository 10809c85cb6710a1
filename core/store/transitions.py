"""Every status change of an experiment, each one an atomic Lua compare-and-set.

The worker's side (claim, renew, finish, release) and the client's (cancel and
delete). The scripts are in ``lua.py``; all take the KEYS ``_keys`` lists, in
that order. A script that refuses a change says why and changes nothing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import redis
from redis.commands.core import Script

from core.errors import Conflict, NotFound
from core.store import lua
from core.store.codec import etag_of
from core.store.connection import Keyspace, as_text, guard, is_id
from core.store.record import STATUSES, Status


@dataclass(frozen=True)
class Claim:
    """What a delivered task may do: ``run`` as ``attempt``, or not run at all."""

    outcome: Literal["run", "busy", "cancelled", "failed", "final", "missing"]
    attempt: int = 0
    #: For ``busy``: seconds until the other attempt's lease lapses.
    wait_s: float = 0.0
    #: For ``final``: the status it already has.
    status: str = ""


class TransitionsMixin(Keyspace):
    """``Store``'s methods that move an experiment from one status to another."""

    #: How long a final record and its result are kept, in seconds.
    result_ttl_s: int
    _claim: Script
    _progress: Script
    _finish: Script
    _release: Script
    _cancel: Script
    _delete: Script

    def _register_transitions(self, client: redis.Redis) -> None:
        self._claim = client.register_script(lua.CLAIM)
        self._progress = client.register_script(lua.PROGRESS)
        self._finish = client.register_script(lua.FINISH)
        self._release = client.register_script(lua.RELEASE)
        self._cancel = client.register_script(lua.CANCEL)
        self._delete = client.register_script(lua.DELETE)

    # --- keys (the scripts' KEYS) --------------------------------------------
    def _indexes(self) -> list[str]:
        return [self._k("index", "all"), *(self._k("index", s) for s in STATUSES)]

    def _keys(self, exp_id: str) -> list[str]:
        k = self.experiment_keys(exp_id)
        return [k.record, k.result, k.cancel, self._k("expiry"), *self._indexes()]

    # --- the worker's side ---------------------------------------------------
    def claim(
        self,
        exp_id: str,
        *,
        worker: str,
        max_attempts: int,
        lease_s: float,
        now: float | None = None,
    ) -> Claim:
        """Take a delivered experiment: queued -> running, or running -> running again
        when the last attempt's lease has lapsed (its worker died)."""
        if not is_id(exp_id):  # a message naming no experiment that can exist
            return Claim("missing")
        now = time.time() if now is None else now
        args: list[Any] = [exp_id, now, max_attempts, lease_s, worker, self.result_ttl_s]
        with guard():
            outcome, value = _pair(self._claim(keys=self._keys(exp_id), args=args))
        if outcome == "run":
            return Claim("run", attempt=int(value))
        if outcome == "busy":
            return Claim("busy", wait_s=float(value))
        if outcome == "failed":
            return Claim("failed", attempt=int(value))
        if outcome == "final":
            return Claim("final", status=value)
        if outcome == "cancelled":
            return Claim("cancelled")
        if outcome == "missing":
            return Claim("missing")
        raise AssertionError(f"unexpected claim outcome {outcome!r}")

    def renew(
        self,
        exp_id: str,
        attempt: int,
        *,
        lease_s: float,
        progress: dict[str, Any] | None = None,
        result: bytes | None = None,
        now: float | None = None,
    ) -> bool:
        """Renew the lease, and write progress and a partial result when given.

        Returns True when the run should stop: a cancel was requested, or the
        experiment is no longer this attempt's to run.
        """
        now = time.time() if now is None else now
        args: list[Any] = [
            exp_id,
            now,
            attempt,
            json.dumps(progress) if progress is not None else "",
            lease_s,
            "1" if result is not None else "0",
            result or b"",
        ]
        with guard():
            outcome, value = _pair(self._progress(keys=self._keys(exp_id), args=args))
        return outcome != "ok" or value == "1"

    def finish(
        self,
        exp_id: str,
        status: Literal["succeeded", "failed", "cancelled"],
        *,
        attempt: int | None,
        allowed_from: Sequence[Status] = ("running",),
        error: str | None = None,
        result: bytes | None = None,
        summary: dict[str, Any] | None = None,
        diagnosis: dict[str, Any] | None = None,
        progress: dict[str, Any] | None = None,
        now: float | None = None,
    ) -> bool:
        """Move to a final status if the record is in ``allowed_from`` (and, when
        ``attempt`` is given, still this attempt's). Returns whether it moved."""
        now = time.time() if now is None else now
        args: list[Any] = [
            exp_id,
            now,
            "" if attempt is None else attempt,
            " ".join(allowed_from),
            status,
            error or "",
            json.dumps(summary) if summary is not None else "",
            json.dumps(diagnosis) if diagnosis is not None else "",
            json.dumps(progress) if progress is not None else "",
            self.result_ttl_s,
            "1" if result is not None else "0",
            result or b"",
            etag_of(result) if result is not None else "",
        ]
        with guard():
            outcome, _ = _pair(self._finish(keys=self._keys(exp_id), args=args))
        return outcome == "ok"

    def release(self, exp_id: str, attempt: int, *, now: float | None = None) -> bool:
        """Hand a running experiment back (its worker is shutting down)."""
        now = time.time() if now is None else now
        with guard():
            outcome, _ = _pair(self._release(keys=self._keys(exp_id), args=[exp_id, now, attempt]))
        return outcome == "ok"

    # --- the client's side ---------------------------------------------------
    def request_cancel(
        self, exp_id: str, *, flag_ttl_s: int = 24 * 3600, now: float | None = None
    ) -> Literal["cancelled", "cancelling"]:
        """Queued -> cancelled at once; running -> raise the flag the worker polls, or
        cancelled at once when nobody holds its lease (its worker died)."""
        now = time.time() if now is None else now
        with guard():
            outcome, value = _pair(
                self._cancel(
                    keys=self._keys(exp_id), args=[exp_id, now, self.result_ttl_s, flag_ttl_s]
                )
            )
        if outcome == "missing":
            raise NotFound(f"No experiment {exp_id!r}.")
        if outcome == "final":
            raise Conflict(f"Experiment {exp_id} has already {value}; there is nothing to cancel.")
        return "cancelled" if outcome == "cancelled" else "cancelling"

    def cancel_requested(self, exp_id: str) -> bool:
        with guard():
            return bool(self.redis.exists(self.experiment_keys(exp_id).cancel))

    def delete(self, exp_id: str, *, now: float | None = None) -> None:
        """Forget a finished experiment and its result, or a stuck one (running, but
        its lease has lapsed: its worker is gone)."""
        now = time.time() if now is None else now
        with guard():
            outcome, value = _pair(self._delete(keys=self._keys(exp_id), args=[exp_id, now]))
        if outcome == "missing":
            raise NotFound(f"No experiment {exp_id!r}.")
        if outcome == "conflict":
            raise Conflict(
                f"Experiment {exp_id} is {value}: cancel it first, then delete it "
                f"once it has stopped."
            )


def _pair(reply: Any) -> tuple[str, str]:
    a, b = reply
    return as_text(a), as_text(b)
