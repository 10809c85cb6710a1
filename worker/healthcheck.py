"""``python -m worker.healthcheck``: exit 0 while this machine's worker heartbeats.

Reads the age of ``GRADATLAS_WORKER_HEARTBEAT_FILE``, which the worker's main
process touches after every heartbeat the store took (``worker/heartbeat.py``):
a worker that hangs, has died, or cannot reach Redis goes unhealthy within three
heartbeats. No Redis round trip and no Celery broadcast, so the check is cheap.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from core.settings import Settings, get_settings


def check(settings: Settings, *, now: float | None = None) -> str | None:
    """None when the heartbeat is fresh, else what is wrong."""
    if not settings.worker_heartbeat_file:
        return "GRADATLAS_WORKER_HEARTBEAT_FILE is not set"
    path = Path(settings.worker_heartbeat_file)
    try:
        age = (time.time() if now is None else now) - path.stat().st_mtime
    except OSError as e:
        return f"no heartbeat yet ({e.strerror}: {path})"
    if age > 3 * settings.heartbeat_s:
        return f"last heartbeat {age:.1f} s ago (every {settings.heartbeat_s} s expected)"
    return None


def main() -> int:
    problem = check(get_settings())
    if problem is not None:
        print(f"unhealthy: {problem}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
