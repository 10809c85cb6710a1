"""``make run``'s script: three processes up, an experiment through, Ctrl-C stops them all."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from pathlib import Path

import httpx
import pytest
from service_procs import ROOT, free_port, wait_until

pytestmark = pytest.mark.e2e

SPEC = {
    "model": {"depth": 3, "width": 8, "activation": "relu"},
    "data": {"dataset": "xor", "n_samples": 200},
    "training": {"epochs": 3},
}


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def test_run_sh_serves_and_ctrl_c_stops_everything(tmp_path: Path) -> None:
    api_port, redis_port = free_port(), free_port()
    env = {
        **os.environ,
        "GRADATLAS_RUN_DIR": str(tmp_path / "var"),
        "GRADATLAS_RUN_REDIS_PORT": str(redis_port),
        "GRADATLAS_API_PORT": str(api_port),
        "GRADATLAS_WORKER_CONCURRENCY": "1",
        "GRADATLAS_HEARTBEAT_S": "0.5",
    }
    env.pop("GRADATLAS_REDIS_URL", None)
    log = (tmp_path / "run.log").open("wb")
    proc = subprocess.Popen(
        ["bash", "scripts/run.sh"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    redis_pgid = None
    try:
        base = f"http://127.0.0.1:{api_port}"
        wait_until(
            lambda: httpx.get(f"{base}/readyz", timeout=1).status_code == 200,
            timeout=90,
            what="make run to be ready",
            every=0.3,
        )
        with httpx.Client(base_url=base, timeout=10) as c:
            exp_id = c.post("/v1/experiments", json=SPEC).json()["id"]
            wait_until(
                lambda: c.get(f"/v1/experiments/{exp_id}").json()["status"] == "succeeded",
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
        assert f"{base}/ " in last
        assert f"{base}/docs" in last
        assert "Ctrl-C" in last
        started = next(i for i, line in enumerate(lines) if "Application startup complete" in line)
        assert lines.index(last) > started
        redis_pid = int(
            subprocess.check_output(["redis-cli", "-p", str(redis_port), "info", "server"])
            .decode()
            .split("process_id:")[1]
            .split()[0]
        )
        redis_pgid = os.getpgid(redis_pid)
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
        assert proc.wait(timeout=60) is not None
        wait_until(lambda: not group_alive(proc.pid), timeout=30, what="the worker and API to exit")
        wait_until(lambda: not group_alive(redis_pgid), timeout=30, what="redis-server to exit")
    finally:
        for pgid in (proc.pid, redis_pgid):
            if pgid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pgid, signal.SIGKILL)
        log.close()
