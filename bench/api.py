"""Benchmark of the service, started as `make run` starts it (scripts/run.sh).

    .venv/bin/python bench/api.py            # everything (~2-3 minutes on 2 cores)
    .venv/bin/python bench/api.py --quick    # fewer samples
    .venv/bin/python bench/api.py --only poll --rounds 7   # status polling only, 7 rounds

Prints, as a markdown table:
  1. submit-to-running latency (median, p99), with an idle worker;
  2. throughput and p50/p99 latency of GET /v1/experiments/{id} with 100 concurrent
     clients, beside /healthz on the same server (wrk if installed, else a Python load),
     with the 0.25 s view cache on (first stack) and off (second stack,
     GRADATLAS_STATUS_CACHE_S=0), interleaved rounds, medians;
  3. GET /v1/experiments/{id}/stats of a depth-100 experiment with 1000 records: whole
     and sliced, time to the last byte, sizes, the client's gunzip and parse; the JSON
     size at float32 precision beside the same run's at float64 (computed in-process);
  4. 20 small experiments with 1 worker process, then with 2.
Traffic goes to 127.0.0.1 only; every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import json
import os
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
sys.path.insert(0, str(ROOT))

from bench.http_load import pct, polling  # noqa: E402

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


def ts(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


@contextmanager
def stack(concurrency: int, **extra: str) -> Iterator[str]:
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
        **extra,
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


def stats_fetch(c: httpx.Client, exp_id: str, n: int, **params: str) -> dict[str, float]:
    """Time to the last byte of the gzip'd body, as a gzip-accepting client sees it."""
    lat, size = [], 0
    url = f"/v1/experiments/{exp_id}/stats"
    for _ in range(n):
        t = time.perf_counter()
        with c.stream("GET", url, params=params, headers={"Accept-Encoding": "gzip"}) as r:
            data = b"".join(r.iter_raw())
        lat.append(time.perf_counter() - t)
        size = len(data)
    t = time.perf_counter()
    body = c.get(url, params=params).content  # decoded by httpx
    decode_s = time.perf_counter() - t
    t = time.perf_counter()
    json.loads(body)
    parse_s = time.perf_counter() - t
    return {
        "p50_ms": 1000 * pct(lat, 50),
        "p99_ms": 1000 * pct(lat, 99),
        "gzip_mb": size / 1e6,
        "json_mb": len(body) / 1e6,
        "client_gunzip_ms": 1000 * decode_s,
        "client_json_ms": 1000 * parse_s,
    }


def client_stats_s(base: str, exp_id: str, n: int = 3) -> float:
    """Median seconds of gradatlas.Client.stats() for the whole result (fetch + parse)."""
    from gradatlas.client import Client

    times = []
    with Client(base) as api:
        for _ in range(n):
            t = time.perf_counter()
            api.stats(exp_id)
            times.append(time.perf_counter() - t)
    return statistics.median(times)


