"""``make run``'s script: three supervised processes, an experiment through, crashes
survived (the crashed process is started again, the others go on), Ctrl-C stops them all."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from service_procs import ROOT, free_port, wait_until

pytestmark = pytest.mark.e2e

SPEC = {
    "model": {"depth": 3, "width": 8, "activation": "relu"},
    "data": {"dataset": "xor", "n_samples": 200},
    "training": {"epochs": 3},
}
#: Several seconds: long enough to kill its worker mid-way.
LONG = {
    "model": {"depth": 8, "width": 64, "activation": "tanh"},
    "data": {"dataset": "spiral", "n_samples": 1000},
    "training": {"epochs": 1000, "batch_size": 32},
    "recording": {"every_steps": 50},
}


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


class RunSh:
    def __init__(self, tmp_path: Path, **extra: str) -> None:
        self.api_port, self.redis_port = free_port(), free_port()
        self.dir = tmp_path
        env = {
            **os.environ,
            "GRADATLAS_RUN_DIR": str(tmp_path / "var"),
            "GRADATLAS_RUN_REDIS_PORT": str(self.redis_port),
            "GRADATLAS_API_PORT": str(self.api_port),
            "GRADATLAS_WORKER_CONCURRENCY": "1",
            "GRADATLAS_HEARTBEAT_S": "0.5",
            **extra,
        }
        env.pop("GRADATLAS_REDIS_URL", None)
        self.log = (tmp_path / "run.log").open("wb")
        self.proc = subprocess.Popen(
            ["bash", "scripts/run.sh"],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.base = f"http://127.0.0.1:{self.api_port}"
        self.groups: set[int] = set()

    def ready(self, timeout: float = 90) -> None:
        def check() -> bool:
            r = httpx.get(f"{self.base}/readyz", timeout=1)
            return r.status_code == 200 and r.json()["workers"] >= 1

        wait_until(check, timeout=timeout, what="make run to be ready", every=0.3)

    def redis_pid(self) -> int:
        info = subprocess.check_output(["redis-cli", "-p", str(self.redis_port), "info", "server"])
        pid = int(info.decode().split("process_id:")[1].split()[0])
        self.groups.add(os.getpgid(pid))
        return pid

    def worker_pid(self) -> int:
        """The worker's main process: the celery process whose parent is a supervisor."""
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            with contextlib.suppress(OSError, IndexError, ValueError):
                cmd = (entry / "cmdline").read_bytes().split(b"\0")
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                parent = Path(f"/proc/{ppid}/cmdline").read_bytes()
                if b"worker.celery_app" in cmd and b"bash" in parent and self._ours(ppid):
                    self.groups.add(os.getpgid(int(entry.name)))
                    return int(entry.name)
        raise AssertionError("no worker process under run.sh")

    def _ours(self, pid: int) -> bool:
        while pid > 1:
            if pid == self.proc.pid:
                return True
            pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        return False

    def close(self) -> None:
        # Ctrl-C first, so run.sh stops what it started, restarted services included (they
        # run in sessions of their own, which killing run.sh's group would leave behind);
        # SIGKILL only for what is still there after that.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=60)
        for pgid in (self.proc.pid, *self.groups):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)
        self.log.close()


@contextlib.contextmanager
def run_sh(tmp_path: Path, **extra: str) -> Iterator[RunSh]:
    run = RunSh(tmp_path, **extra)
    try:
        yield run
    finally:
        run.close()


def status(c: httpx.Client, exp_id: str) -> Any:
    return c.get(f"/v1/experiments/{exp_id}").json()


def test_run_sh_serves_and_ctrl_c_stops_everything(tmp_path: Path) -> None:
    with run_sh(tmp_path) as run:
        run.ready()
        with httpx.Client(base_url=run.base, timeout=10) as c:
            exp_id = c.post("/v1/experiments", json=SPEC).json()["id"]
            wait_until(
                lambda: status(c, exp_id)["status"] == "succeeded",
                timeout=60,
                what="the experiment to succeed",
            )
        assert (tmp_path / "var" / "redis").is_dir()
        # The first screen ends with one line: the lab, the docs, how to stop; after the
        # API has said it listens.
        text = (tmp_path / "run.log").read_text
        wait_until(lambda: "gradatlas is up" in text(), timeout=30, what="the last line")
        lines = [line for line in text().splitlines() if line.strip()]
        last = next(line for line in lines if "gradatlas is up" in line)
        assert f"{run.base}/ " in last
        assert f"{run.base}/docs" in last
        assert "Ctrl-C" in last
        started = next(i for i, line in enumerate(lines) if "Application startup complete" in line)
        assert lines.index(last) > started
        redis_pgid = os.getpgid(run.redis_pid())
        worker_pgid = os.getpgid(run.worker_pid())
        os.killpg(run.proc.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
        assert run.proc.wait(timeout=60) is not None
        wait_until(lambda: not group_alive(run.proc.pid), timeout=30, what="run.sh to exit")
        wait_until(lambda: not group_alive(worker_pgid), timeout=30, what="the worker to exit")
        wait_until(lambda: not group_alive(redis_pgid), timeout=30, what="redis-server to exit")


def test_run_sh_restarts_a_killed_worker_and_redis_and_loses_nothing(tmp_path: Path) -> None:
    fast = {
        "GRADATLAS_LEASE_S": "3",
        "GRADATLAS_RECOVERY_INTERVAL_S": "1",
        "GRADATLAS_RECOVERY_GRACE_S": "2",
        "GRADATLAS_PROGRESS_EVERY_S": "0.1",
        "GRADATLAS_REDIS_SOCKET_TIMEOUT_S": "1",
    }
    with run_sh(tmp_path, **fast) as run, httpx.Client(base_url=run.base, timeout=10) as c:
        run.ready()
        exp_id = c.post("/v1/experiments", json=LONG).json()["id"]
        wait_until(
            lambda: status(c, exp_id)["progress"]["step"] > 50,
            timeout=60,
            what="the run to get going",
        )
        old = run.worker_pid()
        os.killpg(os.getpgid(old), signal.SIGKILL)  # the worker and its pool child
        wait_until(lambda: run.worker_pid() != old, timeout=30, what="a new worker")
        body = wait_until(
            lambda: (b := status(c, exp_id))["status"] == "succeeded" and b,
            timeout=90,
            what="the restarted worker to finish the run",
        )
        assert body["attempts"] == 2

        os.kill(run.redis_pid(), signal.SIGKILL)
        down = wait_until(
            lambda: (r := c.post("/v1/experiments", json=SPEC)).status_code == 503 and r,
            timeout=10,
            what="503 while Redis is down",
        )
        assert down.headers["content-type"] == "application/problem+json"
        run.ready(timeout=60)  # Redis started again on its append-only file
        assert status(c, exp_id)["finished_at"] == body["finished_at"]
        after = c.post("/v1/experiments", json=SPEC).json()["id"]
        wait_until(
            lambda: status(c, after)["status"] == "succeeded",
            timeout=60,
            what="an experiment after the outage",
        )
        assert run.proc.poll() is None  # run.sh itself never stopped
