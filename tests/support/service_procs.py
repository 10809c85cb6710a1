"""Processes for tests: redis-server, a Celery worker and uvicorn, as compose runs them.

Imported as ``service_procs`` by ``conftest.py`` and the tests: pytest's
``pythonpath`` (pyproject.toml) puts ``tests/support/`` on the path.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import redis
import uvicorn
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
BIN = Path(sys.executable).parent
TEST_PASSWORD = "test-password"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def compose_command(service: str) -> list[str]:
    """The ``command`` of a compose service, as the e2e tests run it here."""
    spec = yaml.safe_load(COMPOSE.read_text())["services"][service]
    command = spec["command"]
    assert isinstance(command, list), f"{service}: use the exec (list) form"
    out = [str(c) for c in command]
    # In the image these resolve on PATH to the venv; here, to this interpreter's venv.
    if out[0] == "python":
        out[0] = sys.executable
    elif (BIN / out[0]).exists():
        out[0] = str(BIN / out[0])
    return [_interpolate(c, {"REDIS_PASSWORD": TEST_PASSWORD}) for c in out]


def _interpolate(text: str, env: Mapping[str, str]) -> str:
    """Compose's ``${VAR}``, ``${VAR:-default}`` and ``${VAR:?error}``."""

    def one(m: re.Match[str]) -> str:
        name, op, arg = m.group(1), m.group(2), m.group(3) or ""
        if env.get(name):
            return env[name]
        if op == ":?":
            raise AssertionError(f"compose needs {name}: {arg}")
        return arg

    return re.sub(r"\$\{(\w+)(?:(:[-?])([^}]*))?\}", one, text)


def wait_until(check: Callable[[], Any], *, timeout: float, what: str, every: float = 0.05) -> Any:
    """Poll ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            value = check()
        except Exception as e:  # the thing we wait for may not be up yet
            last_error = e
        else:
            if value:
                return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last_error!r})")


class Proc:
    """A child process in its own process group, with its output in a log file."""

    def __init__(self, argv: list[str], *, env: Mapping[str, str], log: Path) -> None:
        self.argv, self.log = argv, log
        self._out = log.open("ab")
        self.popen = subprocess.Popen(
            argv,
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=self._out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def alive(self) -> bool:
        return self.popen.poll() is None

    def kill9(self) -> None:
        """SIGKILL the whole process group: the worker and its pool children."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=10)

    def stop(self, timeout: float = 10) -> None:
        if self.alive:
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill9()
        else:
            # Orphaned pool children, if any.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
        self._out.close()

    def tail(self, n: int = 60) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])


class RedisServer:
    """redis-server as compose runs it, on a free port with data in a temp dir."""

    def __init__(self, tmp: Path, *, password: str = TEST_PASSWORD) -> None:
        if shutil.which("redis-server") is None:
            pytest.fail("redis-server is not installed: run scripts/ensure-redis.sh")
        self.dir, self.password, self.port = tmp, password, free_port()
        self.url = f"redis://:{password}@127.0.0.1:{self.port}/0"
        self.proc: Proc | None = None

    def start(self) -> None:
        argv = [*compose_command("redis"), "--port", str(self.port), "--bind", "127.0.0.1"]
        argv += ["--dir", str(self.dir), "--save", ""]
        self.proc = Proc(argv, env={}, log=self.dir / "redis.log")
        client = redis.Redis.from_url(self.url, socket_timeout=1)
        wait_until(client.ping, timeout=10, what="redis-server to answer")
        client.close()

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop()
            self.proc = None

    def kill9(self) -> None:
        """A crash: SIGKILL, no shutdown save; ``start`` replays the append-only file."""
        if self.proc is not None:
            self.proc.kill9()
            self.proc.stop()
            self.proc = None


def service_env(redis_url: str, **extra: str) -> dict[str, str]:
    """GRADATLAS_* settings for processes under test: quick timeouts, one core each."""
    env = {
        "GRADATLAS_REDIS_URL": redis_url,
        "GRADATLAS_KEY_PREFIX": f"t{uuid.uuid4().hex[:8]}",
        "GRADATLAS_QUEUE": f"q{uuid.uuid4().hex[:8]}",
        "GRADATLAS_WORKER_CONCURRENCY": "1",
        "GRADATLAS_HEARTBEAT_S": "0.5",
        "PYTHONUNBUFFERED": "1",
    }
    env.update(extra)
    return env


@contextlib.contextmanager
def serve(app: Any) -> Iterator[str]:
    """Serve ``app`` with uvicorn in a thread; its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started, timeout=20, what="uvicorn to start")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
