"""Benchmark of the service, started as `make run` starts it (scripts/run.sh).

    .venv/bin/python bench/api.py            # everything (~2-3 minutes on 2 cores)
    .venv/bin/python bench/api.py --quick    # fewer samples

Prints, as a markdown table:
  1. submit-to-running latency (median, p99), with an idle worker;
  2. throughput and p50/p99 latency of GET /v1/experiments/{id} with 100 concurrent
     clients, beside /healthz on the same server (wrk if installed, else a Python load);
  3. GET /v1/experiments/{id}/stats of a depth-100 experiment with 1000 records;
  4. 20 small experiments with 1 worker process, then with 2.
Traffic goes to 127.0.0.1 only; every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]

SMALL = {  # about a second of training on one core
    "model": {"depth": 8, "width": 64, "activation": "tanh"},
    "data": {"dataset": "spiral", "n_samples": 1000},
    "training": {"epochs": 60, "batch_size": 32},
}
TINY = {
    "model": {"depth": 2, "width": 8, "activation": "relu"},
    "data": {"dataset": "xor", "n_samples": 100},
    "training": {"epochs": 1},
}
DEEP = {  # depth 100, 1000 steps, a record at every step: 1000 records x 101 layers
    "name": "depth-100-1000-records",
    "model": {"depth": 100, "width": 16, "activation": "tanh"},
    "data": {"dataset": "spiral", "n_samples": 640},
    "training": {"epochs": 125, "batch_size": 64},
    "recording": {"every_steps": 1},
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(q / 100 * (len(xs) - 1)))]


def ts(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


@contextmanager
def stack(concurrency: int) -> Iterator[str]:
    """scripts/run.sh with its own ports and data directory; stopped as Ctrl-C would."""
    tmp = Path(tempfile.mkdtemp(prefix="gradatlas-bench-"))
    port = free_port()
    env = {
        **os.environ,
        "GRADATLAS_RUN_DIR": str(tmp),
        "GRADATLAS_RUN_REDIS_PORT": str(free_port()),
        "GRADATLAS_API_PORT": str(port),
        "GRADATLAS_WORKER_CONCURRENCY": str(concurrency),
        "GRADATLAS_LOG_LEVEL": "warning",
        # 100 clients from one address would meet the per-client limit within a second;
        # bench/load.py sets its own (high) limit to measure the limiter's cost.
        "GRADATLAS_RATE_LIMIT_PER_MIN": os.environ.get("GRADATLAS_RATE_LIMIT_PER_MIN", "0"),
    }
    env.pop("GRADATLAS_REDIS_URL", None)
    log = (tmp / "run.log").open("wb")
    proc = subprocess.Popen(
        ["bash", "scripts/run.sh"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"the stack did not start; see {tmp / 'run.log'}")
            time.sleep(0.3)
        yield base
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)


def wait_final(
    c: httpx.Client, exp_id: str, timeout: float = 600, poll_s: float = 0.02
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body: dict[str, Any] = c.get(f"/v1/experiments/{exp_id}").json()
        if body["status"] in ("succeeded", "failed", "cancelled"):
            return body
        time.sleep(poll_s)
    raise TimeoutError(exp_id)


def submit(c: httpx.Client, spec: dict[str, Any]) -> str:
    r = c.post("/v1/experiments", json=spec)
    r.raise_for_status()
    exp_id: str = r.json()["id"]
    return exp_id


def submit_to_running(c: httpx.Client, n: int) -> dict[str, float]:
    """Server timestamps: started_at - created_at, one experiment at a time (idle worker)."""
    lat = []
    for _ in range(n):
        body = wait_final(c, submit(c, TINY))
        lat.append(ts(body["started_at"]) - ts(body["created_at"]))
    return {"median_ms": 1000 * statistics.median(lat), "p99_ms": 1000 * pct(lat, 99)}


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


def stats_fetch(c: httpx.Client, exp_id: str, n: int) -> dict[str, float]:
    """Time to the last byte of the stored gzip'd body, as a gzip-accepting client sees it."""
    lat, size, raw_size = [], 0, 0
    for _ in range(n):
        t = time.perf_counter()
        with c.stream(
            "GET", f"/v1/experiments/{exp_id}/stats", headers={"Accept-Encoding": "gzip"}
        ) as r:
            data = b"".join(r.iter_raw())
        lat.append(time.perf_counter() - t)
        size = len(data)
    t = time.perf_counter()
    body = c.get(f"/v1/experiments/{exp_id}/stats").content  # decoded by httpx
    decode_s = time.perf_counter() - t
    raw_size = len(body)
    t = time.perf_counter()
    json.loads(body)
    parse_s = time.perf_counter() - t
    return {
        "p50_ms": 1000 * pct(lat, 50),
        "p99_ms": 1000 * pct(lat, 99),
        "gzip_mb": size / 1e6,
        "json_mb": raw_size / 1e6,
        "client_gunzip_ms": 1000 * decode_s,
        "client_json_ms": 1000 * parse_s,
    }


