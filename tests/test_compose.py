"""docker-compose.yml and the Dockerfile, checked statically (no Docker engine here).

The e2e tests start each service's ``command`` from this same file, so what is
checked here is also what runs there.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

import pytest
import yaml
from service_procs import ROOT

COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]


def flags(command: list[str]) -> dict[str, str]:
    """``--name value`` pairs of a command line."""
    return {a: b for a, b in itertools.pairwise(command) if a.startswith("--")}


def test_the_four_services() -> None:
    assert set(SERVICES) == {"redis", "api", "worker", "flower"}
    for name, service in SERVICES.items():
        assert isinstance(service["command"], list), f"{name}: exec form"


def test_redis_is_durable_private_and_authenticated() -> None:
    redis = SERVICES["redis"]
    f = flags(redis["command"])
    assert redis["command"][0] == "redis-server"
    assert f["--appendonly"] == "yes"
    assert f["--appendfsync"] == "everysec"
    assert f["--maxmemory-policy"] == "noeviction"
    assert re.fullmatch(r"\$\{REDIS_MAXMEMORY:-\d+[mg]b\}", f["--maxmemory"])
    assert re.fullmatch(r"\$\{REDIS_PASSWORD:\?[^}]+\}", f["--requirepass"])
    assert "ports" not in redis
    volume, _, target = redis["volumes"][0].partition(":")
    assert volume in COMPOSE["volumes"]  # a named volume, not a host path
    assert target == "/data"
    assert "redis-cli ping" in " ".join(redis["healthcheck"]["test"])


def test_every_client_of_redis_uses_the_password() -> None:
    env = COMPOSE["x-gradatlas-env"]
    assert "${REDIS_PASSWORD:?" in env["GRADATLAS_REDIS_URL"]
    assert "@redis:6379" in env["GRADATLAS_REDIS_URL"]
    assert "${REDIS_PASSWORD" in SERVICES["flower"]["environment"]["CELERY_BROKER_URL"]


@pytest.mark.parametrize("name", ["api", "worker", "flower"])
def test_services_start_after_redis_is_healthy(name: str) -> None:
    assert SERVICES[name]["depends_on"] == {"redis": {"condition": "service_healthy"}}


def test_api_serves_port_8000_and_is_checked_on_readyz() -> None:
    api = SERVICES["api"]
    # Loopback unless the operator publishes it (with keys): docs/operations.md.
    assert api["ports"] == [
        "${GRADATLAS_PUBLISH_ADDR:-127.0.0.1}:${GRADATLAS_PUBLISH_PORT:-8000}:8000"
    ]
    assert api["environment"]["GRADATLAS_API_PORT"] == "8000"
    assert api["environment"]["GRADATLAS_API_HOST"] == "0.0.0.0"
    assert "http://127.0.0.1:8000/readyz" in " ".join(api["healthcheck"]["test"])
    assert api["command"] == ["python", "-m", "api"]


def test_worker_scales_and_has_time_to_hand_back() -> None:
    worker = SERVICES["worker"]
    assert "container_name" not in worker
    assert "ports" not in worker
    grace = worker["stop_grace_period"]
    seconds = int(grace[:-1]) * {"s": 1, "m": 60}[grace[-1]]
    assert seconds >= 30
    assert worker["command"][:4] == ["celery", "-A", "worker.celery_app", "worker"]


def test_worker_health_is_its_heartbeat() -> None:
    worker = SERVICES["worker"]
    assert worker["healthcheck"]["test"] == ["CMD", "python", "-m", "worker.healthcheck"]
    assert worker["environment"]["GRADATLAS_WORKER_HEARTBEAT_FILE"].startswith("/tmp/")


def test_flower_is_opt_in_and_authenticated() -> None:
    flower = SERVICES["flower"]
    assert flower["profiles"] == ["monitoring"]
    # Basic auth always on: the password defaults to Redis's, which compose requires.
    assert re.fullmatch(
        r"\$\{FLOWER_USER:-\w+\}:\$\{FLOWER_PASSWORD:-\$\{REDIS_PASSWORD\}\}",
        flower["environment"]["FLOWER_BASIC_AUTH"],
    )
    assert all(p.startswith("127.0.0.1:") for p in flower["ports"])


def test_make_run_starts_the_same_commands() -> None:
    script = (ROOT / "scripts" / "run.sh").read_text()
    worker = " ".join(SERVICES["worker"]["command"])
    assert f'"$VENV/bin/{worker.split(" ", 1)[0]}" {worker.split(" ", 1)[1]}' in script
    assert '"$VENV/bin/python" -m api' in script
    for flag in (
        "--appendonly yes",
        "--appendfsync everysec",
        "--maxmemory-policy noeviction",
        '--maxmemory "$REDIS_MAXMEMORY"',
    ):
        assert flag in script


def test_dockerfile_is_multi_stage_slim_non_root_exec_form() -> None:
    lines = [ln.strip() for ln in (ROOT / "Dockerfile").read_text().splitlines()]
    froms = [ln for ln in lines if ln.startswith("FROM ")]
    assert len(froms) >= 2
    assert all("slim" in ln for ln in froms)
    assert any(ln.startswith("COPY --from=build") for ln in lines)
    users = [ln for ln in lines if ln.startswith("USER ")]
    assert users
    assert users[-1].split()[1].split(":")[0] not in ("root", "0")
    cmd = [ln for ln in lines if ln.startswith("CMD ")][-1]
    assert cmd.startswith("CMD [")  # exec form: signals reach the process


def test_dockerignore_keeps_the_image_small() -> None:
    ignored = (ROOT / ".dockerignore").read_text().split()
    for path in (".git", ".venv", "var", "tests", ".env"):
        assert path in ignored
