"""Load for the service benchmark (bench/api.py): wrk when installed, else Python (httpx).

Use wrk: the Python generator saturates long before the server does, so only wrk's
ratios between routes mean anything on a 2-core machine.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import statistics
import subprocess
import time

import httpx


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(q / 100 * (len(xs) - 1)))]


def load(url: str, seconds: float, connections: int = 100) -> dict[str, float]:
    if shutil.which("wrk"):
        out = subprocess.run(
            ["wrk", "-t2", f"-c{connections}", f"-d{seconds:.0f}s", "--latency", url],
            capture_output=True,
            text=True,
            check=True,
            timeout=seconds + 60,
        ).stdout
        rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]

        def ms(label: str) -> float:
            m = re.search(rf"\s{label}%\s+([\d.]+)(us|ms|s)", out)
            assert m, out
            return float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[m.group(2)]

        errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        return {
            "rps": rps,
            "p50_ms": ms("50"),
            "p99_ms": ms("99"),
            "errors": float(errors.group(1)) if errors else 0.0,
        }
    return asyncio.run(_py_load(url, seconds, connections))


async def _py_load(url: str, seconds: float, connections: int) -> dict[str, float]:
    lat: list[float] = []
    errors = 0
    deadline = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=connections)
    async with httpx.AsyncClient(limits=limits, timeout=10) as c:

        async def one() -> None:
            nonlocal errors
            while time.monotonic() < deadline:
                t = time.perf_counter()
                r = await c.get(url)
                lat.append(time.perf_counter() - t)
                errors += r.status_code != 200

        await asyncio.gather(*(one() for _ in range(connections)))
    return {
        "rps": len(lat) / seconds,
        "p50_ms": 1000 * pct(lat, 50),
        "p99_ms": 1000 * pct(lat, 99),
        "errors": float(errors),
    }


def polling(base: str, exp_id: str, secs: float, rounds: int) -> dict[str, float]:
    """/healthz and status polling in interleaved rounds: median req/s of each, and p99s."""
    runs: dict[str, list[dict[str, float]]] = {"health": [], "poll": []}
    for _ in range(rounds):
        runs["health"].append(load(f"{base}/healthz", secs))
        runs["poll"].append(load(f"{base}/v1/experiments/{exp_id}", secs))
    med = {k: statistics.median(r["rps"] for r in v) for k, v in runs.items()}
    return {
        "health_rps": med["health"],
        "poll_rps": med["poll"],
        "health_p99": statistics.median(r["p99_ms"] for r in runs["health"]),
        "poll_p99": statistics.median(r["p99_ms"] for r in runs["poll"]),
        "errors": sum(r["errors"] for v in runs.values() for r in v),
    }