def batch(c: httpx.Client, n: int) -> float:
    """Seconds from the first submission to the last experiment finished (server clocks)."""
    ids = [submit(c, SMALL) for _ in range(n)]
    # Poll gently: the workers, not the benchmark, should have the cores.
    bodies = [wait_final(c, i, poll_s=0.25) for i in ids]
    assert all(b["status"] == "succeeded" for b in bodies), [b["error"] for b in bodies]
    return max(ts(b["finished_at"]) for b in bodies) - min(ts(b["created_at"]) for b in bodies)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--quick", action="store_true", help="fewer samples, shorter loads")
    a = p.parse_args()
    n_lat, secs, n_stats = (10, 5.0, 10) if a.quick else (50, 10.0, 30)
    rows: list[tuple[str, str]] = []
    with stack(concurrency=1) as base, httpx.Client(base_url=base, timeout=60) as c:
        lat = submit_to_running(c, n_lat)
        rows.append(
            (
                "submit -> running, idle worker (median / p99)",
                f"{lat['median_ms']:.1f} ms / {lat['p99_ms']:.1f} ms (n={n_lat})",
            )
        )
        exp_id = submit(c, TINY)
        wait_final(c, exp_id)
        trivial = load(f"{base}/healthz", secs)
        polled = load(f"{base}/v1/experiments/{exp_id}", secs)
        for name, r in (("GET /healthz", trivial), ("GET /v1/experiments/{id}", polled)):
            rows.append(
                (
                    f"{name}, 100 clients (req/s; p50 / p99)",
                    f"{r['rps']:.0f} req/s; {r['p50_ms']:.1f} / {r['p99_ms']:.1f} ms"
                    f"{'; errors ' + str(int(r['errors'])) if r['errors'] else ''}",
                )
            )
        rows.append(
            (
                "status polling / trivial endpoint throughput",
                f"{polled['rps'] / trivial['rps']:.0%} (target >= 70%)",
            )
        )
        deep = submit(c, DEEP)
        t = time.perf_counter()
        body = wait_final(c, deep)
        rows.append(
            (
                "depth-100, 1000-record experiment: submit -> succeeded",
                f"{time.perf_counter() - t:.1f} s ({body['status']})",
            )
        )
        st = stats_fetch(c, deep, n_stats)
        rows.append(
            (
                "GET .../stats, depth 100 x 1000 records (p50 / p99)",
                f"{st['p50_ms']:.1f} / {st['p99_ms']:.1f} ms (target p50 < 50 ms); "
                f"{st['gzip_mb']:.1f} MB gzip, {st['json_mb']:.1f} MB JSON",
            )
        )
        rows.append(
            (
                "  the client's own gunzip+read / json.loads of it",
                f"{st['client_gunzip_ms']:.0f} ms / {st['client_json_ms']:.0f} ms",
            )
        )
        one = batch(c, 20)
    with stack(concurrency=2) as base, httpx.Client(base_url=base, timeout=60) as c:
        two = batch(c, 20)
    rows.append(("20 small experiments, 1 worker process", f"{one:.1f} s"))
    rows.append(
        (
            "20 small experiments, 2 worker processes",
            f"{two:.1f} s ({one / two:.2f}x faster; target >= 1.7x)",
        )
    )
    print(
        f"\nload generator: {'wrk' if shutil.which('wrk') else 'python httpx'}; "
        f"cores: {os.cpu_count()}; python {sys.version.split()[0]}\n"
    )
    print("| measure | result |\n|---|---|")
    for k, v in rows:
        print(f"| {k} | {v} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