def json_sizes(spec: dict[str, Any]) -> tuple[float, float]:
    """MB of the stats JSON of ``spec``'s run at float64 and at float32 precision."""
    from core.run_result import json_rows
    from core.spec import ExperimentSpec
    from core.train import Run

    run = Run(ExperimentSpec.model_validate(spec))
    result = run.execute(None, None, 3600.0)
    sep = (",", ":")
    full = json.dumps({k: json_rows(a) for k, a in run.recorder.stats().items()}, separators=sep)
    short = json.dumps(result.to_json()["stats"], separators=sep)
    return len(full) / 1e6, len(short) / 1e6


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
    p.add_argument("--only", default="", help="comma-separated parts: latency,poll,stats,batch")
    p.add_argument("--rounds", type=int, help="interleaved polling rounds (default 5; 3 quick)")
    p.add_argument("--seconds", type=float, help="seconds of load per round (default 5; 3 quick)")
    a = p.parse_args()
    only = set(filter(None, a.only.split(","))) or {"latency", "poll", "stats", "batch"}
    n_lat, secs, n_stats, rounds = (10, 3.0, 10, 3) if a.quick else (50, 5.0, 30, 5)
    rounds, secs = a.rounds or rounds, a.seconds or secs
    rows: list[tuple[str, str]] = []
    one = two = 0.0

    def poll_rows(base: str, c: httpx.Client, label: str) -> None:
        exp_id = submit(c, TINY)
        wait_final(c, exp_id)
        r = polling(base, exp_id, secs, rounds)
        rows.append(
            (
                f"status polling / /healthz, view cache {label} (median req/s of {rounds} "
                "interleaved rounds; p99)",
                f"{r['poll_rps']:.0f} / {r['health_rps']:.0f} req/s = "
                f"{r['poll_rps'] / r['health_rps']:.0%}; p99 {r['poll_p99']:.1f} / "
                f"{r['health_p99']:.1f} ms"
                + (f"; errors {int(r['errors'])}" if r["errors"] else ""),
            )
        )

    with stack(concurrency=1) as base, httpx.Client(base_url=base, timeout=60) as c:
        if "latency" in only:
            lat = submit_to_running(c, n_lat)
            rows.append(
                (
                    "submit -> running, idle worker (median / p99)",
                    f"{lat['median_ms']:.1f} ms / {lat['p99_ms']:.1f} ms (n={n_lat})",
                )
            )
        if "poll" in only:
            poll_rows(base, c, "on (0.25 s)")
        if "stats" in only:
            deep = submit(c, DEEP)
            t = time.perf_counter()
            body = wait_final(c, deep)
            rows.append(
                (
                    "depth-100, 1000-record experiment: submit -> succeeded",
                    f"{time.perf_counter() - t:.1f} s ({body['status']})",
                )
            )
            for label, params in (
                ("whole", {}),
                ("?layers=0,50,99&stats=grad_norm,backprop_norm", {"layers": "0,50,99"}),
                ("?stats=grad_norm&every=10", {"stats": "grad_norm", "every": "10"}),
            ):
                if label.startswith("?layers"):
                    params["stats"] = "grad_norm,backprop_norm"
                st = stats_fetch(c, deep, n_stats, **params)
                rows.append(
                    (
                        f"GET .../stats {label}, time to last byte (p50 / p99)",
                        f"{st['p50_ms']:.1f} / {st['p99_ms']:.1f} ms; {st['gzip_mb']:.2f} MB "
                        f"gzip, {st['json_mb']:.2f} MB JSON; client gunzip+read "
                        f"{st['client_gunzip_ms']:.0f} ms, "
                        f"json.loads {st['client_json_ms']:.0f} ms",
                    )
                )
            rows.append(
                (
                    "gradatlas.Client.stats() of the whole result (median of 3)",
                    f"{client_stats_s(base, deep) * 1000:.0f} ms",
                )
            )
            f64, f32 = json_sizes(DEEP)
            rows.append(
                (
                    "that run's stats JSON at float64 / float32 precision",
                    f"{f64:.1f} MB / {f32:.1f} MB ({f32 / f64:.0%})",
                )
            )
        if "batch" in only:
            one = batch(c, 20)
    with (
        stack(concurrency=2, GRADATLAS_STATUS_CACHE_S="0") as base,
        httpx.Client(base_url=base, timeout=60) as c,
    ):
        if "poll" in only:
            poll_rows(base, c, "off")
        if "batch" in only:
            two = batch(c, 20)
    if "batch" in only:
        rows.append(("20 small experiments, 1 worker process", f"{one:.1f} s"))
        rows.append(
            (
                "20 small experiments, 2 worker processes",
                f"{two:.1f} s ({one / two:.2f}x faster)",
            )
        )
    print(
        f"\nload generator: {'wrk' if shutil.which('wrk') else 'python httpx'}; "
        f"cores: {os.cpu_count()}; python {sys.version.split()[0]}; "
        f"hiredis: {_hiredis()}\n"
    )
    print("| measure | result |\n|---|---|")
    for k, v in rows:
        print(f"| {k} | {v} |")
    return 0


def _hiredis() -> str:
    from redis.utils import HIREDIS_AVAILABLE

    return "yes" if HIREDIS_AVAILABLE else "no"


if __name__ == "__main__":
    raise SystemExit(main())
