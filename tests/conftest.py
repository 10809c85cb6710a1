"""Shared fixtures: a real redis-server, a real Celery worker, a real uvicorn API.

The processes run the commands written in docker-compose.yml (read from it,
not copied), with ports and data directories made for the test. Every wait has
a deadline; every process started here is stopped here.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping

import httpx
import pytest
import redis
from api_support import app_settings
from service_procs import (
    Proc,
    RedisServer,
    compose_command,
    free_port,
    wait_until,
)

from core.settings import Settings
from core.store import Store, connect


def pytest_configure(config: pytest.Config) -> None:
    # Starlette's TestClient warns that it prefers the httpx2 package; gradatlas uses httpx.
    config.addinivalue_line(
        "filterwarnings", "ignore:Using `httpx` with `starlette.testclient` is deprecated"
    )


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One redis-server for the unit tests (each test uses its own key prefix)."""
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_client(redis_server: RedisServer) -> Iterator[redis.Redis]:
    client = connect(redis_server.url)
    yield client
    client.close()


@pytest.fixture
def store(redis_client: redis.Redis) -> Store:
    return Store(redis_client, prefix=f"t{uuid.uuid4().hex[:10]}", result_ttl_s=3600)


@pytest.fixture
def settings(store: Store, redis_server: RedisServer) -> Settings:
    """Settings for an app over ``store``, with a queue of its own."""
    return app_settings(store, redis_server.url)


@pytest.fixture(scope="module")
def start_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[], RedisServer]]:
    """A factory for private redis-servers the tests may stop and restart."""
    tmp_path = tmp_path_factory.mktemp("redis")
    servers: list[RedisServer] = []

    def start() -> RedisServer:
        server = RedisServer(tmp_path / f"redis{len(servers)}")
        server.dir.mkdir()
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="module")
def start_worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Proc]]:
    """Start ``celery worker`` as compose does; wait for its heartbeat in the store."""
    tmp_path = tmp_path_factory.mktemp("workers")
    procs: list[Proc] = []

    def start(env: Mapping[str, str], *, wait: bool = True) -> Proc:
        proc = Proc(
            [*compose_command("worker"), "--hostname", f"w{len(procs)}-{uuid.uuid4().hex[:6]}@%h"],
            env=env,
            log=tmp_path / f"worker{len(procs)}.log",
        )
        procs.append(proc)
        if wait:
            store = Store(connect(env["GRADATLAS_REDIS_URL"]), prefix=env["GRADATLAS_KEY_PREFIX"])
            before = set(store.alive_workers())

            def up() -> bool:
                assert proc.alive, f"worker exited:\n{proc.tail()}"
                return bool(set(store.alive_workers()) - before)

            wait_until(up, timeout=60, what="the worker's heartbeat", every=0.2)
            store.redis.close()
        return proc

    yield start
    for proc in procs:
        proc.stop(timeout=15)


@pytest.fixture(scope="module")
def start_api(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[..., tuple[Proc, str]]]:
    """Serve the API with uvicorn as compose does, on a free port; returns (proc, base URL)."""
    tmp_path = tmp_path_factory.mktemp("api")
    procs: list[Proc] = []

    def start(env: Mapping[str, str]) -> tuple[Proc, str]:
        port = free_port()
        full = {**env, "GRADATLAS_API_HOST": "127.0.0.1", "GRADATLAS_API_PORT": str(port)}
        proc = Proc(compose_command("api"), env=full, log=tmp_path / f"api{len(procs)}.log")
        procs.append(proc)
        base = f"http://127.0.0.1:{port}"

        def up() -> bool:
            assert proc.alive, f"api exited:\n{proc.tail()}"
            return httpx.get(f"{base}/healthz", timeout=1).status_code == 200

        wait_until(up, timeout=60, what="the API to answer /healthz", every=0.2)
        return proc, base

    yield start
    for proc in procs:
        proc.stop()
